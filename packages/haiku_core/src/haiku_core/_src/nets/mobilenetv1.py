"""MobileNet v1 (Howard et al., 2017)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import basic, conv, depthwise_conv, reshape
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import BatchNorm
from haiku_core._src.errors import module_prefix
from haiku_core._src.nets.resnet import check_image_batch

__all__ = ["MobileNetV1", "MobileNetV1Block"]


class MobileNetV1Block(hk_module.Module):
    """Depthwise 3x3 conv -> (batchnorm) -> relu -> pointwise 1x1 conv -> (batchnorm) -> relu.

    Children (made in ``__call__``): ``depthwise_conv``, ``batch_norm``,
    ``pointwise_conv``, ``batch_norm_1`` (the batchnorms only with ``use_bn``;
    the convs have a bias only without batchnorm).
    """

    def __init__(self, channels: int, stride: int, use_bn: bool = True, name: str | None = None):
        """Creates the block.

        Args:
          channels: output channels of the pointwise conv.
          stride: stride of the depthwise conv.
          use_bn: use batch normalisation (and no conv biases).
          name: module name; defaults to ``mobile_net_v1_block``.
        """
        super().__init__(name=name)
        self.channels = channels
        self.stride = stride
        self.use_bn = use_bn
        self.with_bias: bool = not use_bn

    def __call__(self, inputs: jax.Array, is_training: bool) -> jax.Array:
        """Applies the block to ``[B, H, W, C]`` inputs."""
        depthwise = depthwise_conv.DepthwiseConv2D(
            channel_multiplier=1,
            kernel_shape=(3, 3),
            stride=self.stride,
            padding=((1, 1), (1, 1)),
            with_bias=self.with_bias,
            name="depthwise_conv",
        )
        pointwise = conv.Conv2D(
            output_channels=self.channels,
            kernel_shape=(1, 1),
            stride=1,
            padding="VALID",
            with_bias=self.with_bias,
            name="pointwise_conv",
        )
        out = depthwise(inputs)
        if self.use_bn:
            out = BatchNorm(create_scale=True, create_offset=True, decay_rate=0.999)(
                out, is_training
            )
        out = jax.nn.relu(out)
        out = pointwise(out)
        if self.use_bn:
            out = BatchNorm(create_scale=True, create_offset=True, decay_rate=0.999)(
                out, is_training
            )
        return jax.nn.relu(out)


class MobileNetV1(hk_module.Module):
    """MobileNet v1 classifier for ``[B, H, W, C]`` images.

    A strided 3x3 ``conv2_d`` (32 channels) -> batchnorm -> relu, then one
    :class:`MobileNetV1Block` per entry of ``strides``/``channels``
    (``mobile_net_v1_block``, ``mobile_net_v1_block_1``, ...), spatial mean and a
    ``logits`` Linear. All children are made in ``__call__``.

    References:
      Howard et al. (2017), "MobileNets: Efficient Convolutional Neural Networks
      for Mobile Vision Applications", https://arxiv.org/abs/1704.04861

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda x: hk.nets.MobileNetV1(num_classes=10)(x, True))
    >>> params, _ = jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones([1, 32, 32, 3]))
    >>> params["mobile_net_v1/logits"]["w"].shape
    (1024, 10)
    """

    def __init__(
        self,
        strides: Sequence[int] = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1),
        channels: Sequence[int] = (
            64,
            128,
            128,
            256,
            256,
            512,
            512,
            512,
            512,
            512,
            512,
            1024,
            1024,
        ),
        num_classes: int = 1000,
        use_bn: bool = True,
        name: str | None = None,
    ):
        """Creates the network.

        Args:
          strides: stride of each block.
          channels: output channels of each block (same length as ``strides``).
          num_classes: number of logits.
          use_bn: use batch normalisation (and no conv biases).
          name: module name; defaults to ``mobile_net_v1``.

        Raises:
          ValueError: if ``strides`` and ``channels`` differ in length.
        """
        super().__init__(name=name)
        if len(strides) != len(channels):
            raise ValueError(
                "haiku_core.nets.MobileNetV1: `strides` and `channels` describe the same "
                f"blocks (one entry each) but have {len(strides)} and {len(channels)} entries."
            )
        self.strides = strides
        self.channels = channels
        self.use_bn = use_bn
        self.with_bias: bool = not use_bn
        self.num_classes = num_classes

    def __call__(self, inputs: jax.Array, is_training: bool) -> jax.Array:
        """Computes logits.

        Args:
          inputs: ``[B, H, W, C]`` images.
          is_training: use batch statistics and update the batchnorm averages.

        Returns:
          ``[B, num_classes]`` logits.

        Raises:
          ImageRankError: (a ValueError, TypeError and AssertionError) if ``inputs``
            is not rank 4.
        """
        inputs = jnp.asarray(inputs)
        check_image_batch(inputs, module_prefix(self))
        initial_conv = conv.Conv2D(
            output_channels=32,
            kernel_shape=(3, 3),
            stride=2,
            padding="VALID",
            with_bias=self.with_bias,
        )
        x = initial_conv(inputs)
        if self.use_bn:
            x = BatchNorm(create_scale=True, create_offset=True, decay_rate=0.999)(x, is_training)
        x = jax.nn.relu(x)
        for stride, channels in zip(self.strides, self.channels, strict=True):
            x = MobileNetV1Block(channels, stride, self.use_bn)(x, is_training)
        x = jnp.mean(x, axis=(1, 2))
        x = reshape.Flatten()(x)
        return basic.Linear(self.num_classes, name="logits")(x)


# Public objects report their public home (reprs, docs, pickling).
for _obj in (MobileNetV1,):
    _obj.__module__ = "haiku_core.nets"
del _obj
