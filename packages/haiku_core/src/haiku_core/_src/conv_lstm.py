"""Convolutional LSTM cores: Conv1DLSTM, Conv2DLSTM, Conv3DLSTM (and their base ConvNDLSTM).

Parameter names, shapes and numerics follow dm-haiku 0.0.17: two ``ConvND`` children,
``input_to_hidden`` then ``hidden_to_hidden``, each with ``w`` ``[*kernel, C_in, 4C]`` and ``b``
``[4C]``; gate order i, g, f, o with +1 added to the forget gate at run time.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import conv
from haiku_core._src import recurrent as rec

__all__ = ["Conv1DLSTM", "Conv2DLSTM", "Conv3DLSTM", "ConvNDLSTM"]


class ConvNDLSTM(rec.RNNCore):
    """LSTM core whose projections are N-d convolutions (stride 1, ``SAME`` padding).

    With ``C`` output channels, ``gates = conv_x(x_t) + conv_h(h_{t-1})`` has ``4C`` channels
    split into input ``i``, cell candidate ``g``, forget ``f`` and output ``o``; then
    ``c_t = sigmoid(f + 1) * c_{t-1} + sigmoid(i) * tanh(g)`` and
    ``h_t = sigmoid(o) * tanh(c_t)``. Inputs are channels-last.

    References:
      Shi et al. (2015), Convolutional LSTM Network: A Machine Learning Approach for
      Precipitation Nowcasting, NeurIPS. https://arxiv.org/abs/1506.04214
    """

    def __init__(
        self,
        num_spatial_dims: int,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: int | Sequence[int],
        name: str | None = None,
    ):
        """Constructs a convolutional LSTM.

        Args:
          num_spatial_dims: ``N``, the number of spatial dimensions.
          input_shape: the ``N`` spatial sizes of the input (without batch or channels); the
            state has these spatial sizes. It is only used by ``initial_state`` (so it is
            not validated here); a state that does not fit the input is rejected when
            the core is called.
          output_channels: ``C``, channels of the hidden and cell states.
          kernel_shape: kernel size, an int or ``N`` ints, for both convolutions.
          name: module name; defaults to the snake_case class name (e.g. ``conv2_dlstm``).
        """
        super().__init__(name=name)
        self.num_spatial_dims = num_spatial_dims
        self.input_shape: tuple[int, ...] = tuple(input_shape)
        self.output_channels = output_channels
        self.kernel_shape = kernel_shape

    def __call__(
        self, inputs: jax.typing.ArrayLike, state: rec.LSTMState
    ) -> tuple[jax.Array, rec.LSTMState]:
        """Runs one step.

        Args:
          inputs: ``[B, *spatial, C_in]`` (or ``[*spatial, C_in]`` unbatched), ``N`` spatial
            dims.
          state: ``LSTMState`` with ``hidden`` and ``cell`` both ``[B, *spatial, C]``.

        Returns:
          ``(h_t, LSTMState(h_t, c_t))``, each ``[B, *spatial, C]``.

        Raises:
          ValueError: if ``inputs`` does not have rank ``N + 1`` or ``N + 2``, or the state's
            shapes do not match ``inputs``' batch and spatial dims.
          TypeError: if ``state`` is not an ``LSTMState``-like (hidden, cell) pair.
        """
        where = rec._where(self)
        n = self.num_spatial_dims
        rec._check_rank(
            where,
            "inputs",
            inputs,
            (n + 1, n + 2),
            f"[B, {n} spatial dims, C_in] or unbatched [{n} spatial dims, C_in]",
        )
        expected = (*jnp.shape(inputs)[:-1], self.output_channels)
        rec._check_lstm_state(where, state, expected)
        input_to_hidden = conv.ConvND(
            num_spatial_dims=n,
            output_channels=4 * self.output_channels,
            kernel_shape=self.kernel_shape,
            name="input_to_hidden",
        )
        hidden_to_hidden = conv.ConvND(
            num_spatial_dims=n,
            output_channels=4 * self.output_channels,
            kernel_shape=self.kernel_shape,
            name="hidden_to_hidden",
        )
        gates = input_to_hidden(inputs) + hidden_to_hidden(state.hidden)
        hidden, cell = rec.lstm_update(gates, state.cell)
        return hidden, rec.LSTMState(hidden, cell)

    def initial_state(self, batch_size: int | None) -> rec.LSTMState:
        """Zero state.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          ``LSTMState`` of float32 zeros, each ``[B, *input_shape, C]`` (no ``B`` when
          ``batch_size`` is None).
        """
        rec._check_batch_size(rec._where(self), batch_size)
        shape = (*self.input_shape, self.output_channels)
        return rec.add_batch(rec.LSTMState(jnp.zeros(shape), jnp.zeros(shape)), batch_size)


class Conv1DLSTM(ConvNDLSTM):
    """1-D convolutional LSTM core (inputs ``[B, W, C_in]``); see :class:`ConvNDLSTM`.

    Creates ``input_to_hidden`` (``w`` ``[k, C_in, 4C]``, ``b`` ``[4C]``) and
    ``hidden_to_hidden`` (``w`` ``[k, C, 4C]``, ``b`` ``[4C]``) under ``conv1_dlstm``.

    References:
      Shi et al. (2015), Convolutional LSTM Network: A Machine Learning Approach for
      Precipitation Nowcasting, NeurIPS. https://arxiv.org/abs/1506.04214

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.Conv1DLSTM([6], output_channels=4, kernel_shape=3)
      ...   return core(x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 6, 3])
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape
      (2, 6, 4)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: int | Sequence[int],
        name: str | None = None,
    ):
        """Constructs a Conv1DLSTM.

        Args:
          input_shape: ``[W]``, the spatial size of the input.
          output_channels: ``C``, channels of the hidden and cell states.
          kernel_shape: kernel width (int or 1 int).
          name: module name; defaults to ``conv1_dlstm``.
        """
        super().__init__(1, input_shape, output_channels, kernel_shape, name=name)


class Conv2DLSTM(ConvNDLSTM):
    """2-D convolutional LSTM core (inputs ``[B, H, W, C_in]``); see :class:`ConvNDLSTM`.

    Creates ``input_to_hidden`` (``w`` ``[kh, kw, C_in, 4C]``, ``b`` ``[4C]``) and
    ``hidden_to_hidden`` (``w`` ``[kh, kw, C, 4C]``, ``b`` ``[4C]``) under ``conv2_dlstm``.

    References:
      Shi et al. (2015), Convolutional LSTM Network: A Machine Learning Approach for
      Precipitation Nowcasting, NeurIPS. https://arxiv.org/abs/1506.04214

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.Conv2DLSTM([8, 8], output_channels=4, kernel_shape=3)
      ...   return hk.dynamic_unroll(core, x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([5, 2, 8, 8, 3])  # [T, B, H, W, C]
      >>> params = f.init(jax.random.PRNGKey(0), x)
      >>> params["conv2_dlstm/hidden_to_hidden"]["w"].shape
      (3, 3, 4, 16)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: int | Sequence[int],
        name: str | None = None,
    ):
        """Constructs a Conv2DLSTM.

        Args:
          input_shape: ``[H, W]``, the spatial sizes of the input.
          output_channels: ``C``, channels of the hidden and cell states.
          kernel_shape: kernel size (int or 2 ints).
          name: module name; defaults to ``conv2_dlstm``.
        """
        super().__init__(2, input_shape, output_channels, kernel_shape, name=name)


class Conv3DLSTM(ConvNDLSTM):
    """3-D convolutional LSTM core (inputs ``[B, D, H, W, C_in]``); see :class:`ConvNDLSTM`.

    Creates ``input_to_hidden`` (``w`` ``[kd, kh, kw, C_in, 4C]``, ``b`` ``[4C]``) and
    ``hidden_to_hidden`` (``w`` ``[kd, kh, kw, C, 4C]``, ``b`` ``[4C]``) under ``conv3_dlstm``.

    References:
      Shi et al. (2015), Convolutional LSTM Network: A Machine Learning Approach for
      Precipitation Nowcasting, NeurIPS. https://arxiv.org/abs/1506.04214

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.Conv3DLSTM([2, 3, 3], output_channels=2, kernel_shape=2)
      ...   return core(x, core.initial_state(None))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 3, 3, 1])  # unbatched [D, H, W, C]
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape
      (2, 3, 3, 2)
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: int | Sequence[int],
        name: str | None = None,
    ):
        """Constructs a Conv3DLSTM.

        Args:
          input_shape: ``[D, H, W]``, the spatial sizes of the input.
          output_channels: ``C``, channels of the hidden and cell states.
          kernel_shape: kernel size (int or 3 ints).
          name: module name; defaults to ``conv3_dlstm``.
        """
        super().__init__(3, input_shape, output_channels, kernel_shape, name=name)


from haiku_core._src.utils import set_public_module  # noqa: E402

# ConvNDLSTM is not exported at the top level (as upstream); it keeps its private path.
set_public_module(globals(), ["Conv1DLSTM", "Conv2DLSTM", "Conv3DLSTM"], "haiku_core")
