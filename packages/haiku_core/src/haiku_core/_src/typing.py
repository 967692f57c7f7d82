"""Type aliases and protocols shared by haiku_core (``hk.Params``, ``hk.State`` ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Protocol

import jax

__all__ = [
    "Initializer",
    "LiftingModuleType",
    "MutableParams",
    "MutableState",
    "PRNGKey",
    "PadFn",
    "Params",
    "State",
]

# The module protocols live next to hk.Module (which imports this file through
# its dependencies); they are served from there on first access.
_FROM_MODULE = ("ModuleProtocol", "SupportsCall")


def __getattr__(name: str) -> Any:
    if name in _FROM_MODULE:
        from haiku_core._src import module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Read-only two-level mapping: module path -> parameter name -> array.
Params = Mapping[str, Mapping[str, jax.Array]]
#: Same structure as :data:`Params`, for state.
State = Mapping[str, Mapping[str, jax.Array]]
#: Mutable version of :data:`Params` (what ``init`` returns).
MutableParams = MutableMapping[str, MutableMapping[str, jax.Array]]
#: Mutable version of :data:`State`.
MutableState = MutableMapping[str, MutableMapping[str, jax.Array]]
#: A JAX PRNG key (``uint32[2]`` or a typed key array).
PRNGKey = jax.Array
#: ``init(shape, dtype) -> Array``.
Initializer = Callable[[Sequence[int], Any], jax.Array]
#: ``pad(effective_kernel_size) -> (before, after)``.
PadFn = Callable[[int], tuple[int, int]]


class LiftingModuleType(Protocol):
    """Anything callable like an ``init`` function returning params."""

    def __call__(self, *args: Any, **kwargs: Any) -> Params: ...
