"""Run the same function eagerly, under ``jax.jit`` and under ``jax.vmap`` and check agreement.

* :func:`check_variants` — one call: eager (``jax.disable_jit``) vs jit, plus vmap vs a
  Python loop when batched arguments are given.
* :func:`assert_vmap_matches_loop` — ``jax.vmap(fn)`` vs stacking ``fn`` over the batch.
* :class:`Variant` — what the ``variant`` pytest fixture (see ``shared_testing.plugin``)
  yields: ``variant(fn)`` returns ``fn`` wrapped to run eagerly or jitted.
* :func:`assert_max_traces` — fail when a jitted function re-traces too often.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp

from shared_testing.asserts import assert_trees_allclose

__all__ = [
    "VARIANT_NAMES",
    "Variant",
    "assert_max_traces",
    "assert_vmap_matches_loop",
    "check_variants",
]

VARIANT_NAMES: tuple[str, ...] = ("eager", "jit")


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


class Variant:
    """Wraps functions to run eagerly (under ``jax.disable_jit()``) or under ``jax.jit``.

    Usage in a test (the ``variant`` fixture is parametrized over both)::

        def test_foo(variant):
            out = variant(my_fn)(x, y)
            out = variant(my_fn, static_argnames="axis")(x, axis=0)
    """

    def __init__(self, name: str):
        if name not in VARIANT_NAMES:
            raise ValueError(f"Variant: name must be one of {VARIANT_NAMES}, got {name!r}")
        self.name = name

    def __call__(self, fn: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
        if self.name == "jit":
            return jax.jit(fn, **jit_kwargs)

        @functools.wraps(fn)
        def eager(*args: Any, **kwargs: Any) -> Any:
            with jax.disable_jit():
                return fn(*args, **kwargs)

        return eager

    def __repr__(self) -> str:
        return f"Variant({self.name!r})"


def _index_tree(tree: Any, i: int, axis: int | None) -> Any:
    if axis is None:
        return tree
    return jax.tree_util.tree_map(lambda a: jnp.take(jnp.asarray(a), i, axis=axis), tree)


def _batch_size(args: Sequence[Any], in_axes: Sequence[int | None]) -> int:
    sizes = set()
    for arg, axis in zip(args, in_axes, strict=True):
        if axis is None:
            continue
        for leaf in jax.tree_util.tree_leaves(arg):
            sizes.add(jnp.shape(leaf)[axis])
    if len(sizes) != 1:
        raise ValueError(
            "assert_vmap_matches_loop: batched arguments must share one batch size along "
            f"their in_axes, got sizes {sorted(sizes)}"
        )
    return sizes.pop()


def assert_vmap_matches_loop(
    fn: Callable[..., Any],
    *batched_args: Any,
    in_axes: int | Sequence[int | None] | None = 0,
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> Any:
    """Asserts ``jax.vmap(fn)(*batched_args)`` equals stacking ``fn`` over the batch.

    Args:
      fn: the function under test (unbatched).
      *batched_args: arguments carrying a batch axis (``in_axes``; ``None`` = unbatched).
      in_axes: as for ``jax.vmap``: one int/None for all arguments or one per argument.
      rtol: relative tolerance.
      atol: absolute tolerance.

    Returns:
      The vmapped output.

    Raises:
      AssertionError: naming the differing output leaf.
    """
    axes: tuple[int | None, ...]
    if isinstance(in_axes, (tuple, list)):
        axes = tuple(cast("Sequence[int | None]", in_axes))
    else:
        axes = (cast("int | None", in_axes),) * len(batched_args)
    if len(axes) != len(batched_args):
        raise ValueError(
            f"assert_vmap_matches_loop: in_axes has {len(axes)} entries for "
            f"{len(batched_args)} arguments"
        )
    n = _batch_size(batched_args, axes)
    vmapped = jax.vmap(fn, in_axes=axes)(*batched_args)
    per_example = [
        fn(*(_index_tree(a, i, ax) for a, ax in zip(batched_args, axes, strict=True)))
        for i in range(n)
    ]
    looped = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *per_example)
    assert_trees_allclose(
        vmapped,
        looped,
        rtol=rtol,
        atol=atol,
        err_msg=f"jax.vmap({_fn_name(fn)}) (actual) vs Python loop (expected)",
    )
    return vmapped


def check_variants(
    fn: Callable[..., Any],
    *args: Any,
    vmap_args: Any = None,
    in_axes: int | Sequence[int | None] | None = 0,
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> Any:
    """Runs ``fn`` eagerly and jitted (and vmapped, when given batched args); checks agreement.

    Args:
      fn: the function under test. Bind static/keyword arguments with
        ``functools.partial`` first.
      *args: unbatched example arguments for the eager-vs-jit check.
      vmap_args: optional tuple of batched arguments (a single non-tuple value is
        treated as one argument); when given, ``jax.vmap(fn)`` is compared with a
        Python loop over the batch.
      in_axes: ``in_axes`` for the vmap check.
      rtol: relative tolerance.
      atol: absolute tolerance.

    Returns:
      The eager output of ``fn(*args)`` (compare it against your reference).

    Raises:
      AssertionError: naming which variants disagree and at which output leaf.
    """
    with jax.disable_jit():
        eager_out = fn(*args)
    jit_out = jax.jit(fn)(*args)
    assert_trees_allclose(
        jit_out,
        eager_out,
        rtol=rtol,
        atol=atol,
        err_msg=f"jax.jit({_fn_name(fn)}) (actual) vs eager (expected)",
    )
    if vmap_args is not None:
        batched = tuple(vmap_args) if isinstance(vmap_args, tuple) else (vmap_args,)
        assert_vmap_matches_loop(fn, *batched, in_axes=in_axes, rtol=rtol, atol=atol)
    return eager_out


class _TraceCounter:
    def __init__(self, fn: Callable[..., Any], n: int):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._max = n
        self.num_traces = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.num_traces += 1
        if self.num_traces > self._max:
            raise AssertionError(
                f"assert_max_traces: {_fn_name(self._fn)} was traced {self.num_traces} times, "
                f"expected at most {self._max} (an argument's shape/dtype/static value changes "
                "between calls, or jit is re-created each call)"
            )
        return self._fn(*args, **kwargs)


def assert_max_traces(fn: Callable[..., Any] | None = None, *, n: int) -> Any:
    """Wraps ``fn`` so that calling (i.e. tracing) it more than ``n`` times fails.

    Put it *inside* ``jax.jit``: ``jax.jit(assert_max_traces(f, n=1))``; the Python
    body runs once per trace. Usable as ``@assert_max_traces(n=1)`` too. The wrapper
    has a ``num_traces`` attribute.
    """
    if fn is None:
        return lambda f: _TraceCounter(f, n)
    return _TraceCounter(fn, n)
