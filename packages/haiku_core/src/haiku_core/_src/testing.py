"""Test helpers (``hk.testing``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import jax

from haiku_core._src import transform as hk_transform

__all__ = ["transform_and_run"]

T = TypeVar("T")


def transform_and_run(
    f: Callable[..., T] | None = None,
    seed: int | None = 42,
    run_apply: bool = True,
    jax_transform: Callable[[Callable[..., T]], Callable[..., T]] | None = None,
    *,
    map_rng: Callable[[Any], Any] | None = None,
) -> T:
    """Decorator: runs ``f`` inside ``hk.transform_with_state`` and returns its result.

    Calling the decorated function runs ``init`` and (by default) ``apply`` with the
    same arguments, and returns ``f``'s output from the last one run.

    Args:
      f: the function (omit to use as ``@transform_and_run(seed=...)``).
      seed: int seed for the rng (``None`` runs without an rng).
      run_apply: also run ``apply`` (returning its output) after ``init``.
      jax_transform: applied to ``init`` and ``apply`` before calling (e.g. ``jax.jit``).
      map_rng: applied to the key before each call (e.g. to split it).

    Returns:
      The wrapped function (or a decorator when ``f`` is None).

    Example:
      >>> @hk.testing.transform_and_run
      ... def linear_output_shape():
      ...     return hk.Linear(2)(jnp.ones([1, 3])).shape
      >>> linear_output_shape()
      (1, 2)
    """
    if f is None:
        return functools.partial(  # type: ignore[return-value]
            transform_and_run,
            seed=seed,
            run_apply=run_apply,
            jax_transform=jax_transform,
            map_rng=map_rng,
        )

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        def g(*a, **k):
            return f(*a, **k)

        t = hk_transform.transform_with_state(g)
        init_out: list = []

        def init_fn(rng):
            def capture(*a, **k):
                init_out.append(f(*a, **k))

            params, state = hk_transform.transform_with_state(capture).init(rng, *args, **kwargs)
            return params, state, init_out[-1]

        def apply_fn(params, state, rng):
            return t.apply(params, state, rng, *args, **kwargs)

        if jax_transform is not None:
            init_fn = cast(Any, jax_transform)(init_fn)
            apply_fn = cast(Any, jax_transform)(apply_fn)
        rng = None if seed is None else jax.random.PRNGKey(seed)
        init_rng, apply_rng = (rng, rng) if rng is None else tuple(jax.random.split(rng))
        if map_rng is not None:
            init_rng, apply_rng = map_rng(init_rng), map_rng(apply_rng)
        params, state, out = init_fn(init_rng)
        if run_apply:
            out, _ = apply_fn(params, state, apply_rng)
        return out

    return wrapper  # type: ignore[return-value]
