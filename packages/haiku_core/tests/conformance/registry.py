"""Conformance registry: one descriptor per public haiku_core module class.

Each :class:`Entry` says how to build a module (inside a Haiku transform) and which
example inputs to call it with. ``test_conformance.py`` runs every entry through
``hk.transform``/``hk.transform_with_state``, ``jax.jit``, ``jax.vmap``, ``jax.grad``,
``jax.eval_shape``/``hk.eval_shape``, bfloat16 inputs and ``hk.remat``, and checks that
every public module class of ``hk``, ``hk.nets`` and ``hk.experimental`` has an entry.

Shapes are kept tiny: the whole battery runs in the default CPU test session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import haiku_core as hk

# Batch size inside one example. ``jax.vmap`` checks stack two examples on top of it.
B = 2

Inputs = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Entry:
    """How to build one public module and call it on example inputs.

    Attributes:
      name: test id.
      covers: the public class (or public factory function) this entry exercises.
      make: called inside a Haiku transform; constructs the module(s) and returns a
        callable ``forward(*inputs)``. Modules are created when ``make`` runs, so
        calling ``forward`` twice reuses the same parameters.
      inputs: ``inputs(rng)`` returns one example's inputs as a tuple of pytrees of
        NumPy arrays (floating leaves are float32).
      stateful: the module reads or writes Haiku state (``transform_with_state``).
      bf16_out: expected dtype of the floating output leaves when every floating input
        leaf and parameter is bfloat16 (upstream: the input dtype, except where a
        module creates its parameters with a constructor-given dtype).
      bf16_ctor_dtype_params: ``"module/param"`` names whose dtype comes from a
        constructor argument (default float32) rather than from the inputs.
      bf16_tol: relative tolerance (of the output's scale) for the bfloat16 run vs
        the float32 run on the same bfloat16-representable values.
    """

    name: str
    covers: Any
    make: Callable[[], Callable[..., Any]]
    inputs: Callable[[np.random.Generator], Inputs]
    stateful: bool = False
    bf16_out: Any = jnp.bfloat16
    bf16_ctor_dtype_params: frozenset[str] = frozenset()
    bf16_tol: float = 2e-2

    def __repr__(self) -> str:
        return f"Entry({self.name})"


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape).astype(np.float32)


def _x(*shape: int) -> Callable[[np.random.Generator], Inputs]:
    """Inputs: one float32 array of ``shape``."""
    return lambda rng: (_normal(rng, *shape),)


def _training(module: Any, **kwargs: Any) -> Callable[..., Any]:
    return lambda x: module(x, is_training=True, **kwargs)


_BN = {"decay_rate": 0.9, "eps": 1e-5, "create_scale": True, "create_offset": True}


def _small_resnet(resnet_v2: bool, bottleneck: bool) -> hk.Module:
    return hk.nets.ResNet(
        blocks_per_group=(1, 1, 1, 1),
        num_classes=3,
        resnet_v2=resnet_v2,
        bottleneck=bottleneck,
        channels_per_group=(4, 4, 8, 8),
        use_projection=(True, False, True, True),
        initial_conv_config={"output_channels": 4, "kernel_shape": 3},
    )


def _lstm_state(rng: np.random.Generator, hidden: int) -> hk.LSTMState:
    return hk.LSTMState(hidden=_normal(rng, B, hidden), cell=_normal(rng, B, hidden))


def _core_step(core_fn: Callable[[], Any]) -> Callable[[], Callable[..., Any]]:
    """``make`` for one step of an RNN core: ``forward(x, state) -> (out, next_state)``."""

    def make() -> Callable[..., Any]:
        core = core_fn()
        return lambda x, state: core(x, state)

    return make


def _unrolled(unroll: Callable[..., Any], core_fn: Callable[[], Any]) -> Callable[[], Any]:
    """``make`` for a time-major unroll from the core's zero initial state."""

    def make() -> Callable[..., Any]:
        core = core_fn()

        def forward(xs: jax.Array) -> Any:
            state = core.initial_state(xs.shape[1])
            state = jax.tree.map(lambda s: s.astype(xs.dtype), state)
            return unroll(core, xs, state)

        return forward

    return make


def _deep_rnn() -> hk.DeepRNN:
    return hk.DeepRNN([hk.LSTM(3), jax.nn.relu, hk.GRU(2)])


def _reset_core_inputs(rng: np.random.Generator) -> Inputs:
    x = _normal(rng, B, 4)
    resets = rng.random(size=(B,)) < 0.5
    return (x, resets), _lstm_state(rng, 3)


def _params_tree(rng: np.random.Generator) -> Inputs:
    tree = {
        "linear": {"w": _normal(rng, 3, 4), "b": _normal(rng, 4)},
        "conv": {"w": _normal(rng, 2, 2, 3, 2)},
    }
    return (tree,)


def _attention_inputs(rng: np.random.Generator) -> Inputs:
    return _normal(rng, B, 3, 4), _normal(rng, B, 5, 4), _normal(rng, B, 5, 6)


ENTRIES: tuple[Entry, ...] = (
    # Basic layers.
    Entry("Linear", hk.Linear, lambda: hk.Linear(3), _x(B, 4)),
    Entry("Bias", hk.Bias, lambda: hk.Bias(), _x(B, 3, 2)),
    Entry(
        "Sequential",
        hk.Sequential,
        lambda: hk.Sequential([hk.Linear(3), jax.nn.relu, hk.Linear(2)]),
        _x(B, 4),
    ),
    Entry(
        "Embed",
        hk.Embed,
        lambda: hk.Embed(vocab_size=6, embed_dim=3),
        lambda rng: (rng.integers(0, 6, size=(B, 4)).astype(np.int32),),
        # No floating input: the embedding matrix is float32 and so is the output.
        bf16_out=jnp.float32,
        bf16_ctor_dtype_params=frozenset({"embed/embeddings"}),
    ),
    Entry("Flatten", hk.Flatten, lambda: hk.Flatten(), _x(B, 3, 2)),
    Entry("Reshape", hk.Reshape, lambda: hk.Reshape((-1, 2), preserve_dims=1), _x(B, 3, 2)),
    Entry(
        "AvgPool",
        hk.AvgPool,
        lambda: hk.AvgPool(window_shape=(2, 2, 1), strides=(1, 1, 1), padding="SAME"),
        _x(B, 4, 4, 2),
    ),
    Entry(
        "MaxPool",
        hk.MaxPool,
        lambda: hk.MaxPool(window_shape=(1, 2, 2, 1), strides=(1, 2, 2, 1), padding="VALID"),
        _x(B, 4, 4, 2),
    ),
    # Convolutions.
    Entry("Conv1D", hk.Conv1D, lambda: hk.Conv1D(3, 3), _x(B, 5, 2)),
    Entry("Conv2D", hk.Conv2D, lambda: hk.Conv2D(3, 3, stride=2), _x(B, 5, 5, 2)),
    Entry(
        "Conv2D[NCHW]",
        hk.Conv2D,
        lambda: hk.Conv2D(3, (2, 3), data_format="NCHW", padding="VALID"),
        _x(B, 2, 5, 5),
    ),
    Entry("Conv3D", hk.Conv3D, lambda: hk.Conv3D(3, 2), _x(B, 3, 3, 3, 2)),
    Entry(
        "ConvND",
        hk.ConvND,
        lambda: hk.ConvND(num_spatial_dims=2, output_channels=3, kernel_shape=3, rate=2),
        _x(B, 5, 5, 2),
    ),
    Entry("Conv1DTranspose", hk.Conv1DTranspose, lambda: hk.Conv1DTranspose(3, 3), _x(B, 4, 2)),
    Entry(
        "Conv2DTranspose",
        hk.Conv2DTranspose,
        lambda: hk.Conv2DTranspose(3, 3, stride=2),
        _x(B, 3, 3, 2),
    ),
    Entry(
        "Conv3DTranspose",
        hk.Conv3DTranspose,
        lambda: hk.Conv3DTranspose(3, 2),
        _x(B, 2, 2, 2, 2),
    ),
    Entry(
        "ConvNDTranspose",
        hk.ConvNDTranspose,
        lambda: hk.ConvNDTranspose(
            num_spatial_dims=1, output_channels=3, kernel_shape=3, stride=2, padding="VALID"
        ),
        _x(B, 4, 2),
    ),
    Entry(
        "DepthwiseConv1D",
        hk.DepthwiseConv1D,
        lambda: hk.DepthwiseConv1D(channel_multiplier=2, kernel_shape=3),
        _x(B, 5, 2),
    ),
    Entry(
        "DepthwiseConv2D",
        hk.DepthwiseConv2D,
        lambda: hk.DepthwiseConv2D(channel_multiplier=2, kernel_shape=3, stride=2),
        _x(B, 5, 5, 2),
    ),
    Entry(
        "DepthwiseConv3D",
        hk.DepthwiseConv3D,
        lambda: hk.DepthwiseConv3D(channel_multiplier=1, kernel_shape=2),
        _x(B, 3, 3, 3, 2),
    ),
    Entry(
        "SeparableDepthwiseConv2D",
        hk.SeparableDepthwiseConv2D,
        lambda: hk.SeparableDepthwiseConv2D(channel_multiplier=2, kernel_shape=3),
        _x(B, 4, 4, 2),
    ),
    # Normalisation.
    Entry(
        "BatchNorm[train]",
        hk.BatchNorm,
        lambda: _training(hk.BatchNorm(True, True, 0.9)),
        _x(4, 2, 3),
        stateful=True,
    ),
    Entry(
        "LayerNorm",
        hk.LayerNorm,
        lambda: hk.LayerNorm(axis=-1, create_scale=True, create_offset=True),
        _x(B, 3, 4),
    ),
    Entry(
        "LayerNorm[multi-axis]",
        hk.LayerNorm,
        lambda: hk.LayerNorm(axis=(1, 2), create_scale=True, create_offset=True, param_axis=-1),
        _x(B, 3, 4),
    ),
    Entry("RMSNorm", hk.RMSNorm, lambda: hk.RMSNorm(axis=-1), _x(B, 3, 4)),
    Entry(
        "InstanceNorm",
        hk.InstanceNorm,
        lambda: hk.InstanceNorm(create_scale=True, create_offset=True),
        _x(B, 3, 3, 2),
    ),
    Entry("GroupNorm", hk.GroupNorm, lambda: hk.GroupNorm(groups=2), _x(B, 3, 3, 4)),
    Entry(
        "SpectralNorm",
        hk.SpectralNorm,
        lambda: hk.SpectralNorm(),
        _x(3, 4),
        stateful=True,
    ),
    Entry(
        "SNParamsTree",
        hk.SNParamsTree,
        lambda: hk.SNParamsTree(ignore_regex=".*b$"),
        _params_tree,
        stateful=True,
    ),
    # Moving averages.
    Entry(
        "ExponentialMovingAverage",
        hk.ExponentialMovingAverage,
        lambda: hk.ExponentialMovingAverage(0.9),
        _x(B, 3),
        stateful=True,
    ),
    Entry(
        "EMAParamsTree",
        hk.EMAParamsTree,
        lambda: hk.EMAParamsTree(0.9, ignore_regex=".*conv.*"),
        _params_tree,
        stateful=True,
    ),
    # Attention.
    Entry(
        "MultiHeadAttention",
        hk.MultiHeadAttention,
        lambda: hk.MultiHeadAttention(
            num_heads=2, key_size=3, w_init=hk.initializers.VarianceScaling(1.0), model_size=5
        ),
        _attention_inputs,
    ),
    # Recurrent cores, one step on a non-trivial state.
    Entry(
        "VanillaRNN",
        hk.VanillaRNN,
        _core_step(lambda: hk.VanillaRNN(3)),
        lambda rng: (_normal(rng, B, 4), _normal(rng, B, 3)),
    ),
    Entry(
        "LSTM",
        hk.LSTM,
        _core_step(lambda: hk.LSTM(3)),
        lambda rng: (_normal(rng, B, 4), _lstm_state(rng, 3)),
    ),
    Entry(
        "GRU",
        hk.GRU,
        _core_step(lambda: hk.GRU(3)),
        lambda rng: (_normal(rng, B, 4), _normal(rng, B, 3)),
    ),
    Entry(
        "IdentityCore",
        hk.IdentityCore,
        _core_step(lambda: hk.IdentityCore()),
        lambda rng: (_normal(rng, B, 4), (_normal(rng, B, 2),)),
    ),
    Entry(
        "Conv1DLSTM",
        hk.Conv1DLSTM,
        _core_step(lambda: hk.Conv1DLSTM(input_shape=(4,), output_channels=3, kernel_shape=3)),
        lambda rng: (
            _normal(rng, B, 4, 2),
            hk.LSTMState(hidden=_normal(rng, B, 4, 3), cell=_normal(rng, B, 4, 3)),
        ),
    ),
    Entry(
        "Conv2DLSTM",
        hk.Conv2DLSTM,
        _core_step(lambda: hk.Conv2DLSTM(input_shape=(3, 3), output_channels=2, kernel_shape=3)),
        lambda rng: (
            _normal(rng, B, 3, 3, 2),
            hk.LSTMState(hidden=_normal(rng, B, 3, 3, 2), cell=_normal(rng, B, 3, 3, 2)),
        ),
    ),
    Entry(
        "Conv3DLSTM",
        hk.Conv3DLSTM,
        _core_step(lambda: hk.Conv3DLSTM(input_shape=(2, 2, 2), output_channels=2, kernel_shape=2)),
        lambda rng: (
            _normal(rng, B, 2, 2, 2, 1),
            hk.LSTMState(hidden=_normal(rng, B, 2, 2, 2, 2), cell=_normal(rng, B, 2, 2, 2, 2)),
        ),
    ),
    Entry(
        "DeepRNN",
        hk.DeepRNN,
        _core_step(_deep_rnn),
        lambda rng: (_normal(rng, B, 4), (_lstm_state(rng, 3), _normal(rng, B, 2))),
    ),
    Entry(
        "deep_rnn_with_skip_connections",
        hk.deep_rnn_with_skip_connections,
        _core_step(lambda: hk.deep_rnn_with_skip_connections([hk.LSTM(3), hk.VanillaRNN(2)])),
        lambda rng: (_normal(rng, B, 4), (_lstm_state(rng, 3), _normal(rng, B, 2))),
    ),
    Entry(
        "ResetCore",
        hk.ResetCore,
        _core_step(lambda: hk.ResetCore(hk.LSTM(3))),
        _reset_core_inputs,
    ),
    # Unrolls (time-major inputs [T, B, F]).
    Entry(
        "dynamic_unroll(LSTM)",
        hk.dynamic_unroll,
        _unrolled(hk.dynamic_unroll, lambda: hk.LSTM(3)),
        _x(3, B, 4),
    ),
    Entry(
        "static_unroll(DeepRNN)",
        hk.static_unroll,
        _unrolled(hk.static_unroll, _deep_rnn),
        _x(3, B, 4),
    ),
    # Reference networks.
    Entry("nets.MLP", hk.nets.MLP, lambda: hk.nets.MLP([4, 3]), _x(B, 5)),
    Entry(
        "nets.MLP[tanh,no-bias,activate-final]",
        hk.nets.MLP,
        lambda: hk.nets.MLP([4, 3], with_bias=False, activation=jnp.tanh, activate_final=True),
        _x(B, 5),
    ),
    Entry(
        "nets.MobileNetV1",
        hk.nets.MobileNetV1,
        lambda: _training(hk.nets.MobileNetV1(strides=(1, 2), channels=(4, 8), num_classes=3)),
        _x(B, 4, 4, 3),
        stateful=True,
        bf16_tol=5e-2,
    ),
    Entry(
        "nets.ResNet[v2,basic]",
        hk.nets.ResNet,
        lambda: _training(_small_resnet(resnet_v2=True, bottleneck=False)),
        _x(B, 8, 8, 3),
        stateful=True,
        bf16_tol=5e-2,
    ),
    Entry(
        "nets.ResNet.BlockV1",
        hk.nets.ResNet.BlockV1,
        lambda: _training(
            hk.nets.ResNet.BlockV1(
                channels=4, stride=2, use_projection=True, bn_config=_BN, bottleneck=True
            ),
            test_local_stats=False,
        ),
        _x(B, 4, 4, 2),
        stateful=True,
        bf16_tol=5e-2,
    ),
    Entry(
        "nets.ResNet.BlockV2",
        hk.nets.ResNet.BlockV2,
        lambda: _training(
            hk.nets.ResNet.BlockV2(
                channels=2, stride=1, use_projection=False, bn_config=_BN, bottleneck=False
            ),
            test_local_stats=False,
        ),
        _x(B, 4, 4, 2),
        stateful=True,
        bf16_tol=5e-2,
    ),
    Entry(
        "nets.ResNet.BlockGroup",
        hk.nets.ResNet.BlockGroup,
        lambda: _training(
            hk.nets.ResNet.BlockGroup(
                channels=4,
                num_blocks=2,
                stride=1,
                bn_config=_BN,
                resnet_v2=True,
                bottleneck=True,
                use_projection=True,
            ),
            test_local_stats=False,
        ),
        _x(B, 3, 3, 2),
        stateful=True,
        bf16_tol=5e-2,
    ),
    Entry(
        "nets.VectorQuantizer",
        hk.nets.VectorQuantizer,
        lambda: _training(hk.nets.VectorQuantizer(4, 6, 0.25)),
        _x(B, 3, 4),
        # The codebook is float32 (constructor dtype), so every floating output is
        # float32 too (upstream dm-haiku 0.0.17 gives float32 for all of them).
        bf16_out=jnp.float32,
        bf16_ctor_dtype_params=frozenset({"vector_quantizer/embeddings"}),
    ),
    Entry(
        "nets.VectorQuantizerEMA",
        hk.nets.VectorQuantizerEMA,
        lambda: _training(hk.nets.VectorQuantizerEMA(4, 6, 0.25, 0.9)),
        _x(B, 3, 4),
        stateful=True,
    ),
)


# The ResNet18..ResNet200 presets are ResNet with fixed constructor arguments; at full
# width (11M-65M parameters) the value-level battery costs minutes on CPU. Their entries
# check that each preset builds exactly the network that hk.nets.ResNet builds from the
# preset's published configuration (parameter and state shapes, dtypes and names,
# output shape, all abstractly via jax.eval_shape); the transform battery runs on the
# hk.nets.ResNet entries above, which execute the same code at a reduced width.
RESNET_PRESETS: Mapping[Any, dict[str, Any]] = {
    hk.nets.ResNet18: {
        "blocks_per_group": (2, 2, 2, 2),
        "bottleneck": False,
        "channels_per_group": (64, 128, 256, 512),
        "use_projection": (False, True, True, True),
    },
    hk.nets.ResNet34: {
        "blocks_per_group": (3, 4, 6, 3),
        "bottleneck": False,
        "channels_per_group": (64, 128, 256, 512),
        "use_projection": (False, True, True, True),
    },
    hk.nets.ResNet50: {
        "blocks_per_group": (3, 4, 6, 3),
        "bottleneck": True,
        "channels_per_group": (256, 512, 1024, 2048),
        "use_projection": (True, True, True, True),
    },
    hk.nets.ResNet101: {
        "blocks_per_group": (3, 4, 23, 3),
        "bottleneck": True,
        "channels_per_group": (256, 512, 1024, 2048),
        "use_projection": (True, True, True, True),
    },
    hk.nets.ResNet152: {
        "blocks_per_group": (3, 8, 36, 3),
        "bottleneck": True,
        "channels_per_group": (256, 512, 1024, 2048),
        "use_projection": (True, True, True, True),
    },
    hk.nets.ResNet200: {
        "blocks_per_group": (3, 24, 36, 3),
        "bottleneck": True,
        "channels_per_group": (256, 512, 1024, 2048),
        "use_projection": (True, True, True, True),
    },
}

# Public classes that get no entry, with the reason.
EXEMPT: Mapping[Any, str] = {
    hk.Module: "abstract base class of every module; it has no forward computation",
    hk.RNNCore: "abstract base class of recurrent cores (abstract __call__/initial_state)",
}
