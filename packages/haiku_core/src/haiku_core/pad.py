"""Padding functions for convolutions and pooling (``hk.pad``)."""

from haiku_core._src.pad import (
    PadFn,
    causal,
    create,
    create_from_padfn,
    create_from_tuple,
    full,
    is_padfn,
    reverse_causal,
    same,
    valid,
)

__all__ = [
    "PadFn",
    "causal",
    "create",
    "create_from_padfn",
    "create_from_tuple",
    "full",
    "is_padfn",
    "reverse_causal",
    "same",
    "valid",
]
