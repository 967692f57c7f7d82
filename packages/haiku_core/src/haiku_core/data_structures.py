"""Helpers for two-level params/state mappings (``hk.data_structures``)."""

from haiku_core._src.data_structures import (
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
)

__all__ = [
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
