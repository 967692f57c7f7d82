"""Recurrent cores: RNNCore, VanillaRNN, LSTM, GRU, DeepRNN, ResetCore, IdentityCore.

A *core* is a module with ``__call__(inputs, prev_state) -> (outputs, next_state)`` and
``initial_state(batch_size)``. ``static_unroll`` and ``dynamic_unroll`` (``unroll.py``) run a
core over a sequence. Parameter names, shapes, creation order and numerics follow dm-haiku
0.0.17 so that checkpoints move across unchanged (see ``shared/api/haiku.md``, Appendix B).

Convolutional LSTMs live in ``conv_lstm.py``.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from haiku_core._src import base, basic, errors
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module

__all__ = [
    "GRU",
    "LSTM",
    "DeepRNN",
    "IdentityCore",
    "LSTMState",
    "RNNCore",
    "ResetCore",
    "VanillaRNN",
    "deep_rnn_with_skip_connections",
]


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


class _NegativeBatchSizeError(TypeError, ValueError):
    """A negative ``initial_state`` batch size (catchable as TypeError or ValueError)."""


def _check_batch_size(where: str, batch_size: Any) -> None:
    """Static check of an ``initial_state`` batch size (``None`` or an int >= 0).

    A batch size of 0 is valid and gives states with a leading axis of size 0.
    """
    if batch_size is None:
        return
    try:
        if isinstance(batch_size, bool):
            raise TypeError
        value = operator.index(batch_size)
    except TypeError:
        raise TypeError(
            f"{where}: `batch_size` must be an int or None, got {type(batch_size).__name__} "
            f"({batch_size!r})."
        ) from None
    if value < 0:
        raise _NegativeBatchSizeError(f"{where}: `batch_size` must be >= 0 (or None), got {value}.")


def add_batch(tree: Any, batch_size: int | None) -> Any:
    """Broadcasts every leaf of ``tree`` to gain a leading batch dimension.

    Args:
      tree: pytree of arrays, each of shape ``S``.
      batch_size: ``B``, or ``None`` to return ``tree`` unchanged (unbatched).

    Returns:
      The same pytree with leaves of shape ``[B, *S]`` (or unchanged when ``batch_size`` is None).
    """
    if batch_size is None:
        return tree
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (batch_size, *jnp.shape(x))), tree)


def _where(module: hk_module.Module) -> str:
    return errors.module_prefix(module)


def _check_state_shape(where: str, arg: str, state: Any, expected: tuple[int, ...]) -> None:
    shape = tuple(jnp.shape(state))
    if shape != expected:
        raise ValueError(
            f"{where}: `{arg}` must have shape {expected} (the batch dims of `inputs` followed by "
            f"the core's state size), got {shape}. Build it with `core.initial_state(batch_size)` "
            "using the batch size of `inputs` (or None for unbatched inputs)."
        )


def _check_rank(where: str, arg: str, x: Any, ranks: tuple[int, ...], meaning: str) -> None:
    ndim = jnp.ndim(x)
    if ndim not in ranks:
        raise ValueError(
            f"{where}: `{arg}` must have rank {' or '.join(map(str, ranks))} ({meaning}), "
            f"got rank {ndim} with shape {tuple(jnp.shape(x))}."
        )


# ----------------------------------------------------------------------------------------------
# Base class
# ----------------------------------------------------------------------------------------------


class RNNCore(hk_module.Module, abc.ABC):
    """Abstract base class of recurrent cores.

    A core maps ``(inputs, prev_state)`` to ``(outputs, next_state)`` for one time step, and
    knows how to build its starting state. Subclasses implement both methods; unroll them over a
    sequence with :func:`dynamic_unroll` or :func:`static_unroll`.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> class Counter(hk.RNNCore):
      ...   def __call__(self, inputs, prev_state):
      ...     return inputs + prev_state, prev_state + 1
      ...   def initial_state(self, batch_size):
      ...     return jnp.zeros(()) if batch_size is None else jnp.zeros((batch_size,))
      >>> f = hk.transform(lambda x: hk.static_unroll(Counter(), x, jnp.zeros(()))[0])
      >>> f.apply({}, None, jnp.ones(3)).tolist()
      [1.0, 2.0, 3.0]
    """

    @abc.abstractmethod
    def __call__(self, inputs: Any, prev_state: Any) -> tuple[Any, Any]:
        """Runs one step of the core.

        Args:
          inputs: pytree of arrays, each ``[B, ...]`` (or ``[...]`` unbatched), for one step.
          prev_state: the previous state, as returned by ``initial_state`` or a previous call.

        Returns:
          ``(outputs, next_state)`` for this step.
        """

    @abc.abstractmethod
    def initial_state(self, batch_size: int | None) -> Any:
        """Builds the state at the start of a sequence.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state (no leading batch dimension).

        Returns:
          The starting state; leaves have a leading ``[B]`` dimension unless ``batch_size`` is
          None.
        """


# ----------------------------------------------------------------------------------------------
# Cores
# ----------------------------------------------------------------------------------------------


class VanillaRNN(RNNCore):
    """Elman recurrent network core with a ReLU non-linearity.

    ``h_t = relu(W_i x_t + b_i + W_h h_{t-1} + b_h)``; the output is ``h_t``, which is also the
    next state. Two :class:`~haiku_core.Linear` children are created on the first call:
    ``linear`` (input to hidden, ``w`` ``[D, H]`` and ``b`` ``[H]``) then ``linear_1`` (hidden to
    hidden, ``w`` ``[H, H]``, plus ``b`` ``[H]`` only when ``double_bias``).

    References:
      Elman (1990), Finding Structure in Time, Cognitive Science 14(2), 179-211.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.VanillaRNN(8)
      ...   return core(x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 3])
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape
      (2, 8)
    """

    def __init__(self, hidden_size: int, double_bias: bool = True, name: str | None = None):
        """Constructs a VanillaRNN core.

        Args:
          hidden_size: ``H``, the size of the hidden state.
          double_bias: whether the hidden-to-hidden projection also has a bias (upstream
            default). The two biases are redundant; ``False`` keeps only the input one.
          name: module name; defaults to ``vanilla_rnn``.
        """
        super().__init__(name=name)
        self.hidden_size = hidden_size
        self.double_bias = double_bias

    def __call__(
        self, inputs: jax.typing.ArrayLike, prev_state: jax.typing.ArrayLike
    ) -> tuple[jax.Array, jax.Array]:
        """Runs one step.

        Args:
          inputs: ``[..., D]`` inputs (typically ``[B, D]``, or ``[D]`` unbatched).
          prev_state: ``[..., H]`` previous hidden state, same leading dims as ``inputs``.

        Returns:
          ``(outputs, next_state)``, both ``[..., H]`` and equal.

        Raises:
          ValueError: if ``inputs`` is a scalar or ``prev_state`` has the wrong shape.
        """
        where = _where(self)
        if jnp.ndim(inputs) < 1:
            raise ValueError(
                f"{where}: `inputs` must have rank >= 1 ([..., D]), got a scalar "
                f"(shape {tuple(jnp.shape(inputs))})."
            )
        _check_state_shape(
            where, "prev_state", prev_state, (*jnp.shape(inputs)[:-1], self.hidden_size)
        )
        input_to_hidden = basic.Linear(self.hidden_size)
        hidden_to_hidden = basic.Linear(self.hidden_size, with_bias=self.double_bias)
        out = jax.nn.relu(input_to_hidden(inputs) + hidden_to_hidden(prev_state))
        return out, out

    def initial_state(self, batch_size: int | None) -> jax.Array:
        """Zero state.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          float32 zeros ``[B, H]`` (``[H]`` when ``batch_size`` is None).
        """
        _check_batch_size(_where(self), batch_size)
        return add_batch(jnp.zeros([self.hidden_size]), batch_size)


class LSTMState(NamedTuple):
    """State of an :class:`LSTM` (or a convolutional LSTM).

    Attributes:
      hidden: ``[B, H]`` hidden state ``h`` (also the core's output).
      cell: ``[B, H]`` memory cell ``c``.
    """

    hidden: jax.Array
    cell: jax.Array


def _check_lstm_state(where: str, state: Any, expected: tuple[int, ...]) -> None:
    if not (hasattr(state, "hidden") and hasattr(state, "cell")):
        raise TypeError(
            f"{where}: `prev_state` must be an LSTMState(hidden, cell), got "
            f"{type(state).__name__}. Build it with `core.initial_state(batch_size)`."
        )
    _check_state_shape(where, "prev_state.hidden", state.hidden, expected)
    _check_state_shape(where, "prev_state.cell", state.cell, expected)


def lstm_update(gates: jax.Array, prev_cell: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Shared LSTM cell update from fused pre-activations ``[..., 4H]`` (order i, g, f, o).

    The forget gate gets +1 before its sigmoid (Jozefowicz et al., 2015).
    """
    i, g, f, o = jnp.split(gates, 4, axis=-1)
    f = jax.nn.sigmoid(f + 1)
    cell = f * prev_cell + jax.nn.sigmoid(i) * jnp.tanh(g)
    hidden = jax.nn.sigmoid(o) * jnp.tanh(cell)
    return hidden, cell


class LSTM(RNNCore):
    """Long short-term memory core.

    One :class:`~haiku_core.Linear` child ``linear`` maps the concatenation ``[x_t, h_{t-1}]``
    (``w`` ``[D + H, 4H]``, rows inputs first, and ``b`` ``[4H]``) to the four gate
    pre-activations, in column order input ``i``, cell candidate ``g``, forget ``f``, output
    ``o``. Then::

        c_t = sigmoid(f + 1) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t)

    The ``+ 1`` forget-gate bias is added at run time and is not stored in ``b``. The output is
    ``h_t``; the state is ``LSTMState(h_t, c_t)``.

    References:
      Hochreiter & Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8).
      Gers, Schmidhuber & Cummins (2000), Learning to Forget: Continual Prediction with LSTM,
      Neural Computation 12(10).
      Jozefowicz, Zaremba & Sutskever (2015), An Empirical Exploration of Recurrent Network
      Architectures, ICML.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.LSTM(8)
      ...   return core(x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 3])
      >>> params = f.init(jax.random.PRNGKey(0), x)
      >>> params["lstm/linear"]["w"].shape
      (11, 32)
    """

    def __init__(self, hidden_size: int, name: str | None = None):
        """Constructs an LSTM core.

        Args:
          hidden_size: ``H``, the size of the hidden and cell states.
          name: module name; defaults to ``lstm``.
        """
        super().__init__(name=name)
        self.hidden_size = hidden_size

    def __call__(
        self, inputs: jax.typing.ArrayLike, prev_state: LSTMState
    ) -> tuple[jax.Array, LSTMState]:
        """Runs one step.

        Args:
          inputs: ``[B, D]`` inputs (or ``[D]`` unbatched).
          prev_state: ``LSTMState`` with ``hidden`` and ``cell`` both ``[B, H]`` (``[H]``).

        Returns:
          ``(h_t, LSTMState(h_t, c_t))`` with ``h_t``, ``c_t`` shaped ``[B, H]`` (``[H]``).

        Raises:
          ValueError: if ``inputs`` is not rank 1 or 2, or the state's shapes do not match.
          TypeError: if ``prev_state`` is not an ``LSTMState``-like (hidden, cell) pair.
        """
        where = _where(self)
        _check_rank(where, "inputs", inputs, (1, 2), "[B, D] or unbatched [D]")
        _check_lstm_state(where, prev_state, (*jnp.shape(inputs)[:-1], self.hidden_size))
        x_and_h = jnp.concatenate([inputs, prev_state.hidden], axis=-1)
        gates = basic.Linear(4 * self.hidden_size)(x_and_h)
        hidden, cell = lstm_update(gates, prev_state.cell)
        return hidden, LSTMState(hidden, cell)

    def initial_state(self, batch_size: int | None) -> LSTMState:
        """Zero state.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          ``LSTMState`` of float32 zeros, each ``[B, H]`` (``[H]`` when ``batch_size`` is None).
        """
        _check_batch_size(_where(self), batch_size)
        state = LSTMState(jnp.zeros([self.hidden_size]), jnp.zeros([self.hidden_size]))
        return add_batch(state, batch_size)


class GRU(RNNCore):
    """Gated recurrent unit core.

    Parameters ``w_i`` ``[D, 3H]``, ``w_h`` ``[H, 3H]`` and ``b`` ``[3H]`` are created in the
    dtype of ``inputs``, with column blocks update ``z``, reset ``r``, candidate ``a``::

        z = sigmoid(x W_iz + h W_hz + b_z)
        r = sigmoid(x W_ir + h W_hr + b_r)
        a = tanh(x W_ia + (r * h) W_ha + b_a)
        h_t = (1 - z) * h + z * a

    The reset gate multiplies the previous state before the recurrent projection. Output and
    next state are both ``h_t``.

    References:
      Cho et al. (2014), Learning Phrase Representations using RNN Encoder-Decoder for
      Statistical Machine Translation, EMNLP. https://arxiv.org/abs/1406.1078
      Chung et al. (2014), Empirical Evaluation of Gated Recurrent Neural Networks on Sequence
      Modeling. https://arxiv.org/abs/1412.3555

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.GRU(4)
      ...   return core(x, core.initial_state(None))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([3])  # unbatched
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape
      (4,)
    """

    def __init__(
        self,
        hidden_size: int,
        w_i_init: hk_init.Initializer | None = None,
        w_h_init: hk_init.Initializer | None = None,
        b_init: hk_init.Initializer | None = None,
        name: str | None = None,
    ):
        """Constructs a GRU core.

        Args:
          hidden_size: ``H``, the size of the hidden state.
          w_i_init: initializer of ``w_i``; default ``VarianceScaling()`` (truncated normal,
            fan-in, scale 1).
          w_h_init: initializer of ``w_h``; default ``VarianceScaling()``.
          b_init: initializer of ``b``; default zeros.
          name: module name; defaults to ``gru``.
        """
        super().__init__(name=name)
        self.hidden_size = hidden_size
        self.w_i_init: hk_init.Initializer = w_i_init or hk_init.VarianceScaling()
        self.w_h_init: hk_init.Initializer = w_h_init or hk_init.VarianceScaling()
        self.b_init: hk_init.Initializer = b_init or jnp.zeros

    def __call__(
        self, inputs: jax.typing.ArrayLike, state: jax.typing.ArrayLike
    ) -> tuple[jax.Array, jax.Array]:
        """Runs one step.

        Args:
          inputs: ``[B, D]`` inputs (or ``[D]`` unbatched).
          state: ``[B, H]`` previous hidden state (``[H]`` unbatched).

        Returns:
          ``(outputs, next_state)``, both ``[B, H]`` (``[H]``) and equal.

        Raises:
          ValueError: if ``inputs`` is not rank 1 or 2, or ``state`` has the wrong shape.
        """
        where = _where(self)
        _check_rank(where, "inputs", inputs, (1, 2), "[B, D] or unbatched [D]")
        hs = self.hidden_size
        _check_state_shape(where, "state", state, (*jnp.shape(inputs)[:-1], hs))
        inputs = jnp.asarray(inputs)
        state = jnp.asarray(state)
        dtype = inputs.dtype
        w_i = base.get_parameter("w_i", [inputs.shape[-1], 3 * hs], dtype, init=self.w_i_init)
        w_h = base.get_parameter("w_h", [hs, 3 * hs], dtype, init=self.w_h_init)
        b = base.get_parameter("b", [3 * hs], dtype, init=self.b_init)
        w_h_zr, w_h_a = w_h[:, : 2 * hs], w_h[:, 2 * hs :]
        b_zr, b_a = b[: 2 * hs], b[2 * hs :]
        # Biases are broadcast explicitly (no implicit rank promotion).
        lead = (1,) * (inputs.ndim - 1)
        b_zr, b_a = jnp.reshape(b_zr, lead + b_zr.shape), jnp.reshape(b_a, lead + b_a.shape)
        x_proj = inputs @ w_i
        x_zr, x_a = x_proj[..., : 2 * hs], x_proj[..., 2 * hs :]
        zr = jax.nn.sigmoid(x_zr + state @ w_h_zr + b_zr)
        z, r = zr[..., :hs], zr[..., hs:]
        a = jnp.tanh(x_a + (r * state) @ w_h_a + b_a)
        next_state = (1 - z) * state + z * a
        return next_state, next_state

    def initial_state(self, batch_size: int | None) -> jax.Array:
        """Zero state.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          float32 zeros ``[B, H]`` (``[H]`` when ``batch_size`` is None).
        """
        _check_batch_size(_where(self), batch_size)
        return add_batch(jnp.zeros([self.hidden_size]), batch_size)


class IdentityCore(RNNCore):
    """Core that returns its inputs unchanged and carries an empty state ``()``.

    Useful as a placeholder where a core is expected (e.g. in a :class:`DeepRNN`).

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> f = hk.transform(lambda x: hk.IdentityCore()(x, ()))
      >>> f.apply({}, None, jnp.ones([2]))[0].tolist()
      [1.0, 1.0]
    """

    def __call__(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        """Returns ``(inputs, state)``.

        Args:
          inputs: any pytree.
          state: any state (normally ``()``).

        Returns:
          ``(inputs, state)`` unchanged.
        """
        return inputs, state

    def initial_state(self, batch_size: int | None) -> tuple[()]:
        """Returns the empty state ``()``.

        Args:
          batch_size: ignored (``B`` or None).

        Returns:
          ``()``.
        """
        del batch_size
        return ()


class ResetCore(RNNCore):
    """Wraps a core so that its state can be reset to the initial state mid-sequence.

    Inputs are a pair ``(x, should_reset)``. Wherever ``should_reset`` is true, the wrapped
    core receives ``core.initial_state(B)`` instead of ``state`` (per batch element), then runs
    on ``x`` as usual. Typical use: reset at episode boundaries inside one unroll.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x, should_reset):
      ...   core = hk.ResetCore(hk.LSTM(4))
      ...   return hk.dynamic_unroll(core, (x, should_reset), core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x, r = jnp.ones([5, 2, 3]), jnp.zeros([5, 2], bool)
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x, r), None, x, r)
      >>> out.shape
      (5, 2, 4)
    """

    def __init__(self, core: RNNCore, name: str | None = None):
        """Constructs a ResetCore.

        Args:
          core: the core to wrap.
          name: module name; defaults to ``reset_core``.
        """
        super().__init__(name=name)
        self.core = core

    def __call__(self, inputs: tuple[Any, Any], state: Any) -> tuple[Any, Any]:
        """Runs one step, resetting the state first where requested.

        Args:
          inputs: pair ``(x, should_reset)``: ``x`` is the wrapped core's input; ``should_reset``
            is a bool ``[B]`` (``[]`` unbatched) array, or a pytree of such arrays with the
            structure of ``state``.
          state: the wrapped core's state, leaves ``[B, ...]`` (``[...]`` unbatched).

        Returns:
          The wrapped core's ``(outputs, next_state)``.

        Raises:
          TypeError: if ``inputs`` is not a pair.
          ValueError: if ``should_reset`` has a rank other than 0 or 1, or its batch size or the
            initial state's shapes disagree with ``state``.
        """
        where = _where(self)
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise TypeError(
                f"{where}: `inputs` must be a pair (x, should_reset), got {type(inputs).__name__}."
            )
        x, should_reset = inputs
        state_leaves, state_def = jax.tree.flatten(state)
        if jax.tree_util.treedef_is_leaf(jax.tree.structure(should_reset)):
            reset_leaves = [should_reset] * len(state_leaves)
        else:
            reset_leaves, reset_def = jax.tree.flatten(should_reset)
            if reset_def != state_def:
                raise ValueError(
                    f"{where}: `should_reset` must be one array or a pytree with the structure "
                    f"of `state`; got structure {reset_def} vs {state_def}."
                )
        if not state_leaves:
            return self.core(x, state)
        ndims = {jnp.ndim(r) for r in reset_leaves}
        if not ndims <= {0, 1}:
            raise ValueError(
                f"{where}: `should_reset` must be [B] (or [] unbatched), got shapes "
                f"{[tuple(jnp.shape(r)) for r in reset_leaves]}."
            )
        first = reset_leaves[0]
        batch_size = None if jnp.ndim(first) == 0 else jnp.shape(first)[0]
        init_leaves, init_def = jax.tree.flatten(self.core.initial_state(batch_size))
        if init_def != state_def:
            raise ValueError(
                f"{where}: `state` must have the structure of "
                f"`core.initial_state({batch_size})`, got {state_def} vs {init_def}."
            )
        new_leaves = []
        for s, i, r in zip(state_leaves, init_leaves, reset_leaves, strict=True):
            if jnp.shape(s) != jnp.shape(i):
                raise ValueError(
                    f"{where}: `state` leaf has shape {tuple(jnp.shape(s))} but "
                    f"`core.initial_state({batch_size})` gives {tuple(jnp.shape(i))}; the batch "
                    f"size is taken from `should_reset` (shape {tuple(jnp.shape(first))})."
                )
            r = jnp.asarray(r)
            if r.ndim and r.shape[0] != jnp.shape(s)[0]:
                raise ValueError(
                    f"{where}: `should_reset` has batch size {r.shape[0]} but a `state` leaf has "
                    f"shape {tuple(jnp.shape(s))}."
                )
            r = jnp.reshape(r, r.shape + (1,) * (jnp.ndim(s) - r.ndim))
            s = jnp.asarray(s)
            new_leaves.append(jnp.where(r, jnp.asarray(i).astype(s.dtype), s))
        state = jax.tree.unflatten(state_def, new_leaves)
        return self.core(x, state)

    def initial_state(self, batch_size: int | None) -> Any:
        """The wrapped core's initial state.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          ``core.initial_state(batch_size)``.
        """
        return self.core.initial_state(batch_size)


class _DeepRNN(RNNCore):
    """Stack of cores and plain callables; see :class:`DeepRNN`."""

    def __init__(
        self,
        layers: Sequence[Any],
        skip_connections: bool,
        concat_final_output_if_skip: bool = True,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.layers: tuple[Any, ...] = tuple(layers)
        self.skip_connections = skip_connections
        self.concat_final_output_if_skip = concat_final_output_if_skip
        if skip_connections:
            for layer in self.layers:
                if not isinstance(layer, RNNCore):
                    raise ValueError(
                        "haiku_core.deep_rnn_with_skip_connections: every entry of `layers` must "
                        f"be an hk.RNNCore when skip connections are used, got "
                        f"{type(layer).__name__} ({layer!r}). Wrap plain functions in a core "
                        "or use hk.DeepRNN."
                    )

    def _num_cores(self) -> int:
        return sum(isinstance(layer, RNNCore) for layer in self.layers)

    def __call__(self, inputs: Any, state: Sequence[Any]) -> tuple[Any, tuple[Any, ...]]:
        """Runs one step through every layer.

        Args:
          inputs: input pytree for the first layer, leaves ``[B, D]``.
          state: tuple with one state per core in ``layers`` (plain callables have none).

        Returns:
          ``(outputs, next_state)``; ``next_state`` is a tuple like ``state``.

        Raises:
          ValueError: if ``state`` does not have one entry per core.
        """
        where = _where(self)
        n = self._num_cores()
        if not isinstance(state, (tuple, list)) or len(state) != n:
            got = f"{len(state)} entries" if isinstance(state, (tuple, list)) else type(state)
            raise ValueError(
                f"{where}: `state` must be a tuple with one state per core ({n} cores), "
                f"got {got}. Build it with `initial_state(batch_size)`."
            )

        def concat(*xs):
            return jnp.concatenate(xs, axis=-1)

        current = inputs
        outputs, next_states = [], []
        core_idx = 0
        for idx, layer in enumerate(self.layers):
            if self.skip_connections and idx > 0:
                current = jax.tree.map(concat, inputs, current)
            if isinstance(layer, RNNCore):
                current, next_state = layer(current, state[core_idx])
                outputs.append(current)
                next_states.append(next_state)
                core_idx += 1
            else:
                current = layer(current)
        if self.skip_connections and self.concat_final_output_if_skip:
            output = jax.tree.map(concat, *outputs)
        else:
            output = current
        return output, tuple(next_states)

    def initial_state(self, batch_size: int | None) -> tuple[Any, ...]:
        """Tuple of every core's initial state, in layer order.

        Args:
          batch_size: ``B``, or ``None`` for an unbatched state.

        Returns:
          ``tuple(core.initial_state(batch_size) for each core)``.
        """
        return tuple(
            layer.initial_state(batch_size) for layer in self.layers if isinstance(layer, RNNCore)
        )


class DeepRNN(_DeepRNN):
    """Chains cores and plain callables into one core.

    ``layers`` run in order on each step; each core consumes its own entry of the state tuple
    and plain callables (e.g. ``jax.nn.relu``) are applied to the running value. The output is
    the last layer's output and the state is the tuple of the cores' states. Layers built
    outside the DeepRNN keep their own (top-level) names.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.DeepRNN([hk.LSTM(4), jax.nn.relu, hk.GRU(3)])
      ...   return core(x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 5])
      >>> params = f.init(jax.random.PRNGKey(0), x)
      >>> list(params)
      ['lstm/linear', 'gru']
    """

    def __init__(self, layers: Sequence[Any], name: str | None = None):
        """Constructs a DeepRNN.

        Args:
          layers: sequence of :class:`RNNCore` and plain ``f(x) -> y`` callables.
          name: module name; defaults to ``deep_rnn``.
        """
        super().__init__(layers, skip_connections=False, name=name)


def deep_rnn_with_skip_connections(layers: Sequence[RNNCore], name: str | None = None) -> RNNCore:
    """Builds a deep core with skip connections.

    Every core after the first receives ``concat([x_t, previous core's output], -1)``, and the
    output is the concatenation of all cores' outputs on the last axis.

    Args:
      layers: sequence of :class:`RNNCore` (plain callables are not allowed).
      name: module name of the returned core.

    Returns:
      An :class:`RNNCore` whose state is the tuple of the cores' states and whose output is
      ``[B, sum of the cores' output sizes]``.

    Raises:
      ValueError: if an entry of ``layers`` is not an :class:`RNNCore`.

    References:
      Graves (2013), Generating Sequences With Recurrent Neural Networks.
      https://arxiv.org/abs/1308.0850

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.deep_rnn_with_skip_connections([hk.LSTM(4), hk.GRU(2)])
      ...   return core(x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 3])
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape
      (2, 6)
    """
    return _DeepRNN(layers, skip_connections=True, name=name)


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")


def __getattr__(name: str) -> Any:
    """Lazily exposes ``ConvNDLSTM`` here too (it lives in ``conv_lstm``).

    dm-haiku defines its convolutional LSTMs next to the other cores; the lazy lookup
    keeps that location working without an import cycle (``conv_lstm`` imports this
    module).
    """
    if name == "ConvNDLSTM":
        from haiku_core._src.conv_lstm import ConvNDLSTM

        return ConvNDLSTM
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
