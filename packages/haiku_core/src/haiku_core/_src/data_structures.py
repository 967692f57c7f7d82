"""Helpers for Haiku's two-level ``{module_name: {name: value}}`` structures.

Params and state are plain nested dicts: the first key is a module path such as
``"mlp/~/linear_0"``, the second a parameter or state name such as ``"w"``.
Every function here that takes a ``structure`` expects that two-level shape and
calls user callbacks as ``fn(module_name, name, value)``.

Functions that build a new structure (``filter``, ``partition``, ``partition_n``,
``map``, ``merge``) visit entries in :func:`traverse` order (module names sorted,
then names sorted), so their outputs are in that order, and modules left without
entries are dropped.

:class:`FlatMap` is a small immutable mapping registered as a JAX pytree; it is
what :func:`to_immutable_dict` returns.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Generator, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar

import jax

__all__ = [
    "FlatMap",
    "filter",
    "is_subset",
    "map",
    "merge",
    "partition",
    "partition_n",
    "to_haiku_dict",
    "to_immutable_dict",
    "to_mutable_dict",
    "traverse",
    "tree_bytes",
    "tree_size",
]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
InT = TypeVar("InT")
OutT = TypeVar("OutT")

_PUBLIC = "haiku_core.data_structures"

Structure = Mapping[str, Mapping[str, T]]


# --- FlatMap: an immutable mapping that is a pytree -----------------------------------


class FlatMap(Mapping[K, V]):
    """An immutable, hashable mapping registered as a JAX pytree.

    Nested mappings given at construction are converted to ``FlatMap`` too.  As a
    pytree its children are its values in *sorted key* order, so two ``FlatMap``s
    with the same keys have the same tree structure whatever their insertion order
    (iteration still follows insertion order).  Leaves carry ``DictKey`` paths.
    Pickling or deep-copying yields plain nested dicts, so saved files never
    reference this class.

    >>> from haiku_core._src.data_structures import FlatMap
    >>> m = FlatMap({"linear": {"w": 1.0}})
    >>> m["linear"]["w"]
    1.0
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, *args: Any, **kwargs: Any):
        """Constructs a FlatMap with the arguments of ``dict(...)``."""
        data = dict(*args, **kwargs)
        self._data: dict[Any, Any] = {
            k: (FlatMap(v) if isinstance(v, Mapping) and not isinstance(v, FlatMap) else v)
            for k, v in data.items()
        }
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"FlatMap({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (_to_dicts(self),))


def _to_dicts(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    return {k: (_to_dicts(v) if isinstance(v, Mapping) else v) for k, v in mapping.items()}


def _flatmap_flatten_with_keys(m: FlatMap) -> tuple[Any, tuple[Any, ...]]:
    keys = tuple(sorted(m._data))
    return [(jax.tree_util.DictKey(k), m._data[k]) for k in keys], keys


def _flatmap_flatten(m: FlatMap) -> tuple[list[Any], tuple[Any, ...]]:
    keys = tuple(sorted(m._data))
    return [m._data[k] for k in keys], keys


def _flatmap_unflatten(keys: tuple[Any, ...], values: Any) -> FlatMap:
    out = FlatMap.__new__(FlatMap)
    out._data = dict(zip(keys, values, strict=True))
    out._hash = None
    return out


jax.tree_util.register_pytree_with_keys(
    FlatMap, _flatmap_flatten_with_keys, _flatmap_unflatten, _flatmap_flatten
)


# --- Conversions -----------------------------------------------------------------------


def to_immutable_dict(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """Returns a read-only copy of ``mapping`` (nested mappings become read-only too).

    Args:
      mapping: any mapping, e.g. params ``{module_name: {name: array}}``.

    Returns:
      A :class:`FlatMap` (immutable, hashable if its values are, and a JAX pytree).

    Raises:
      AttributeError: (also a ``TypeError``) if ``mapping`` is not a mapping and has
        no ``items()`` method. An object that is not a ``Mapping`` but has
        ``items()`` returning ``(key, value)`` pairs is accepted.

    >>> from haiku_core import data_structures as ds
    >>> frozen = ds.to_immutable_dict({"linear": {"w": 1.0}})
    >>> frozen["linear"]["w"]
    1.0
    """
    if not isinstance(mapping, Mapping):
        items = getattr(mapping, "items", None)
        if not callable(items):
            raise _NotAMappingError(
                f"{_PUBLIC}.to_immutable_dict: `mapping` must be a Mapping (or have an "
                f"items() method), got {type(mapping).__name__}: {mapping!r}."
            )
        mapping = dict(items())
    return FlatMap(mapping)


class _NotAMappingError(AttributeError, TypeError):
    """``to_immutable_dict`` got an object without ``items()``."""


def _unflatmap(value: Any) -> Any:
    if isinstance(value, FlatMap):
        return {k: _unflatmap(v) for k, v in value.items()}
    return value


def to_mutable_dict(mapping: Mapping[K, V]) -> MutableMapping[K, V]:
    """Returns a new top-level ``dict`` with every :class:`FlatMap` inside turned into dicts.

    Values that are not ``FlatMap`` (including inner plain dicts) are kept as they are,
    not copied.

    Args:
      mapping: a (possibly read-only) mapping such as params.

    Returns:
      A mutable ``dict``.

    Raises:
      TypeError: if ``mapping`` is not a mapping.

    >>> from haiku_core import data_structures as ds
    >>> ds.to_mutable_dict(ds.to_immutable_dict({"linear": {"w": 1.0}}))
    {'linear': {'w': 1.0}}
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{_PUBLIC}.to_mutable_dict: `mapping` must be a Mapping, got {type(mapping).__name__}."
        )
    return {k: _unflatmap(v) for k, v in mapping.items()}


def to_haiku_dict(structure: Mapping[K, V]) -> MutableMapping[K, V]:
    """Copies ``structure`` into the container Haiku uses for params/state: nested dicts.

    Every nested mapping (at any depth, of any mapping type) is copied into a new
    ``dict``; leaves are shared, not copied.

    Args:
      structure: a mapping such as ``{module_name: {name: array}}``.

    Returns:
      A new nested ``dict`` with the same keys (same order) and leaves.

    Raises:
      TypeError: if ``structure`` is not a mapping.

    >>> from haiku_core import data_structures as ds
    >>> ds.to_haiku_dict({"linear": {"w": 1.0}})
    {'linear': {'w': 1.0}}
    """
    if not isinstance(structure, Mapping):
        raise TypeError(
            f"{_PUBLIC}.to_haiku_dict: `structure` must be a Mapping, "
            f"got {type(structure).__name__}."
        )
    return _to_dicts(structure)


# --- Traversal and filtering ----------------------------------------------------------


def traverse(structure: Mapping[str, Mapping[str, T]]) -> Generator[tuple[str, str, T], None, None]:
    """Yields ``(module_name, name, value)`` for every entry, sorted by module then name.

    Args:
      structure: a two-level mapping ``{module_name: {name: value}}``.

    Yields:
      ``(module_name, name, value)`` triples.

    >>> from haiku_core import data_structures as ds
    >>> list(ds.traverse({"b": {"w": 1}, "a": {"y": 2, "x": 3}}))
    [('a', 'x', 3), ('a', 'y', 2), ('b', 'w', 1)]
    """
    for module_name in sorted(structure):
        bundle = structure[module_name]
        if not isinstance(bundle, Mapping):
            raise TypeError(
                f"{_PUBLIC}.traverse: expected a two-level structure "
                f"{{module_name: {{name: value}}}}, but the value under {module_name!r} "
                f"is a {type(bundle).__name__}, not a mapping."
            )
        for name in sorted(bundle):
            yield module_name, name, bundle[name]


def _nest(entries: list[tuple[str, str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for module_name, name, value in entries:
        out.setdefault(module_name, {})[name] = value
    return out


def filter(
    predicate: Callable[[str, str, T], bool],
    structure: Mapping[str, Mapping[str, T]],
) -> Mapping[str, Mapping[str, T]]:
    """Keeps the entries for which ``predicate(module_name, name, value)`` is true.

    Args:
      predicate: called on every entry.
      structure: a two-level mapping ``{module_name: {name: value}}``.

    Returns:
      A new nested dict holding the kept entries (modules with none are dropped).

    >>> from haiku_core import data_structures as ds
    >>> params = {"linear": {"w": 1.0, "b": 0.0}}
    >>> ds.filter(lambda m, n, v: n == "w", params)
    {'linear': {'w': 1.0}}
    """
    return _nest([e for e in traverse(structure) if predicate(*e)])


def partition(
    predicate: Callable[[str, str, T], bool],
    structure: Mapping[str, Mapping[str, T]],
) -> tuple[Mapping[str, Mapping[str, T]], Mapping[str, Mapping[str, T]]]:
    """Splits ``structure`` into ``(matching, rest)`` by ``predicate(module_name, name, value)``.

    Args:
      predicate: called once on every entry.
      structure: a two-level mapping ``{module_name: {name: value}}``.

    Returns:
      Two new nested dicts: the entries where the predicate is true, and the others.

    >>> from haiku_core import data_structures as ds
    >>> params = {"linear": {"w": 1.0, "b": 0.0}}
    >>> ds.partition(lambda m, n, v: n == "w", params)
    ({'linear': {'w': 1.0}}, {'linear': {'b': 0.0}})
    """
    true, false = [], []
    for entry in traverse(structure):
        (true if predicate(*entry) else false).append(entry)
    return _nest(true), _nest(false)


def partition_n(
    fn: Callable[[str, str, T], int],
    structure: Mapping[str, Mapping[str, T]],
    n: int,
) -> tuple[Mapping[str, Mapping[str, T]], ...]:
    """Splits ``structure`` into ``n`` structures; ``fn(module_name, name, value)`` picks one.

    Args:
      fn: returns the index in ``[0, n)`` of the output an entry goes to.
      structure: a two-level mapping ``{module_name: {name: value}}``.
      n: number of outputs.

    Returns:
      A tuple of ``n`` new nested dicts (some possibly empty).

    Raises:
      ValueError: if ``fn`` returns an index outside ``[0, n)``.

    >>> from haiku_core import data_structures as ds
    >>> params = {"a": {"w": 1}, "b": {"w": 2}, "c": {"w": 3}}
    >>> ds.partition_n(lambda m, n, v: v % 2, params, 2)
    ({'b': {'w': 2}}, {'a': {'w': 1}, 'c': {'w': 3}})
    """
    buckets: list[list[tuple[str, str, Any]]] = [[] for _ in range(n)]
    for entry in traverse(structure):
        i = fn(*entry)
        if not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(
                f"{_PUBLIC}.partition_n: `fn` must return an int in [0, {n}), got {i!r} "
                f"for module {entry[0]!r}, name {entry[1]!r}."
            )
        buckets[i].append(entry)
    return tuple(_nest(b) for b in buckets)


def map(
    fn: Callable[[str, str, InT], OutT],
    structure: Mapping[str, Mapping[str, InT]],
) -> Mapping[str, Mapping[str, OutT]]:
    """Returns a same-keyed structure with ``fn(module_name, name, value)`` for each value.

    Args:
      fn: called on every entry; its result replaces the value.
      structure: a two-level mapping ``{module_name: {name: value}}``.

    Returns:
      A new nested dict (in :func:`traverse` order).

    >>> from haiku_core import data_structures as ds
    >>> ds.map(lambda m, n, v: f"{m}/{n}", {"linear": {"w": 0}})
    {'linear': {'w': 'linear/w'}}
    """
    return _nest([(m, n, fn(m, n, v)) for m, n, v in traverse(structure)])


def _is_array_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _describe(x: Any) -> str:
    if _is_array_like(x):
        return f"{jax.numpy.dtype(x.dtype).name}{list(x.shape)}"
    return repr(x)


def merge(
    *structures: Mapping[str, Mapping[str, Any]],
    check_duplicates: bool = False,
) -> MutableMapping[str, MutableMapping[str, Any]]:
    """Merges several structures into one; for duplicate entries the last one wins.

    Args:
      *structures: two-level mappings ``{module_name: {name: value}}``.
      check_duplicates: if true, a ``(module_name, name)`` that appears more than once
        must hold arrays of the same shape and dtype each time (values may differ;
        the last one is kept); an array duplicated by a non-array is an error too.

    Returns:
      A new nested dict.

    Raises:
      ValueError: with ``check_duplicates=True``, for a duplicate with a different
        shape or dtype (the message names ``module_name/name`` and both).

    >>> from haiku_core import data_structures as ds
    >>> ds.merge({"a": {"w": 1}}, {"a": {"b": 2}}, {"a": {"w": 3}})
    {'a': {'w': 3, 'b': 2}}
    """
    out: dict[str, Any] = {}
    for structure in structures:
        for module_name, name, value in traverse(structure):
            bundle = out.setdefault(module_name, {})
            if check_duplicates and name in bundle:
                old = bundle[name]
                old_arr, new_arr = _is_array_like(old), _is_array_like(value)
                if (old_arr or new_arr) and (
                    not (old_arr and new_arr)
                    or old.shape != value.shape
                    or old.dtype != value.dtype
                ):
                    raise ValueError(
                        f"{_PUBLIC}.merge: duplicate entry {module_name}/{name} with a "
                        f"different shape/dtype: {_describe(old)} vs {_describe(value)}."
                    )
            bundle[name] = value
    return out


def is_subset(
    *,
    subset: Mapping[str, Mapping[str, Any]],
    superset: Mapping[str, Mapping[str, Any]],
) -> bool:
    """True if every ``(module_name, name)`` of ``subset`` is present in ``superset``.

    Values are not compared.

    Args:
      subset: a two-level mapping.
      superset: a two-level mapping.

    Returns:
      Whether all keys of ``subset`` are in ``superset``.

    >>> from haiku_core import data_structures as ds
    >>> ds.is_subset(subset={"a": {"w": 0}}, superset={"a": {"w": 1, "b": 2}})
    True
    """
    for module_name, name, _ in traverse(subset):
        bundle = superset.get(module_name)
        if bundle is None or name not in bundle:
            return False
    return True


# --- Sizes --------------------------------------------------------------------------------


def _leaf_size_bytes(where: str, leaf: Any) -> tuple[int, int]:
    if not _is_array_like(leaf):
        raise TypeError(
            f"{_PUBLIC}.{where}: every leaf must be an array (with .shape and .dtype), got "
            f"a {type(leaf).__name__}: {leaf!r}."
        )
    size = 1
    for d in leaf.shape:
        size *= int(d)
    return size, size * jax.numpy.dtype(leaf.dtype).itemsize


def tree_size(tree: Any) -> int:
    """Total number of elements over all array leaves of a pytree.

    Leaves may be any objects with ``.shape`` and ``.dtype`` (arrays, NumPy arrays,
    ``jax.ShapeDtypeStruct``); ``None`` counts as an empty subtree.

    Args:
      tree: a pytree of arrays, e.g. params.

    Returns:
      The element count.

    Raises:
      TypeError: if a leaf has no shape and dtype.

    >>> import numpy as np
    >>> from haiku_core import data_structures as ds
    >>> ds.tree_size({"linear": {"w": np.zeros((3, 4)), "b": np.zeros(4)}})
    16
    """
    return builtins.sum(_leaf_size_bytes("tree_size", x)[0] for x in jax.tree.leaves(tree))


def tree_bytes(tree: Any) -> int:
    """Total size in bytes (elements times dtype item size) over all array leaves.

    Args:
      tree: a pytree of arrays (or ``jax.ShapeDtypeStruct``), e.g. params.

    Returns:
      The byte count.

    Raises:
      TypeError: if a leaf has no shape and dtype.

    >>> import numpy as np
    >>> from haiku_core import data_structures as ds
    >>> ds.tree_bytes({"linear": {"w": np.zeros((3, 4), np.float32)}})
    48
    """
    return builtins.sum(_leaf_size_bytes("tree_bytes", x)[1] for x in jax.tree.leaves(tree))


# Public functions report the public namespace (reprs, docs, doctest collection).
for _fn in (
    filter,
    is_subset,
    map,
    merge,
    partition,
    partition_n,
    to_haiku_dict,
    to_immutable_dict,
    to_mutable_dict,
    traverse,
    tree_bytes,
    tree_size,
):
    _fn.__module__ = _PUBLIC
del _fn
