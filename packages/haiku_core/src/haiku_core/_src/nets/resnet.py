"""ResNet v1 and v2 (He et al., 2016) with the usual depth presets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from haiku_core._src import basic, conv, pool
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import BatchNorm

__all__ = [
    "ResNet",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet200",
]

FloatStrOrBool = str | float | bool


def _bn_defaults(bn_config: Mapping[str, FloatStrOrBool] | None) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(bn_config or {})
    cfg.setdefault("create_scale", True)
    cfg.setdefault("create_offset", True)
    cfg.setdefault("decay_rate", 0.999)
    return cfg


def _conv(channels: int, kernel: int, stride: int | Sequence[int], name: str) -> conv.Conv2D:
    return conv.Conv2D(
        output_channels=channels,
        kernel_shape=kernel,
        stride=stride,
        with_bias=False,
        padding="SAME",
        name=name,
    )


class BlockV1(hk_module.Module):
    """ResNet v1 residual block: (conv -> batchnorm -> relu)* with a post-add relu.

    Children (made in ``__init__``): ``conv_i`` / ``batchnorm_i`` for each layer
    and, when projecting, ``shortcut_conv`` and ``shortcut_batchnorm``. In the
    bottleneck variant the last batchnorm's scale starts at zero.
    """

    def __init__(
        self,
        channels: int,
        stride: int | Sequence[int],
        use_projection: bool,
        bn_config: Mapping[str, FloatStrOrBool],
        bottleneck: bool,
        name: str | None = None,
    ):
        """Creates the block.

        Args:
          channels: output channels (bottleneck: the inner convs use channels // 4).
          stride: stride of the block (on the 3x3 conv in bottleneck blocks, on the
            first conv otherwise).
          use_projection: project the shortcut with a strided 1x1 conv + batchnorm.
          bn_config: keyword arguments for every :class:`BatchNorm`.
          bottleneck: 1x1 -> 3x3 -> 1x1 bottleneck (else two 3x3 convs).
          name: module name.
        """
        super().__init__(name=name)
        self.use_projection = use_projection
        bn_config = _bn_defaults(bn_config)
        if self.use_projection:
            self.proj_conv = _conv(channels, 1, stride, "shortcut_conv")
            self.proj_batchnorm = BatchNorm(name="shortcut_batchnorm", **bn_config)
        channel_div = 4 if bottleneck else 1
        conv_0 = _conv(
            channels // channel_div, 1 if bottleneck else 3, 1 if bottleneck else stride, "conv_0"
        )
        bn_0 = BatchNorm(name="batchnorm_0", **bn_config)
        conv_1 = _conv(channels // channel_div, 3, stride if bottleneck else 1, "conv_1")
        bn_1 = BatchNorm(name="batchnorm_1", **bn_config)
        layers: tuple[tuple[Any, Any], ...] = ((conv_0, bn_0), (conv_1, bn_1))
        if bottleneck:
            conv_2 = _conv(channels, 1, 1, "conv_2")
            bn_2 = BatchNorm(name="batchnorm_2", scale_init=jnp.zeros, **bn_config)
            layers = (*layers, (conv_2, bn_2))
        self.layers = layers

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the block to ``[B, H, W, C]`` inputs."""
        out = shortcut = inputs
        if self.use_projection:
            shortcut = self.proj_conv(shortcut)
            shortcut = self.proj_batchnorm(shortcut, is_training, test_local_stats)
        for i, (conv_i, bn_i) in enumerate(self.layers):
            out = conv_i(out)
            out = bn_i(out, is_training, test_local_stats)
            if i < len(self.layers) - 1:
                out = jax.nn.relu(out)
        return jax.nn.relu(out + shortcut)


class BlockV2(hk_module.Module):
    """ResNet v2 (pre-activation) block: (batchnorm -> relu -> conv)*, plain add.

    Children: ``conv_i`` / ``batchnorm_i`` and, when projecting, ``shortcut_conv``
    (applied to the first pre-activation).
    """

    def __init__(
        self,
        channels: int,
        stride: int | Sequence[int],
        use_projection: bool,
        bn_config: Mapping[str, FloatStrOrBool],
        bottleneck: bool,
        name: str | None = None,
    ):
        """Creates the block; arguments as in :class:`BlockV1`."""
        super().__init__(name=name)
        self.use_projection = use_projection
        bn_config = _bn_defaults(bn_config)
        if self.use_projection:
            self.proj_conv = _conv(channels, 1, stride, "shortcut_conv")
        channel_div = 4 if bottleneck else 1
        conv_0 = _conv(
            channels // channel_div, 1 if bottleneck else 3, 1 if bottleneck else stride, "conv_0"
        )
        bn_0 = BatchNorm(name="batchnorm_0", **bn_config)
        conv_1 = _conv(channels // channel_div, 3, stride if bottleneck else 1, "conv_1")
        bn_1 = BatchNorm(name="batchnorm_1", **bn_config)
        layers: tuple[tuple[Any, Any], ...] = ((conv_0, bn_0), (conv_1, bn_1))
        if bottleneck:
            conv_2 = _conv(channels, 1, 1, "conv_2")
            bn_2 = BatchNorm(name="batchnorm_2", **bn_config)
            layers = (*layers, (conv_2, bn_2))
        self.layers = layers

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the block to ``[B, H, W, C]`` inputs."""
        x = shortcut = inputs
        for i, (conv_i, bn_i) in enumerate(self.layers):
            x = bn_i(x, is_training, test_local_stats)
            x = jax.nn.relu(x)
            if i == 0 and self.use_projection:
                shortcut = self.proj_conv(x)
            x = conv_i(x)
        return x + shortcut


class BlockGroup(hk_module.Module):
    """A sequence of residual blocks ``block_0`` ... sharing channels; the first
    block carries the stride and (optionally) the projection."""

    def __init__(
        self,
        channels: int,
        num_blocks: int,
        stride: int | Sequence[int],
        bn_config: Mapping[str, FloatStrOrBool],
        resnet_v2: bool,
        bottleneck: bool,
        use_projection: bool,
        name: str | None = None,
    ):
        """Creates the group.

        Args:
          channels: output channels of every block.
          num_blocks: number of blocks.
          stride: stride of the first block.
          bn_config: keyword arguments for every :class:`BatchNorm`.
          resnet_v2: use :class:`BlockV2` (else :class:`BlockV1`).
          bottleneck: use bottleneck blocks.
          use_projection: project the shortcut of the first block.
          name: module name.
        """
        super().__init__(name=name)
        block_cls = BlockV2 if resnet_v2 else BlockV1
        self.blocks = [
            block_cls(
                channels=channels,
                stride=(1 if i else stride),
                use_projection=(i == 0 and use_projection),
                bottleneck=bottleneck,
                bn_config=bn_config,
                name=f"block_{i}",
            )
            for i in range(num_blocks)
        ]

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the blocks in order to ``[B, H, W, C]`` inputs."""
        out = inputs
        for block in self.blocks:
            out = block(out, is_training, test_local_stats)
        return out


def _check_length(length: int, value: Sequence[Any], name: str) -> None:
    if len(value) != length:
        raise ValueError(
            f"haiku_core.nets.ResNet: `{name}` must have length {length}, got {len(value)} "
            f"({tuple(value)!r})."
        )


class ResNet(hk_module.Module):
    """Configurable ResNet for ``[B, H, W, C]`` images.

    ``initial_conv`` (7x7/2) -> ``initial_batchnorm`` + relu (v1) -> 3x3/2 max
    pool -> four :class:`BlockGroup` children ``block_group_0..3`` ->
    ``final_batchnorm`` + relu (v2) -> spatial mean -> ``logits`` Linear
    (zero-initialised by default).

    References:
      He, Zhang, Ren & Sun (2016), "Deep Residual Learning for Image
      Recognition", https://arxiv.org/abs/1512.03385;
      He, Zhang, Ren & Sun (2016), "Identity Mappings in Deep Residual Networks",
      https://arxiv.org/abs/1603.05027

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda x: hk.nets.ResNet18(10)(x, is_training=True))
    >>> params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones([1, 32, 32, 3]))
    >>> params["res_net18/~/logits"]["w"].shape
    (512, 10)
    """

    CONFIGS: ClassVar[dict[int, dict[str, Any]]] = {
        18: {
            "blocks_per_group": (2, 2, 2, 2),
            "bottleneck": False,
            "channels_per_group": (64, 128, 256, 512),
            "use_projection": (False, True, True, True),
        },
        34: {
            "blocks_per_group": (3, 4, 6, 3),
            "bottleneck": False,
            "channels_per_group": (64, 128, 256, 512),
            "use_projection": (False, True, True, True),
        },
        50: {
            "blocks_per_group": (3, 4, 6, 3),
            "bottleneck": True,
            "channels_per_group": (256, 512, 1024, 2048),
            "use_projection": (True, True, True, True),
        },
        101: {
            "blocks_per_group": (3, 4, 23, 3),
            "bottleneck": True,
            "channels_per_group": (256, 512, 1024, 2048),
            "use_projection": (True, True, True, True),
        },
        152: {
            "blocks_per_group": (3, 8, 36, 3),
            "bottleneck": True,
            "channels_per_group": (256, 512, 1024, 2048),
            "use_projection": (True, True, True, True),
        },
        200: {
            "blocks_per_group": (3, 24, 36, 3),
            "bottleneck": True,
            "channels_per_group": (256, 512, 1024, 2048),
            "use_projection": (True, True, True, True),
        },
    }

    BlockGroup = BlockGroup
    BlockV1 = BlockV1
    BlockV2 = BlockV2

    def __init__(
        self,
        blocks_per_group: Sequence[int],
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        bottleneck: bool = True,
        channels_per_group: Sequence[int] = (256, 512, 1024, 2048),
        use_projection: Sequence[bool] = (True, True, True, True),
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates the network.

        Args:
          blocks_per_group: number of blocks in each of the 4 groups.
          num_classes: number of logits.
          bn_config: keyword arguments for every :class:`BatchNorm` (defaults
            ``decay_rate=0.9, eps=1e-5, create_scale=True, create_offset=True``).
          resnet_v2: pre-activation (v2) blocks.
          bottleneck: bottleneck blocks.
          channels_per_group: output channels of each group (length 4).
          use_projection: whether each group's first block projects (length 4).
          logits_config: keyword arguments for the final Linear (defaults
            ``w_init=zeros, name='logits'``).
          name: module name; defaults to the snake_case class name.
          initial_conv_config: keyword arguments for the first Conv2D (defaults
            ``output_channels=64, kernel_shape=7, stride=2, with_bias=False,
            padding='SAME', name='initial_conv'``).
          strides: stride of each group (length 4).

        Raises:
          ValueError: if a per-group sequence does not have length 4.
        """
        super().__init__(name=name)
        self.resnet_v2 = resnet_v2
        bn_config_: dict[str, Any] = dict(bn_config or {})
        bn_config_.setdefault("decay_rate", 0.9)
        bn_config_.setdefault("eps", 1e-5)
        bn_config_.setdefault("create_scale", True)
        bn_config_.setdefault("create_offset", True)

        logits_config_: dict[str, Any] = dict(logits_config or {})
        logits_config_.setdefault("w_init", jnp.zeros)
        logits_config_.setdefault("name", "logits")

        _check_length(4, blocks_per_group, "blocks_per_group")
        _check_length(4, channels_per_group, "channels_per_group")
        _check_length(4, use_projection, "use_projection")
        _check_length(4, strides, "strides")

        initial_conv_config_: dict[str, Any] = dict(initial_conv_config or {})
        initial_conv_config_.setdefault("output_channels", 64)
        initial_conv_config_.setdefault("kernel_shape", 7)
        initial_conv_config_.setdefault("stride", 2)
        initial_conv_config_.setdefault("with_bias", False)
        initial_conv_config_.setdefault("padding", "SAME")
        initial_conv_config_.setdefault("name", "initial_conv")

        self.initial_conv = conv.Conv2D(**initial_conv_config_)
        if not self.resnet_v2:
            self.initial_batchnorm = BatchNorm(name="initial_batchnorm", **bn_config_)
        self.block_groups = [
            BlockGroup(
                channels=channels_per_group[i],
                num_blocks=blocks_per_group[i],
                stride=stride,
                bn_config=bn_config_,
                resnet_v2=resnet_v2,
                bottleneck=bottleneck,
                use_projection=use_projection[i],
                name=f"block_group_{i}",
            )
            for i, stride in enumerate(strides)
        ]
        if self.resnet_v2:
            self.final_batchnorm = BatchNorm(name="final_batchnorm", **bn_config_)
        self.logits = basic.Linear(num_classes, **logits_config_)

    def __call__(self, inputs, is_training, test_local_stats=False):
        """Computes logits.

        Args:
          inputs: ``[B, H, W, C]`` images.
          is_training: use batch statistics and update the batchnorm averages.
          test_local_stats: with ``is_training=False``, still use batch statistics.

        Returns:
          ``[B, num_classes]`` logits.

        Raises:
          ValueError: if ``inputs`` is not rank 4.
        """
        inputs = jnp.asarray(inputs)
        if inputs.ndim != 4:
            raise ValueError(
                f"haiku_core.nets.ResNet ({self.module_name}): `inputs` must be [B, H, W, C] "
                f"(rank 4), got shape {inputs.shape}."
            )
        out = self.initial_conv(inputs)
        if not self.resnet_v2:
            out = self.initial_batchnorm(out, is_training, test_local_stats)
            out = jax.nn.relu(out)
        out = pool.max_pool(out, window_shape=(1, 3, 3, 1), strides=(1, 2, 2, 1), padding="SAME")
        for block_group in self.block_groups:
            out = block_group(out, is_training, test_local_stats)
        if self.resnet_v2:
            out = self.final_batchnorm(out, is_training, test_local_stats)
            out = jax.nn.relu(out)
        out = jnp.mean(out, axis=(1, 2))
        return self.logits(out)


class ResNet18(ResNet):
    """ResNet-18: basic blocks (2, 2, 2, 2), channels (64, 128, 256, 512)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-18.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net18``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[18],
        )


class ResNet34(ResNet):
    """ResNet-34: basic blocks (3, 4, 6, 3), channels (64, 128, 256, 512)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-34.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net34``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[34],
        )


class ResNet50(ResNet):
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), channels (256, 512, 1024, 2048)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-50.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net50``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[50],
        )


class ResNet101(ResNet):
    """ResNet-101: bottleneck blocks (3, 4, 23, 3), channels (256, 512, 1024, 2048)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-101.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net101``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[101],
        )


class ResNet152(ResNet):
    """ResNet-152: bottleneck blocks (3, 8, 36, 3), channels (256, 512, 1024, 2048)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-152.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net152``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[152],
        )


class ResNet200(ResNet):
    """ResNet-200: bottleneck blocks (3, 24, 36, 3), channels (256, 512, 1024, 2048)."""

    def __init__(
        self,
        num_classes: int,
        bn_config: Mapping[str, FloatStrOrBool] | None = None,
        resnet_v2: bool = False,
        logits_config: Mapping[str, Any] | None = None,
        name: str | None = None,
        initial_conv_config: Mapping[str, FloatStrOrBool] | None = None,
        strides: Sequence[int] = (1, 2, 2, 2),
    ):
        """Creates a ResNet-200.

        Args:
          num_classes: number of logits.
          bn_config: keyword arguments for every BatchNorm.
          resnet_v2: pre-activation (v2) blocks.
          logits_config: keyword arguments for the final Linear.
          name: module name; defaults to ``res_net200``.
          initial_conv_config: keyword arguments for the first Conv2D.
          strides: stride of each of the 4 groups.
        """
        super().__init__(
            num_classes=num_classes,
            bn_config=bn_config,
            initial_conv_config=initial_conv_config,
            resnet_v2=resnet_v2,
            strides=strides,
            logits_config=logits_config,
            name=name,
            **ResNet.CONFIGS[200],
        )


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    ResNet,
    ResNet18,
    ResNet34,
    ResNet50,
    ResNet101,
    ResNet152,
    ResNet200,
):
    _obj.__module__ = "haiku_core.nets"
del _obj
