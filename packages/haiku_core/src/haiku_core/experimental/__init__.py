"""Experimental APIs, and aliases of APIs that graduated to the top level."""

from haiku_core._src.base import (
    DO_NOT_STORE,
    GetterContext,
    current_name,
    get_current_state,
    get_initial_state,
    get_params,
    maybe_get_rng_sequence_state,
    replace_rng_sequence_state,
)
from haiku_core._src.config import check_jax_usage, module_auto_repr, rng_reserve_size
from haiku_core._src.experimental import fast_eval_shape, optimize_rng_use
from haiku_core._src.interception import custom_creator, custom_getter
from haiku_core._src.layer_stack import LayerStackTransparencyMapping, layer_stack
from haiku_core._src.lift import (
    LiftWithStateUpdater,
    lift,
    lift_with_state,
    transparent_lift,
    transparent_lift_with_state,
)
from haiku_core._src.module import (
    MethodContext,
    force_name,
    intercept_methods,
    name_like,
    name_scope,
)
from haiku_core._src.summarise import (
    ArraySpec,
    MethodInvocation,
    ModuleDetails,
    ParamSummary,
    abstract_to_dot,
    eval_summary,
    params_summary,
    tabulate,
    to_dot,
)
from haiku_core.experimental import flax, jaxpr_info

#: Deprecated alias of :class:`GetterContext`.
ParamContext = GetterContext

__all__ = [
    "ArraySpec",
    "DO_NOT_STORE",
    "GetterContext",
    "LayerStackTransparencyMapping",
    "LiftWithStateUpdater",
    "MethodContext",
    "MethodInvocation",
    "ModuleDetails",
    "ParamContext",
    "ParamSummary",
    "abstract_to_dot",
    "check_jax_usage",
    "current_name",
    "custom_creator",
    "custom_getter",
    "eval_summary",
    "fast_eval_shape",
    "flax",
    "force_name",
    "get_current_state",
    "get_initial_state",
    "get_params",
    "intercept_methods",
    "jaxpr_info",
    "layer_stack",
    "lift",
    "lift_with_state",
    "maybe_get_rng_sequence_state",
    "module_auto_repr",
    "name_like",
    "name_scope",
    "optimize_rng_use",
    "params_summary",
    "replace_rng_sequence_state",
    "rng_reserve_size",
    "tabulate",
    "to_dot",
    "transparent_lift",
    "transparent_lift_with_state",
]
