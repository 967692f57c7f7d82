"""Per-module-class mixed-precision policies (``hk.mixed_precision``), without jmp."""

from haiku_core._src.mixed_precision import (
    Policy,
    clear_policy,
    current_policy,
    get_policy,
    half_dtype,
    parse_policy,
    push_policy,
    set_policy,
)

__all__ = [
    "Policy",
    "clear_policy",
    "current_policy",
    "get_policy",
    "half_dtype",
    "parse_policy",
    "push_policy",
    "set_policy",
]
