"""Repairing step types of trajectories cut by interruptions (dm_env step-type codes)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks
from rlax_core._src.tree_util import checks_raise_assertion_errors

_FIRST, _MID, _LAST = 0, 1, 2


def fix_step_type_on_interruptions(step_type: ArrayLike) -> jax.Array:
    """Marks as LAST every MID step that is immediately followed by a FIRST step.

    When an episode is interrupted (e.g. a time limit or actor restart) the stream goes
    MID -> FIRST with no LAST in between; this inserts the missing LAST. Step types use
    dm_env's codes FIRST=0, MID=1, LAST=2. The final step is never changed.

    Args:
      step_type: [T, B] integer step types, time-major.

    Returns:
      [T, B] fixed step types.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if ``step_type`` is not
        rank 2.

    Examples:
      >>> print(fix_step_type_on_interruptions(jnp.array([[0], [1], [0], [1]]))[:, 0])
      [0 2 0 1]
    """
    with checks_raise_assertion_errors():
        checks.check_rank("rlax_core.fix_step_type_on_interruptions", step_type=(step_type, 2))
    step_type = jnp.asarray(step_type)
    is_mid = step_type[:-1] == _MID
    next_is_first = step_type[1:] == _FIRST
    fix = jnp.logical_and(is_mid, next_is_first)
    fixed_head = jnp.where(fix, jnp.asarray(_LAST, step_type.dtype), step_type[:-1])
    return jnp.concatenate([fixed_head, step_type[-1:]], axis=0)
