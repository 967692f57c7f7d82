"""Pop-Art: adaptive target normalisation that preserves the outputs of a linear head.

ART ("adaptively rescaling targets") tracks per-output first and second moments of the
targets; POP ("preserving outputs precisely") rewrites the last linear layer so that its
unnormalised outputs are unchanged by a change of statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rlax_core._src import checks
from rlax_core._src.tree_util import checks_raise_assertion_errors


class PopArtState(NamedTuple):
    """Running target statistics, one entry per output head.

    Fields:
      shift: [K] running mean of the targets.
      scale: [K] clipped standard deviation ``sqrt(second_moment - shift^2)``.
      second_moment: [K] running mean of the squared targets.
    """

    shift: jax.Array
    scale: jax.Array
    second_moment: jax.Array


class PopArtOutput(NamedTuple):
    """Outputs of ``unnormalize_linear``.

    Fields:
      normalized: [...] selected outputs of the linear head (normalised space).
      unnormalized: [...] the same values mapped back with the statistics.
    """

    normalized: jax.Array
    unnormalized: jax.Array


def _gather(values: ArrayLike, indices: ArrayLike) -> jax.Array:
    """``values[indices]`` with JAX indexing (negative indices wrap, others are clamped)."""
    return jnp.asarray(values)[jnp.asarray(indices)]


def _broadcast_all(*arrays: ArrayLike) -> list[jax.Array]:
    """Broadcasts explicitly (NumPy rules) so no implicit rank promotion happens."""
    arrays_ = [jnp.asarray(a) for a in arrays]
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays_))
    return [jnp.broadcast_to(a, shape) for a in arrays_]


def _all_host(*xs: Any) -> bool:
    """True when every argument is a NumPy array/scalar or a Python number (no JAX array)."""
    return all(isinstance(x, (np.ndarray, np.generic, int, float)) for x in xs)


def _host_broadcast_all(*arrays: Any) -> list[np.ndarray]:
    arrays_ = [np.asarray(a) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays_))
    return [np.broadcast_to(a, shape) for a in arrays_]


def _axis_names(axis_name: Any) -> tuple[Any, ...]:
    if axis_name is None:
        return ()
    if isinstance(axis_name, str):
        return (axis_name,)
    return tuple(axis_name)


def _cross_replica_scatter_add(
    source: ArrayLike, indices: ArrayLike, updates: ArrayLike, axis_name: Any
) -> jax.Array:
    """``source[k] + sum of updates[i] over i with indices[i] == k``, summed over devices.

    Args:
      source: [K] values to add to.
      indices: [...] integer slot of every update; values outside ``[0, K)`` add nothing.
      updates: [...] values, same shape as ``indices``.
      axis_name: ``None``, one mapped axis name or an iterable of them; the per-device sums
        are ``psum``-ed over each named axis in turn.

    Returns:
      [K] ``source`` plus the aggregated updates.
    """
    source = jnp.asarray(source)
    flat_idx = jnp.reshape(jnp.asarray(indices), (-1,))
    flat_upd = jnp.reshape(jnp.asarray(updates), (-1,))
    slots = jax.nn.one_hot(flat_idx, source.shape[0], dtype=jnp.float32)  # [N, K]
    totals = jnp.sum(flat_upd[:, None] * slots, axis=0)
    for name in _axis_names(axis_name):
        totals = jax.lax.psum(totals, name)
    return source + totals


def art(
    state: PopArtState,
    targets: ArrayLike,
    indices: ArrayLike,
    step_size: float,
    scale_lb: float,
    scale_ub: float,
    axis_name: Any = None,
) -> PopArtState:
    """ART step: moves the statistics of each indexed output towards its targets.

    For every output ``k``: ``shift_k += step_size * sum_{i: idx_i = k} (t_i - shift_k)`` and
    likewise for the second moment with ``t_i^2``; sums run over all target elements and,
    with ``axis_name``, over all devices (``psum``), so a sharded batch gives the same
    result as the full batch on one device. The variance ``m2 - shift^2`` is clipped to
    ``[scale_lb^2, scale_ub^2]`` before its square root is taken, so the scale is always
    finite and within bounds. The new statistics are gradient-stopped.

    Args:
      state: current ``PopArtState`` with [K] fields.
      targets: [...] unnormalised targets (any shape, scalars included).
      indices: [...] integer output index of each target, same shape as ``targets``.
        Indices outside ``[0, K)`` leave the statistics unchanged.
      step_size: statistics step size.
      scale_lb: lower bound of the scale.
      scale_ub: upper bound of the scale.
      axis_name: optional mapped axis name, or iterable of names (``pmap``/``shard_map``),
        to aggregate over.

    Returns:
      The updated ``PopArtState``.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if the shapes differ.
      DtypeAssertionError: (a ``TypeError``/``AssertionError``) if ``indices`` is not integer.

    References:
      van Hasselt et al. (2016), Learning values across many orders of magnitude,
      https://arxiv.org/abs/1602.07714. Hessel et al. (2019), Multi-task Deep RL with
      PopArt, https://arxiv.org/abs/1809.04474.

    Examples:
      >>> print(art(PopArtState(jnp.zeros(2), jnp.ones(2), jnp.ones(2)), jnp.array([3.0]), jnp.array([1]), 0.5, 0.1, 10.0).shift)
      [0.  1.5]
    """
    fn = "rlax_core.art"
    with checks_raise_assertion_errors():
        checks.check_equal_shape(fn, targets=targets, indices=indices)
        checks.check_type(fn, indices=(indices, "int"))
    targets = jnp.asarray(targets)
    indices = jnp.asarray(indices)
    shift_step = step_size * (targets - _gather(state.shift, indices))
    new_shift = _cross_replica_scatter_add(state.shift, indices, shift_step, axis_name)
    m2_step = step_size * (jnp.square(targets) - _gather(state.second_moment, indices))
    new_m2 = _cross_replica_scatter_add(state.second_moment, indices, m2_step, axis_name)
    variance = jnp.clip(new_m2 - jnp.square(new_shift), scale_lb**2, scale_ub**2)
    new_state = PopArtState(new_shift, jnp.sqrt(variance), new_m2)
    return jax.tree.map(jax.lax.stop_gradient, new_state)


def pop(
    params: Mapping[str, ArrayLike], old: PopArtState, new: PopArtState
) -> dict[str, jax.Array | np.ndarray]:
    """POP step: rewrites a linear head so its unnormalised outputs are unchanged.

    ``w' = w * old.scale / new.scale`` (the ratio broadcast to ``w``'s shape) and
    ``b' = (old.scale * b + old.shift - new.shift) / new.scale`` (NumPy broadcasting, so a
    single set of statistics may be spread over a wider head).

    Args:
      params: mapping with ``"w"`` [D, K] (or [K]) and ``"b"`` [K] of the last linear
        layer; other keys are dropped.
      old: statistics the params were trained with ([K] or [1] fields).
      new: new statistics (same shapes as ``old``).

    Returns:
      A dict with the rescaled ``"w"`` (a JAX array) and ``"b"`` (a NumPy array when ``b``
      and all statistics are NumPy arrays, a JAX array otherwise).

    Raises:
      KeyError: if ``params`` lacks ``w`` or ``b``.
      ValueError: if the statistics do not broadcast against ``w``/``b``.

    Examples:
      >>> print(pop({'w': jnp.ones((1, 1)), 'b': jnp.zeros(1)}, PopArtState(jnp.zeros(1), jnp.ones(1), jnp.ones(1)), PopArtState(jnp.ones(1), jnp.full(1, 2.0), jnp.ones(1)))['b'])
      [-0.5]
    """
    fn = "rlax_core.pop"
    missing = [k for k in ("w", "b") if k not in params]
    if missing:
        raise KeyError(f"{fn}: `params` must hold 'w' and 'b', missing {missing}.")
    w = jnp.asarray(params["w"])
    ratio = jnp.asarray(old.scale) / jnp.asarray(new.scale)
    b_args = (params["b"], old.scale, old.shift, new.shift, new.scale)
    broadcast = _host_broadcast_all if _all_host(*b_args) else _broadcast_all
    try:
        w_new = w * jnp.broadcast_to(ratio, w.shape)
        b_old, old_scale, old_shift, new_shift, new_scale = broadcast(*b_args)
    except ValueError as e:
        raise ValueError(
            f"{fn}: the statistics (scale shape {jnp.shape(old.scale)}) must broadcast to "
            f"`w` {w.shape} and `b` {jnp.shape(params['b'])}: {e}"
        ) from None
    b_new = (old_scale * b_old + old_shift - new_shift) / new_scale
    return {"w": w_new, "b": b_new}


def popart(
    num_outputs: int,
    step_size: float | None,
    scale_lb: float,
    scale_ub: float,
    axis_name: Any = None,
) -> tuple[Callable[[], PopArtState], Callable[..., tuple[Any, PopArtState]]]:
    """Builds ``(init_fn, update_fn)`` for Pop-Art.

    ``init_fn() -> PopArtState`` (shift 0, scale 1, second moment 1 for every output);
    ``update_fn(params, state, targets, indices) -> (new_params, new_state)`` applies ART
    then POP to the linear head ``params`` (``{"w": [D, K], "b": [K]}``). With
    ``step_size=None`` Pop-Art is switched off: ``update_fn`` returns ``params`` and
    ``state`` unchanged.

    Args:
      num_outputs: K, number of output heads.
      step_size: statistics step size, or ``None`` to disable the update.
      scale_lb: lower bound of the scale.
      scale_ub: upper bound of the scale.
      axis_name: optional mapped axis name (or iterable of names) to aggregate statistics
        across devices.

    Returns:
      ``(init_fn, update_fn)``; ``update_fn`` takes ``targets`` and ``indices`` of any
      (equal) shape, scalars included.

    References:
      van Hasselt et al. (2016), Learning values across many orders of magnitude,
      https://arxiv.org/abs/1602.07714.

    Examples:
      >>> init_fn, update_fn = popart(num_outputs=2, step_size=0.1, scale_lb=0.01, scale_ub=100.0)
      >>> print(init_fn().scale)
      [1. 1.]
    """

    def init_fn() -> PopArtState:
        return PopArtState(
            jnp.zeros([num_outputs]), jnp.ones([num_outputs]), jnp.ones([num_outputs])
        )

    def update_fn(
        params: Mapping[str, ArrayLike],
        state: PopArtState,
        targets: ArrayLike,
        indices: ArrayLike,
    ) -> tuple[Any, PopArtState]:
        if step_size is None:
            return params, state
        new_state = art(state, targets, indices, step_size, scale_lb, scale_ub, axis_name)
        new_params = pop(params, state, new_state)
        return new_params, new_state

    return init_fn, update_fn


def normalize(
    state: PopArtState, unnormalized: ArrayLike, indices: ArrayLike
) -> jax.Array | np.ndarray:
    """Maps values to normalised space: ``(x - shift[idx]) / scale[idx]``.

    ``shift[idx]`` and ``scale[idx]`` are broadcast against ``unnormalized`` with NumPy
    rules (e.g. a scalar index for a vector of values).

    Args:
      state: ``PopArtState`` with [K] fields.
      unnormalized: [...] values.
      indices: [...] integer output index (broadcastable against ``unnormalized``);
        negative indices wrap, indices past the end are clamped.

    Returns:
      [...] normalised values (broadcast shape). When every input (``state`` fields,
      values, indices) is a NumPy array or Python number, the computation runs in NumPy:
      the result is a NumPy value of the promoted dtype and an out-of-range index raises
      ``IndexError``.

    Raises:
      ValueError: if the shapes do not broadcast.
      IndexError: for an out-of-range index on the NumPy path.

    Examples:
      >>> print(normalize(PopArtState(jnp.array([1.0]), jnp.array([2.0]), jnp.ones(1)), jnp.array([5.0]), jnp.array([0])))
      [2.]
    """
    if _all_host(unnormalized, state.shift, state.scale, indices):
        # NumPy broadcasting and value-based promotion of Python numbers.
        idx = cast(Any, indices)
        shift, scale = np.asarray(state.shift)[idx], np.asarray(state.scale)[idx]
        return (unnormalized - shift) / scale
    x, shift, scale = _broadcast_all(
        unnormalized, _gather(state.shift, indices), _gather(state.scale, indices)
    )
    return (x - shift) / scale


def unnormalize(
    state: PopArtState, normalized: ArrayLike, indices: ArrayLike
) -> jax.Array | np.ndarray:
    """Maps normalised values back: ``x * scale[idx] + shift[idx]``.

    ``shift[idx]`` and ``scale[idx]`` are broadcast against ``normalized`` with NumPy
    rules (e.g. a scalar index for a vector of values).

    Args:
      state: ``PopArtState`` with [K] fields.
      normalized: [...] values in normalised space.
      indices: [...] integer output index (broadcastable against ``normalized``);
        negative indices wrap, indices past the end are clamped.

    Returns:
      [...] unnormalised values (broadcast shape). All-NumPy inputs are computed in NumPy,
      as in ``normalize``.

    Raises:
      ValueError: if the shapes do not broadcast.
      IndexError: for an out-of-range index on the NumPy path.

    Examples:
      >>> print(unnormalize(PopArtState(jnp.array([1.0]), jnp.array([2.0]), jnp.ones(1)), jnp.array([2.0]), jnp.array([0])))
      [5.]
    """
    if _all_host(normalized, state.shift, state.scale, indices):
        idx = cast(Any, indices)
        shift, scale = np.asarray(state.shift)[idx], np.asarray(state.scale)[idx]
        return scale * normalized + shift
    x, shift, scale = _broadcast_all(
        normalized, _gather(state.shift, indices), _gather(state.scale, indices)
    )
    return scale * x + shift


def unnormalize_linear(state: PopArtState, inputs: ArrayLike, indices: ArrayLike) -> PopArtOutput:
    """Selects one output per row of a linear head and also unnormalises it.

    Args:
      state: ``PopArtState`` with [K] fields.
      inputs: [..., K] outputs of the (normalised) linear head, e.g. [B, K].
      indices: [...] integer index of the output to select, e.g. [B].

    Returns:
      ``PopArtOutput(normalized [...], unnormalized [...])``.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if ``indices`` does not
        match the leading shape of ``inputs``.
      DtypeAssertionError: (a ``TypeError``/``AssertionError``) if ``indices`` is not integer.

    Examples:
      >>> print(unnormalize_linear(PopArtState(jnp.array([1.0, 0.0]), jnp.array([2.0, 1.0]), jnp.ones(2)), jnp.array([[2.0, 7.0]]), jnp.array([0])).unnormalized)
      [5.]
    """
    fn = "rlax_core.unnormalize_linear"
    with checks_raise_assertion_errors():
        checks.check_rank(fn, inputs=(inputs, set(range(1, 33))))
        checks.check_shape(fn, indices=(indices, jnp.shape(inputs)[:-1]))
        checks.check_type(fn, indices=(indices, "int"))
    inputs = jnp.asarray(inputs)
    idx = jnp.asarray(indices)
    normalized = jnp.take_along_axis(inputs, idx[..., None], axis=-1)[..., 0]
    return PopArtOutput(normalized, cast(jax.Array, unnormalize(state, normalized, idx)))
