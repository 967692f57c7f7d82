"""Type aliases for params and state (``import haiku_core.typing``)."""

from haiku_core._src.typing import (
    Initializer,
    MutableParams,
    MutableState,
    PadFn,
    Params,
    PRNGKey,
    State,
)

__all__ = ["Initializer", "MutableParams", "MutableState", "PRNGKey", "PadFn", "Params", "State"]
