"""Small pytree utilities used across rlax-core (and re-exported for users).

Also holds ``mappable_dataclass``: a frozen-or-not dataclass decorator that
registers the class as a JAX pytree and gives it a read-only mapping interface
(``keys``/``values``/``items``/``[name]``) plus ``replace``, so state containers
such as ``EmaState`` behave like upstream's container types without chex.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

_T = TypeVar("_T")


class MappingMixin:
    """Read-only mapping view over dataclass fields (field declaration order)."""

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]

    def values(self) -> list[Any]:
        return [getattr(self, k) for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def replace(self: Any, **changes: Any) -> Any:
        """Returns a copy with the given fields replaced."""
        return dataclasses.replace(self, **changes)

    def to_tuple(self) -> tuple[Any, ...]:
        """Field values as a tuple, in declaration order."""
        return tuple(self.values())

    @classmethod
    def from_tuple(cls: Any, args: Sequence[Any]) -> Any:
        """Builds an instance from field values in declaration order."""
        return cls(*args)


def mappable_dataclass(cls: type[_T] | None = None, *, frozen: bool = False) -> Any:
    """Makes ``cls`` (a ``MappingMixin`` subclass) a dataclass registered as a pytree."""

    def wrap(c: type[_T]) -> type[_T]:
        c = dataclasses.dataclass(frozen=frozen)(c)
        # Children are flattened in sorted field-name order (as upstream's containers do),
        # so leaf order and checkpoints line up.
        names = sorted(f.name for f in dataclasses.fields(c))  # type: ignore[arg-type]

        def flatten_with_keys(x: Any) -> tuple[list[tuple[Any, Any]], None]:
            return [(jax.tree_util.GetAttrKey(n), getattr(x, n)) for n in names], None

        def flatten(x: Any) -> tuple[list[Any], None]:
            return [getattr(x, n) for n in names], None

        def unflatten(_: None, children: Iterable[Any]) -> Any:
            obj = object.__new__(c)
            for n, v in zip(names, children, strict=True):
                object.__setattr__(obj, n, v)
            return obj

        jax.tree_util.register_pytree_with_keys(c, flatten_with_keys, unflatten, flatten)
        return c

    if cls is None:
        return wrap
    return wrap(cls)


def tree_select(pred: ArrayLike, on_true: Any, on_false: Any) -> Any:
    """Selects ``on_true`` or ``on_false`` leaf-wise with a scalar predicate.

    Args:
      pred: [] boolean predicate.
      on_true: pytree returned (leaf-wise) where ``pred`` is true.
      on_false: pytree with the same structure as ``on_true``.

    Returns:
      A pytree with the structure of ``on_true``.

    Raises:
      ValueError: if ``pred`` is not a scalar or the trees differ in structure.

    Examples:
      >>> print(tree_select(jnp.array(True), {'a': 1.0}, {'a': 2.0}))
      {'a': Array(1., dtype=float32, weak_type=True)}
    """
    if np.ndim(pred) != 0:
        raise ValueError(
            f"rlax_core.tree_select: `pred` must have rank 0, got shape {np.shape(pred)}."
        )
    _check_same_structure("rlax_core.tree_select", on_true=on_true, on_false=on_false)
    return jax.tree.map(lambda t, f: jax.lax.select(pred, t, f), on_true, on_false)


def _check_same_structure(fn: str, **trees: Any) -> None:
    items = list(trees.items())
    first_name, first = items[0]
    first_def = jax.tree.structure(first)
    for name, t in items[1:]:
        td = jax.tree.structure(t)
        if td != first_def:
            raise ValueError(
                f"{fn}: `{name}` must have the same tree structure as `{first_name}`; "
                f"got {td} vs {first_def}."
            )


def tree_map_zipped(fn: Callable[..., Any], nests: Sequence[Any]) -> Any:
    """Maps ``fn`` over a sequence of same-structured trees, leaf by leaf.

    Args:
      fn: called as ``fn(leaf_0, leaf_1, ...)`` for corresponding leaves.
      nests: sequence of pytrees sharing one structure.

    Returns:
      A pytree of ``fn`` outputs; an empty list when ``nests`` is empty.

    Raises:
      ValueError: if the trees differ in structure.

    Examples:
      >>> print(tree_map_zipped(lambda x, y: x + y, [{'a': 1.0}, {'a': 2.0}]))
      {'a': 3.0}
    """
    nests = list(nests)
    if not nests:
        return []
    _check_same_structure(
        "rlax_core.tree_map_zipped", **{f"nests[{i}]": n for i, n in enumerate(nests)}
    )
    return jax.tree.map(fn, nests[0], *nests[1:])


def tree_split_key(rng_key: ArrayLike, tree_like: Any) -> tuple[jax.Array, Any]:
    """Splits a PRNG key into a fresh key plus one key per leaf of ``tree_like``.

    Args:
      rng_key: PRNG key.
      tree_like: pytree whose structure the returned keys follow.

    Returns:
      ``(new_key, keys_tree)``: ``keys_tree`` has the structure of ``tree_like``.

    Examples:
      >>> new_key, keys = tree_split_key(jax.random.PRNGKey(0), {'a': 0, 'b': 0})
      >>> print(sorted(keys))
      ['a', 'b']
    """
    treedef = jax.tree.structure(tree_like)
    keys = jax.random.split(rng_key, treedef.num_leaves + 1)
    return keys[0], jax.tree.unflatten(treedef, list(keys[1:]))


def tree_split_leaves(tree_like: Any, axis: int = 0, keepdim: bool = False) -> tuple[Any, ...]:
    """Splits every leaf along ``axis``: returns a tuple of trees, one per index.

    Args:
      tree_like: pytree of arrays sharing the size ``N`` of ``axis``.
      axis: axis to split along.
      keepdim: keep the split axis with size 1 in each output.

    Returns:
      A tuple of ``N`` pytrees.

    Raises:
      ValueError: if leaves disagree on the size of ``axis``.

    Examples:
      >>> print(len(tree_split_leaves({'a': jnp.zeros((3, 2))})))
      3
    """
    leaves, treedef = jax.tree.flatten(tree_like)
    if not leaves:
        return ()
    sizes = {np.shape(x)[axis] for x in leaves}
    if len(sizes) != 1:
        raise ValueError(
            f"rlax_core.tree_split_leaves: all leaves must have the same size along axis {axis}, "
            f"got sizes {sorted(sizes)}."
        )
    n = sizes.pop()
    split = [jnp.split(jnp.asarray(x), n, axis=axis) for x in leaves]
    if not keepdim:
        split = [[jnp.squeeze(p, axis=axis) for p in s] for s in split]
    return tuple(jax.tree.unflatten(treedef, [s[i] for s in split]) for i in range(n))


def _replace_masked(data: ArrayLike, replacement: Any, mask: ArrayLike) -> jax.Array:
    data = jnp.asarray(data)
    mask = jnp.asarray(mask)
    if mask.shape != data.shape[: mask.ndim]:
        raise ValueError(
            "rlax_core.tree_replace_masked: `mask` shape must be a prefix of the data shape, "
            f"got mask {mask.shape} and data {data.shape}."
        )
    if replacement is None:
        replacement = jnp.zeros_like(data)
    mask = jnp.reshape(mask, mask.shape + (1,) * (data.ndim - mask.ndim))
    return jnp.where(mask, replacement, data)


def tree_replace_masked(tree_data: Any, tree_replacement: Any, mask: ArrayLike) -> Any:
    """Replaces, in every leaf, the entries where ``mask`` is set.

    Args:
      tree_data: pytree of arrays of shape ``[B, ...]``.
      tree_replacement: same-structured pytree of replacements, or ``None`` for zeros.
      mask: ``[B]`` (a prefix of every leaf's shape) boolean or 0/1 mask.

    Returns:
      A pytree like ``tree_data`` with masked entries replaced.

    Examples:
      >>> print(tree_replace_masked({'a': jnp.ones(2)}, None, jnp.array([True, False])))
      {'a': Array([0., 1.], dtype=float32)}
    """
    if tree_replacement is None:
        return jax.tree.map(lambda d: _replace_masked(d, None, mask), tree_data)
    return jax.tree.map(lambda d, r: _replace_masked(d, r, mask), tree_data, tree_replacement)


def tree_fn(fn: Callable[..., Any], **unmapped_kwargs: Any) -> Callable[..., Any]:
    """Wraps ``fn`` so that positional arguments are mapped leaf-wise over trees.

    Args:
      fn: function of leaves.
      **unmapped_kwargs: keyword arguments passed unchanged to every call.

    Returns:
      ``wrapped(*trees, **kwargs)`` applying ``fn`` to corresponding leaves.

    Examples:
      >>> print(tree_fn(jnp.sum, axis=0)({'a': jnp.ones((2, 3))})['a'])
      [2. 2. 2.]
    """
    fn = functools.partial(fn, **unmapped_kwargs)

    def wrapped(*args: Any) -> Any:
        return tree_map_zipped(fn, args)

    return wrapped


def transpose_last_axis_to_first(tree: Any) -> Any:
    """Moves the last axis of every leaf to the front: ``[..., N] -> [N, ...]``.

    Args:
      tree: pytree of arrays.

    Returns:
      The pytree with every leaf transposed.

    Examples:
      >>> print(transpose_last_axis_to_first(jnp.zeros((2, 3, 4))).shape)
      (4, 2, 3)
    """

    def f(x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.transpose(x, [x.ndim - 1, *range(x.ndim - 1)])

    return jax.tree.map(f, tree)


def transpose_first_axis_to_last(tree: Any) -> Any:
    """Moves the first axis of every leaf to the end: ``[N, ...] -> [..., N]``.

    Args:
      tree: pytree of arrays.

    Returns:
      The pytree with every leaf transposed.

    Examples:
      >>> print(transpose_first_axis_to_last(jnp.zeros((2, 3, 4))).shape)
      (3, 4, 2)
    """

    def f(x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.transpose(x, [*range(1, x.ndim), 0])

    return jax.tree.map(f, tree)
