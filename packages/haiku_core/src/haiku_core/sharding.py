"""Parameter and activation sharding on JAX's SPMD engine (``hk.sharding``).

See ``docs/sharding.md`` for a guide. Everything here describes layouts for
``jax.sharding`` (Mesh, NamedSharding, PartitionSpec) and ``jax.jit``; nothing is stored
on modules or in the parameter tree.
"""

from haiku_core._src.sharding import (
    LogicalAxes,
    LogicalRules,
    annotate,
    constrain,
    logical_axes,
    logical_to_specs,
    named_shardings,
    optimizer_state_specs,
    sharded_init,
    specs_from_rules,
    summary,
    use_rules,
)

__all__ = [
    "LogicalAxes",
    "LogicalRules",
    "annotate",
    "constrain",
    "logical_axes",
    "logical_to_specs",
    "named_shardings",
    "optimizer_state_specs",
    "sharded_init",
    "specs_from_rules",
    "summary",
    "use_rules",
]
