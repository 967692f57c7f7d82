"""Pop-Art: adaptive target normalisation that preserves the outputs of a linear head.

ART ("adaptively rescaling targets") tracks per-output first and second moments of the
targets; POP ("preserving outputs precisely") rewrites the last linear layer so that its
unnormalised outputs are unchanged by a change of statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks


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
    return jnp.take(values, jnp.asarray(indices).astype(jnp.int32), axis=0)


def _psum(x: jax.Array, axis_name: str | None) -> jax.Array:
    return x if axis_name is None else jax.lax.psum(x, axis_name)


def art(
    state: PopArtState,
    targets: ArrayLike,
    indices: ArrayLike,
    step_size: float,
    scale_lb: float,
    scale_ub: float,
    axis_name=None,
) -> PopArtState:
    """ART step: moves the statistics of each indexed output towards its targets.

    For every output ``k``: ``shift_k += step_size * sum_{i: idx_i = k} (t_i - shift_k)`` and
    likewise for the second moment with ``t_i^2``; sums run over the batch and, with
    ``axis_name``, over all devices (``psum``), so a sharded batch gives the same result
    as the full batch on one device. ``scale = clip(sqrt(m2 - shift^2), scale_lb, scale_ub)``.

    Args:
      state: current ``PopArtState`` with [K] fields.
      targets: [B] unnormalised targets.
      indices: [B] integer output index of each target.
      step_size: statistics step size.
      scale_lb: lower bound of the scale.
      scale_ub: upper bound of the scale.
      axis_name: optional mapped axis name (``pmap``/``shard_map``) to aggregate over.

    Returns:
      The updated ``PopArtState``.

    Raises:
      ValueError: on rank or shape mismatches.

    References:
      van Hasselt et al. (2016), Learning values across many orders of magnitude,
      https://arxiv.org/abs/1602.07714. Hessel et al. (2019), Multi-task Deep RL with
      PopArt, https://arxiv.org/abs/1809.04474.

    Examples:
      >>> print(art(PopArtState(jnp.zeros(2), jnp.ones(2), jnp.ones(2)), jnp.array([3.0]), jnp.array([1]), 0.5, 0.1, 10.0).shift)
      [0.  1.5]
    """
    fn = "rlax_core.art"
    checks.check_rank(fn, targets=(targets, 1), indices=(indices, 1))
    checks.check_equal_shape(fn, targets=targets, indices=indices)
    checks.check_type(fn, indices=(indices, "int"))
    shift = jnp.asarray(state.shift)
    second_moment = jnp.asarray(state.second_moment)
    num_outputs = shift.shape[0]
    targets = jnp.asarray(targets)
    one_hot = jax.nn.one_hot(indices, num_outputs, dtype=targets.dtype)  # [B, K]
    tgt = targets[:, None]
    delta_shift = jnp.sum(one_hot * (tgt - shift[None, :]), axis=0)
    delta_m2 = jnp.sum(one_hot * (jnp.square(tgt) - second_moment[None, :]), axis=0)
    delta_shift = _psum(delta_shift, axis_name)
    delta_m2 = _psum(delta_m2, axis_name)
    new_shift = shift + step_size * delta_shift
    new_m2 = second_moment + step_size * delta_m2
    std = jnp.sqrt(new_m2 - jnp.square(new_shift))
    new_scale = jnp.clip(std, scale_lb, scale_ub)
    return PopArtState(new_shift, new_scale, new_m2)


def pop(params: Mapping[str, ArrayLike], old: PopArtState, new: PopArtState):
    """POP step: rewrites a linear head so its unnormalised outputs are unchanged.

    ``w' = w * old.scale / new.scale`` and
    ``b' = (old.scale * b + old.shift - new.shift) / new.scale``.

    Args:
      params: mapping with ``"w"`` [D, K] and ``"b"`` [K] of the last linear layer.
      old: statistics the params were trained with.
      new: new statistics.

    Returns:
      A dict with the rescaled ``"w"`` and ``"b"``.

    Raises:
      ValueError: if ``params`` lacks ``w``/``b`` or their shapes do not match K.

    Examples:
      >>> print(pop({'w': jnp.ones((1, 1)), 'b': jnp.zeros(1)}, PopArtState(jnp.zeros(1), jnp.ones(1), jnp.ones(1)), PopArtState(jnp.ones(1), jnp.full(1, 2.0), jnp.ones(1)))['b'])
      [-0.5]
    """
    fn = "rlax_core.pop"
    if "w" not in params or "b" not in params:
        raise ValueError(f"{fn}: `params` must hold 'w' and 'b', got keys {sorted(params)}.")
    w, b = jnp.asarray(params["w"]), jnp.asarray(params["b"])
    k = jnp.shape(old.shift)[0]
    checks.check_shape(fn, w=(w, (None, k)), b=(b, (k,)))
    w_new = w * (old.scale / new.scale)[None, :]
    b_new = (old.scale * b + old.shift - new.shift) / new.scale
    return {"w": w_new, "b": b_new}


def popart(
    num_outputs: int, step_size: float, scale_lb: float, scale_ub: float, axis_name=None
) -> tuple[Callable[[], PopArtState], Callable[..., tuple[dict[str, jax.Array], PopArtState]]]:
    """Builds ``(init_fn, update_fn)`` for Pop-Art.

    ``init_fn() -> PopArtState`` (shift 0, scale 1, second moment 1 for every output);
    ``update_fn(params, state, targets, indices) -> (new_params, new_state)`` applies ART
    then POP to the linear head ``params`` (``{"w": [D, K], "b": [K]}``).

    Args:
      num_outputs: K, number of output heads.
      step_size: statistics step size.
      scale_lb: lower bound of the scale.
      scale_ub: upper bound of the scale.
      axis_name: optional mapped axis name to aggregate statistics across devices.

    Returns:
      ``(init_fn, update_fn)``.

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
    ) -> tuple[dict[str, jax.Array], PopArtState]:
        new_state = art(state, targets, indices, step_size, scale_lb, scale_ub, axis_name)
        new_params = pop(params, state, new_state)
        return new_params, new_state

    return init_fn, update_fn


def normalize(state: PopArtState, unnormalized: ArrayLike, indices: ArrayLike) -> jax.Array:
    """Maps values to normalised space: ``(x - shift[idx]) / scale[idx]``.

    Args:
      state: ``PopArtState`` with [K] fields.
      unnormalized: [...] values.
      indices: [...] integer output index of each value (same shape).

    Returns:
      [...] normalised values.

    Raises:
      ValueError: if the shapes differ.

    Examples:
      >>> print(normalize(PopArtState(jnp.array([1.0]), jnp.array([2.0]), jnp.ones(1)), jnp.array([5.0]), jnp.array([0])))
      [2.]
    """
    checks.check_equal_shape("rlax_core.normalize", unnormalized=unnormalized, indices=indices)
    return (jnp.asarray(unnormalized) - _gather(state.shift, indices)) / _gather(
        state.scale, indices
    )


def unnormalize(state: PopArtState, normalized: ArrayLike, indices: ArrayLike) -> jax.Array:
    """Maps normalised values back: ``x * scale[idx] + shift[idx]``.

    Args:
      state: ``PopArtState`` with [K] fields.
      normalized: [...] values in normalised space.
      indices: [...] integer output index of each value (same shape).

    Returns:
      [...] unnormalised values.

    Raises:
      ValueError: if the shapes differ.

    Examples:
      >>> print(unnormalize(PopArtState(jnp.array([1.0]), jnp.array([2.0]), jnp.ones(1)), jnp.array([2.0]), jnp.array([0])))
      [5.]
    """
    checks.check_equal_shape("rlax_core.unnormalize", normalized=normalized, indices=indices)
    return jnp.asarray(normalized) * _gather(state.scale, indices) + _gather(state.shift, indices)


def unnormalize_linear(state: PopArtState, inputs: ArrayLike, indices: ArrayLike) -> PopArtOutput:
    """Selects one output per row of a linear head and also unnormalises it.

    Args:
      state: ``PopArtState`` with [K] fields.
      inputs: [..., K] outputs of the (normalised) linear head, e.g. [B, K].
      indices: [...] integer index of the output to select, e.g. [B].

    Returns:
      ``PopArtOutput(normalized [...], unnormalized [...])``.

    Raises:
      ValueError: if ``indices`` does not match the leading shape of ``inputs``.

    Examples:
      >>> print(unnormalize_linear(PopArtState(jnp.array([1.0, 0.0]), jnp.array([2.0, 1.0]), jnp.ones(2)), jnp.array([[2.0, 7.0]]), jnp.array([0])).unnormalized)
      [5.]
    """
    fn = "rlax_core.unnormalize_linear"
    if jnp.ndim(inputs) < 1:
        raise ValueError(f"{fn}: `inputs` must have rank >= 1, got shape {jnp.shape(inputs)}.")
    checks.check_shape(fn, indices=(indices, jnp.shape(inputs)[:-1]))
    inputs = jnp.asarray(inputs)
    idx = jnp.asarray(indices).astype(jnp.int32)
    normalized = jnp.take_along_axis(inputs, idx[..., None], axis=-1)[..., 0]
    return PopArtOutput(normalized, unnormalize(state, normalized, idx))
