"""Unrolling recurrent cores over sequences: ``static_unroll`` and ``dynamic_unroll``.

A core is any ``f(inputs, state) -> (outputs, next_state)``, usually an ``hk.RNNCore``
(``recurrent.py``). Both unrolls give the same numbers; their docstrings explain when to use
which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import base, stateful

__all__ = ["dynamic_unroll", "static_unroll"]


def _inside_transform() -> bool:
    try:
        base.current_frame()
    except ValueError:
        return False
    return True


def _num_steps(where: str, input_sequence: Any, time_axis: int) -> int:
    """Returns the shared size of ``time_axis`` over all leaves, with static checks."""
    leaves_with_path = jax.tree_util.tree_leaves_with_path(input_sequence)
    if not leaves_with_path:
        raise ValueError(
            f"{where}: `input_sequence` must contain at least one array, got no leaves."
        )
    layout = "[T, B, ...] (time major)" if time_axis == 0 else "[B, T, ...] (batch major)"
    sizes = []
    for path, leaf in leaves_with_path:
        shape = tuple(jnp.shape(leaf))
        if len(shape) <= time_axis:
            raise ValueError(
                f"{where}: every leaf of `input_sequence` must be laid out {layout}; leaf "
                f"`input_sequence{jax.tree_util.keystr(path)}` has shape {shape}, which has no "
                f"axis {time_axis}."
            )
        sizes.append((jax.tree_util.keystr(path), shape[time_axis]))
    first_path, first = sizes[0]
    for path, size in sizes[1:]:
        if size != first:
            detail = ", ".join(f"input_sequence{p}: {s}" for p, s in sizes)
            raise ValueError(
                f"{where}: all leaves of `input_sequence` must have the same number of time "
                f"steps on axis {time_axis} ({layout}); `input_sequence{first_path}` has {first} "
                f"but `input_sequence{path}` has {size} ({detail})."
            )
    return first


def _swap_time_batch(tree: Any) -> Any:
    return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), tree)


def static_unroll(
    core: Callable[[Any, Any], tuple[Any, Any]],
    input_sequence: Any,
    initial_state: Any,
    time_major: bool = True,
    *,
    reverse: bool = False,
    return_all_states: bool = False,
) -> tuple[Any, Any]:
    """Unrolls a core over a sequence with a Python loop.

    Each step is traced separately, so the traced program and its compile time grow linearly in
    ``T``. XLA sees the whole unrolled computation, but that rarely makes it faster: on CPU
    (jax 0.10, ``LSTM(64)``, batch 16) ``T=10`` runs at the same speed as
    :func:`dynamic_unroll`, while ``T=100`` compiles about 10x longer and runs no faster.
    Prefer :func:`dynamic_unroll` (one traced step, ``unroll=`` for partial unrolling); use this
    function when the step cannot be scanned (the step's Python code depends on ``t``, or the
    state changes structure or shape between steps) or to debug a core step by step. Both give
    the same numbers.

    Args:
      core: an :class:`RNNCore` (or any ``f(inputs, state) -> (outputs, next_state)``).
      input_sequence: pytree of arrays shaped ``[T, B, ...]`` if ``time_major`` else
        ``[B, T, ...]``; every leaf must have the same ``T``.
      initial_state: the state before the first step, e.g. ``core.initial_state(B)``.
      time_major: whether the time axis is axis 0 (``True``) or axis 1 (``False``).
      reverse: (keyword-only, extension) run from the last step to the first. Outputs stay
        aligned with their input step, as in :func:`dynamic_unroll`.
      return_all_states: (keyword-only, extension) return the state after every step, stacked on
        the time axis, instead of only the final state.

    Returns:
      ``(output_sequence, final_state)``: outputs stacked on the time axis (``[T, B, ...]`` or
      ``[B, T, ...]``) and the state after the last processed step (or all states, stacked the
      same way, when ``return_all_states``).

    Raises:
      ValueError: if a leaf of ``input_sequence`` lacks a time axis, or leaves disagree on ``T``,
        or ``T`` is 0.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.LSTM(4)
      ...   return hk.static_unroll(core, x, core.initial_state(2))
      >>> f = hk.transform(f)
      >>> x = jnp.ones([5, 2, 3])  # [T, B, D]
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape, state.hidden.shape
      ((5, 2, 4), (2, 4))
    """
    where = "haiku_core.static_unroll"
    time_axis = 0 if time_major else 1
    num_steps = _num_steps(where, input_sequence, time_axis)
    if num_steps == 0:
        raise ValueError(f"{where}: `input_sequence` has 0 time steps; nothing to unroll.")
    steps = range(num_steps - 1, -1, -1) if reverse else range(num_steps)
    state = initial_state
    outputs, states = [], []
    for t in steps:
        inputs_t = jax.tree.map(lambda x, t=t: x[t] if time_major else x[:, t], input_sequence)
        out_t, state = core(inputs_t, state)
        outputs.append(out_t)
        if return_all_states:
            states.append(state)
    if reverse:
        outputs.reverse()
        states.reverse()

    def stack(*xs):
        return jnp.stack(xs, axis=time_axis)

    output_sequence = jax.tree.map(stack, *outputs)
    if return_all_states:
        return output_sequence, jax.tree.map(stack, *states)
    return output_sequence, state


def dynamic_unroll(
    core: Callable[[Any, Any], tuple[Any, Any]],
    input_sequence: Any,
    initial_state: Any,
    time_major: bool = True,
    reverse: bool = False,
    return_all_states: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Unrolls a core over a sequence with a scan.

    The step is traced once and run by ``jax.lax.scan`` (through ``hk.scan`` inside a transform,
    so parameters and state created by the core are threaded correctly; outside a transform a
    plain ``f(inputs, state)`` is scanned with ``jax.lax.scan``). Trace and compile time do not
    grow with ``T``, which makes this the right default. ``unroll=k`` puts ``k`` steps in each
    loop iteration (``unroll=True`` unrolls fully, like :func:`static_unroll`): it trades compile
    time for fewer loop iterations, which can help small cores on accelerators; measure before
    relying on it (on CPU we saw no consistent gain). The numbers are the same as
    :func:`static_unroll`'s.

    Args:
      core: an :class:`RNNCore` (or any ``f(inputs, state) -> (outputs, next_state)``).
      input_sequence: pytree of arrays shaped ``[T, B, ...]`` if ``time_major`` else
        ``[B, T, ...]``; every leaf must have the same ``T``.
      initial_state: the state before the first step, e.g. ``core.initial_state(B)``.
      time_major: whether the time axis is axis 0 (``True``) or axis 1 (``False``).
      reverse: run from the last step to the first. Outputs stay aligned with their input step
        (``outputs[t]`` is the output for ``inputs[t]``).
      return_all_states: return the state after every step, stacked on the time axis like the
        outputs, instead of only the final state.
      unroll: how many steps to put in one scan iteration (int >= 1), or ``True`` for all.

    Returns:
      ``(output_sequence, final_state)``: outputs stacked on the time axis (``[T, B, ...]`` or
      ``[B, T, ...]``) and the state after the last processed step (or all states, stacked the
      same way, when ``return_all_states``).

    Raises:
      ValueError: if a leaf of ``input_sequence`` lacks a time axis, or leaves disagree on ``T``,
        or ``T`` is 0 during ``init``.

    Example:
      >>> import haiku_core as hk, jax, jax.numpy as jnp
      >>> def f(x):
      ...   core = hk.GRU(4)
      ...   return hk.dynamic_unroll(core, x, core.initial_state(2), time_major=False)
      >>> f = hk.transform(f)
      >>> x = jnp.ones([2, 5, 3])  # [B, T, D]
      >>> out, state = f.apply(f.init(jax.random.PRNGKey(0), x), None, x)
      >>> out.shape, state.shape
      ((2, 5, 4), (2, 4))
    """
    where = "haiku_core.dynamic_unroll"
    num_steps = _num_steps(where, input_sequence, 0 if time_major else 1)
    inside = _inside_transform()
    if num_steps == 0 and inside and base.running_init():
        raise ValueError(
            f"{where}: `input_sequence` has 0 time steps, so `init` cannot run the core to create "
            "its parameters. Initialise with a sequence of at least one step."
        )
    if not time_major:
        input_sequence = _swap_time_batch(input_sequence)

    def step(prev_state, inputs):
        outputs, next_state = core(inputs, prev_state)
        if return_all_states:
            return next_state, (outputs, next_state)
        return next_state, outputs

    scan = stateful.scan if inside else jax.lax.scan
    final_state, scanned = scan(step, initial_state, input_sequence, reverse=reverse, unroll=unroll)
    if return_all_states:
        output_sequence, state_sequence = scanned
    else:
        output_sequence, state_sequence = scanned, None
    if not time_major:
        output_sequence = _swap_time_batch(output_sequence)
        if return_all_states:
            state_sequence = _swap_time_batch(state_sequence)
    if return_all_states:
        return output_sequence, state_sequence
    return output_sequence, final_state


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
