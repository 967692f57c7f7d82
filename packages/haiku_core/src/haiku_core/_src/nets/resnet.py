"""ResNet v1 and v2 (He et al., 2016) with the usual depth presets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from haiku_core._src import basic, conv, pool
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import BatchNorm
from haiku_core._src.errors import module_prefix

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


class ImageRankError(ValueError, TypeError, AssertionError):
    """An image network was given inputs that are not a ``[B, H, W, C]`` batch.

    Subclasses :class:`ValueError`, :class:`TypeError` and :class:`AssertionError`,
    the errors such inputs otherwise trigger deeper inside the network, so
    handlers written for any of them catch it.
    """


class ConfigLengthError(ValueError, IndexError):
    """A per-group ResNet setting has too few entries.

    Subclasses :class:`ValueError` and :class:`IndexError`.
    """


def check_image_batch(inputs: jax.Array, owner: str) -> None:
    """Raises :class:`ImageRankError` unless ``inputs`` is rank 4 ``[B, H, W, C]``.

    Args:
      inputs: the network input.
      owner: network description used as the error-message prefix.
    """
    if inputs.ndim != 4:
        raise ImageRankError(
            f"{owner}: `inputs` must be a batch of images [B, H, W, C] (rank 4); got shape "
            f"{inputs.shape} (rank {inputs.ndim})."
        )


def _conv(channels: int, kernel: int, stride: int | Sequence[int], name: str) -> conv.Conv2D:
    return conv.Conv2D(
        output_channels=channels,
        kernel_shape=kernel,
        stride=stride,
        with_bias=False,
        padding="SAME",
        name=name,
    )


def _main_path_plan(
    channels: int, stride: int | Sequence[int], bottleneck: bool
) -> list[tuple[int, int, int | Sequence[int]]]:
    # (output channels, kernel size, stride) of each conv on a block's main path.
    # Bottleneck: 1x1 squeeze to channels/4, strided 3x3, 1x1 expand back; otherwise
    # a strided 3x3 then a plain 3x3.
    if bottleneck:
        narrow = channels // 4
        return [(narrow, 1, 1), (narrow, 3, stride), (channels, 1, 1)]
    return [(channels, 3, stride), (channels, 3, 1)]


def _make_main_path(
    channels: int,
    stride: int | Sequence[int],
    bottleneck: bool,
    bn_config: Mapping[str, FloatStrOrBool],
    zero_last_scale: bool,
) -> tuple[tuple[conv.Conv2D, BatchNorm], ...]:
    # One (conv_i, batchnorm_i) pair per planned conv. Every BatchNorm defaults to a
    # learned scale and offset with decay 0.999; `bn_config` overrides that.
    bn_kwargs: dict[str, Any] = {
        "create_scale": True,
        "create_offset": True,
        "decay_rate": 0.999,
        **bn_config,
    }
    plan = _main_path_plan(channels, stride, bottleneck)
    pairs = []
    for i, (width, kernel, step) in enumerate(plan):
        extra = {"scale_init": jnp.zeros} if zero_last_scale and i == len(plan) - 1 else {}
        pairs.append(
            (
                _conv(width, kernel, step, f"conv_{i}"),
                BatchNorm(name=f"batchnorm_{i}", **extra, **bn_kwargs),
            )
        )
    return tuple(pairs)


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
        if use_projection:
            self.proj_conv: conv.Conv2D = _conv(channels, 1, stride, "shortcut_conv")
            self.proj_batchnorm: BatchNorm = BatchNorm(
                name="shortcut_batchnorm",
                **{"create_scale": True, "create_offset": True, "decay_rate": 0.999, **bn_config},
            )
        self.layers: tuple[tuple[conv.Conv2D, BatchNorm], ...] = _make_main_path(
            channels, stride, bottleneck, bn_config, zero_last_scale=bottleneck
        )

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the block.

        Args:
          inputs: ``[B, H, W, C]``.
          is_training: passed to every BatchNorm.
          test_local_stats: passed to every BatchNorm.

        Returns:
          ``[B, H', W', channels]`` (H', W' reduced by the stride).
        """
        skip = inputs
        if self.use_projection:
            skip = self.proj_batchnorm(self.proj_conv(inputs), is_training, test_local_stats)
        features = inputs
        final = len(self.layers) - 1
        for depth, (conv_layer, norm) in enumerate(self.layers):
            features = norm(conv_layer(features), is_training, test_local_stats)
            # The last layer's activation comes after the residual sum instead.
            if depth != final:
                features = jax.nn.relu(features)
        return jax.nn.relu(features + skip)


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
        if use_projection:
            self.proj_conv: conv.Conv2D = _conv(channels, 1, stride, "shortcut_conv")
        self.layers: tuple[tuple[conv.Conv2D, BatchNorm], ...] = _make_main_path(
            channels, stride, bottleneck, bn_config, zero_last_scale=False
        )

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the block; arguments and result as in :meth:`BlockV1.__call__`."""
        skip = inputs
        features = inputs
        for depth, (conv_layer, norm) in enumerate(self.layers):
            activated = jax.nn.relu(norm(features, is_training, test_local_stats))
            # The projection shortcut reads the first pre-activation.
            if depth == 0 and self.use_projection:
                skip = self.proj_conv(activated)
            features = conv_layer(activated)
        return features + skip


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
        self.blocks: list[BlockV1 | BlockV2] = []
        for index in range(num_blocks):
            first = index == 0
            self.blocks.append(
                block_cls(
                    channels=channels,
                    stride=stride if first else 1,
                    use_projection=first and use_projection,
                    bottleneck=bottleneck,
                    bn_config=bn_config,
                    name=f"block_{index}",
                )
            )

    def __call__(self, inputs: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
        """Applies the blocks in order to ``[B, H, W, C]`` inputs."""
        out = inputs
        for block in self.blocks:
            out = block(out, is_training, test_local_stats)
        return out


def _per_group(value: Sequence[Any], arg: str, exact: bool) -> None:
    count = len(value)
    if count == 4 or (count > 4 and not exact):
        return
    needed = "exactly" if exact else "at least"
    error = ValueError if exact else ConfigLengthError
    raise error(
        f"haiku_core.nets.ResNet: `{arg}` gives one value per block group and needs "
        f"{needed} 4 entries; got {count}: {tuple(value)!r}."
    )


def _stem(net: ResNet, images: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
    # Strided 7x7 conv (+ batchnorm and relu for v1), then a strided 3x3 max pool.
    x = net.initial_conv(images)
    if not net.resnet_v2:
        x = jax.nn.relu(net.initial_batchnorm(x, is_training, test_local_stats))
    return pool.max_pool(x, window_shape=(1, 3, 3, 1), strides=(1, 2, 2, 1), padding="SAME")


def _head(net: ResNet, x: jax.Array, is_training: bool, test_local_stats: bool) -> jax.Array:
    # v2 ends with a batchnorm + relu (its blocks are pre-activated); then global
    # average pooling over H and W and the logits layer.
    if net.resnet_v2:
        x = jax.nn.relu(net.final_batchnorm(x, is_training, test_local_stats))
    return net.logits(jnp.mean(x, axis=(1, 2)))


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
          use_projection: whether each group's first block projects (at least 4
            entries; only the first 4 are read).
          logits_config: keyword arguments for the final Linear (defaults
            ``w_init=zeros, name='logits'``).
          name: module name; defaults to the snake_case class name.
          initial_conv_config: keyword arguments for the first Conv2D (defaults
            ``output_channels=64, kernel_shape=7, stride=2, with_bias=False,
            padding='SAME', name='initial_conv'``).
          strides: stride of each group (length 4).

        Raises:
          ValueError: if ``blocks_per_group``, ``channels_per_group`` or ``strides``
            does not have exactly 4 entries.
          ConfigLengthError: (a ValueError and IndexError) if ``use_projection`` has
            fewer than 4 entries (extra entries are ignored).
        """
        super().__init__(name=name)
        self.resnet_v2 = resnet_v2
        _per_group(blocks_per_group, "blocks_per_group", exact=True)
        _per_group(channels_per_group, "channels_per_group", exact=True)
        _per_group(strides, "strides", exact=True)
        _per_group(use_projection, "use_projection", exact=False)

        norm_kwargs: dict[str, Any] = {
            "decay_rate": 0.9,
            "eps": 1e-5,
            "create_scale": True,
            "create_offset": True,
            **(bn_config or {}),
        }
        stem_kwargs: dict[str, Any] = {
            "output_channels": 64,
            "kernel_shape": 7,
            "stride": 2,
            "with_bias": False,
            "padding": "SAME",
            "name": "initial_conv",
            **(initial_conv_config or {}),
        }
        head_kwargs: dict[str, Any] = {
            "w_init": jnp.zeros,
            "name": "logits",
            **(logits_config or {}),
        }

        self.initial_conv: conv.Conv2D = conv.Conv2D(**stem_kwargs)
        if not resnet_v2:
            self.initial_batchnorm: BatchNorm = BatchNorm(name="initial_batchnorm", **norm_kwargs)
        self.block_groups: list[BlockGroup] = []
        for index, (depth, width, stride) in enumerate(
            zip(blocks_per_group, channels_per_group, strides, strict=True)
        ):
            self.block_groups.append(
                BlockGroup(
                    channels=width,
                    num_blocks=depth,
                    stride=stride,
                    bn_config=norm_kwargs,
                    resnet_v2=resnet_v2,
                    bottleneck=bottleneck,
                    use_projection=use_projection[index],
                    name=f"block_group_{index}",
                )
            )
        if resnet_v2:
            self.final_batchnorm: BatchNorm = BatchNorm(name="final_batchnorm", **norm_kwargs)
        self.logits: basic.Linear = basic.Linear(num_classes, **head_kwargs)

    def __call__(
        self, inputs: jax.Array, is_training: bool, test_local_stats: bool = False
    ) -> jax.Array:
        """Computes logits.

        Args:
          inputs: ``[B, H, W, C]`` images.
          is_training: use batch statistics and update the batchnorm averages.
          test_local_stats: with ``is_training=False``, still use batch statistics.

        Returns:
          ``[B, num_classes]`` logits.

        Raises:
          ImageRankError: (a ValueError, TypeError and AssertionError) if ``inputs``
            is not rank 4.
        """
        inputs = jnp.asarray(inputs)
        check_image_batch(inputs, module_prefix(self))
        x = _stem(self, inputs, is_training, test_local_stats)
        for group in self.block_groups:
            x = group(x, is_training, test_local_stats)
        return _head(self, x, is_training, test_local_stats)


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
