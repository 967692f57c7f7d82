"""Small pytree utilities used across rlax-core (and re-exported for users).

Also holds ``mappable_dataclass``: a frozen-or-not dataclass decorator that
registers the class as a JAX pytree and gives it a read-only mapping interface
(``keys``/``values``/``items``/``[name]``) plus ``replace``, so state containers
such as ``EmaState`` behave like upstream's container types without chex.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

_T = TypeVar("_T")


class ShapeAssertionError(ValueError, AssertionError):
    """Bad argument shape or rank where the reference implementation asserts.

    Subclasses both ``ValueError`` (this library's convention for shape errors) and
    ``AssertionError`` (what callers of the reference library catch).
    """


class DtypeAssertionError(TypeError, AssertionError):
    """Bad argument dtype where the reference implementation asserts."""


class ShapeIndexError(ValueError, IndexError):
    """Bad argument shape where the reference implementation fails while indexing."""


class ShapeTypeError(ValueError, TypeError):
    """Bad argument where the reference implementation fails with a ``TypeError``."""


@contextlib.contextmanager
def checks_raise_assertion_errors() -> Iterator[None]:
    """Re-raises ``ValueError``/``TypeError`` from ``checks`` as assertion-compatible errors.

    Wrap calls of ``rlax_core._src.checks`` with it in functions whose reference
    implementation validates its inputs with assertions: the message is kept, the error
    becomes a ``ShapeAssertionError`` (from ``ValueError``) or ``DtypeAssertionError``
    (from ``TypeError``).
    """
    try:
        yield
    except AssertionError:
        raise
    except TypeError as e:
        raise DtypeAssertionError(str(e)) from None
    except ValueError as e:
        raise ShapeAssertionError(str(e)) from None


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
    """Selects ``on_true`` or ``on_false`` leaf-wise with ``jax.lax.select``.

    Args:
      pred: boolean predicate: [] (selects whole trees) or, per leaf, an array of the
        leaf's shape (selects element-wise).
      on_true: pytree returned (leaf-wise) where ``pred`` is true.
      on_false: pytree with the same structure, shapes and dtypes as ``on_true``.

    Returns:
      A pytree with the structure of ``on_true``.

    Raises:
      ValueError: if the trees differ in structure.
      TypeError: if a pair of leaves differ in shape or dtype, or ``pred`` does not fit
        (raised by ``jax.lax.select``).

    Examples:
      >>> print(tree_select(jnp.array(True), {'a': 1.0}, {'a': 2.0}))
      {'a': Array(1., dtype=float32, weak_type=True)}
    """
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
      A pytree of ``fn`` outputs; ``nests`` itself when it is empty.

    Raises:
      ValueError: if the trees differ in structure.

    Examples:
      >>> print(tree_map_zipped(lambda x, y: x + y, [{'a': 1.0}, {'a': 2.0}]))
      {'a': 3.0}
    """
    if not nests:
        return nests
    nests = list(nests)
    _check_same_structure(
        "rlax_core.tree_map_zipped", **{f"nests[{i}]": n for i, n in enumerate(nests)}
    )
    treedef = jax.tree.structure(nests[0])
    leaves = [jax.tree.leaves(n) for n in nests]
    return jax.tree.unflatten(treedef, [fn(*group) for group in zip(*leaves, strict=True)])


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


def tree_split_leaves(tree_like: Any, axis: int = 0, keepdim: bool = False) -> Any:
    """Splits every leaf along ``axis``: returns a tuple of trees, one per index.

    Leaves are split with ``np.split``/``np.squeeze``, which dispatch to the leaf's own
    array type: NumPy leaves stay NumPy arrays (dtype kept, no device copy), JAX leaves
    stay JAX arrays. The number of pieces ``N`` is the size of ``axis`` in the first leaf;
    every leaf is cut into ``N`` equal pieces.

    Args:
      tree_like: a non-empty pytree of arrays (an empty container is returned as is).
      axis: axis to split along.
      keepdim: keep the split axis in each output (size ``size / N``).

    Returns:
      A tuple of ``N`` pytrees, or ``tree_like`` itself when it is an empty container.

    Raises:
      ShapeIndexError: (a ``ValueError`` and ``IndexError``) if ``tree_like`` is a
        non-empty container without array leaves.
      ValueError: if a leaf cannot be cut into ``N`` equal pieces along ``axis``.

    Examples:
      >>> print(len(tree_split_leaves({'a': jnp.zeros((3, 2))})))
      3
    """
    if hasattr(tree_like, "__len__") and len(tree_like) == 0:
        return tree_like
    leaves, treedef = jax.tree.flatten(tree_like)
    if not leaves:
        raise ShapeIndexError(
            "rlax_core.tree_split_leaves: `tree_like` must have at least one array leaf, "
            f"got {treedef}."
        )
    n = np.shape(leaves[0])[axis]
    try:
        pieces = [np.split(x, n, axis=axis) for x in leaves]
    except ValueError as e:
        raise ValueError(
            f"rlax_core.tree_split_leaves: every leaf must split into {n} equal pieces along "
            f"axis {axis} (the size of the first leaf), got leaf shapes "
            f"{[np.shape(x) for x in leaves]}: {e}"
        ) from None

    def piece(parts: list[Any], i: int) -> Any:
        return parts[i] if keepdim else np.squeeze(parts[i], axis)

    return tuple(jax.tree.unflatten(treedef, [piece(p, i) for p in pieces]) for i in range(n))


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
    """Wraps ``fn`` so that its positional arguments are mapped leaf-wise over trees.

    Args:
      fn: function of leaves.
      **unmapped_kwargs: keyword arguments passed unchanged to every call.

    Returns:
      ``wrapped(tree, *more_trees)`` equal to
      ``jax.tree.map(functools.partial(fn, **unmapped_kwargs), tree, *more_trees)``: the
      first tree's structure must be a prefix of the others'.

    Raises:
      TypeError: (from ``wrapped``) when called without any tree.

    Examples:
      >>> print(tree_fn(jnp.sum, axis=0)({'a': jnp.ones((2, 3))})['a'])
      [2. 2. 2.]
    """
    bound = functools.partial(fn, **unmapped_kwargs)

    def wrapped(*trees: Any) -> Any:
        if not trees:
            raise TypeError("rlax_core.tree_fn: the wrapped function needs at least one tree.")
        return jax.tree.map(bound, *trees)

    return wrapped


class LeafAttributeError(ValueError, AttributeError):
    """A pytree leaf that is not an array where an array (with ``ndim``) is required."""


def _check_array_leaf(fn: str, x: Any) -> None:
    if not hasattr(x, "ndim"):
        raise LeafAttributeError(
            f"{fn}: every leaf must be an array of rank >= 1, got a {type(x).__name__} ({x!r})."
        )


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
        _check_array_leaf("rlax_core.transpose_last_axis_to_first", x)
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
        _check_array_leaf("rlax_core.transpose_first_axis_to_last", x)
        x = jnp.asarray(x)
        return jnp.transpose(x, [*range(1, x.ndim), 0])

    return jax.tree.map(f, tree)
