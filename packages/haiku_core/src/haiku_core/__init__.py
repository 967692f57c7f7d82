"""haiku-core: Haiku-style neural-network modules for JAX, drop-in for dm-haiku.

Every public name is re-exported here from ``haiku_core._src``; nothing else
lives in this file. Importing touches no device and no jax config.
"""

from haiku_core._version import __version__

# Module system, transforms, parameters/state/RNG, JAX wrappers, lifting, interception.
from haiku_core._src.base import (
    DO_NOT_STORE,
    GetterContext,
    PRNGSequence,
    SetterContext,
    current_name,
    get_current_state,
    get_initial_state,
    get_parameter,
    get_params,
    get_state,
    maybe_get_rng_sequence_state,
    maybe_next_rng_key,
    next_rng_key,
    next_rng_keys,
    replace_rng_sequence_state,
    reserve_rng_keys,
    running_init,
    set_state,
    with_rng,
)
from haiku_core._src.module import (
    Deferred,
    MethodContext,
    Module,
    ModuleProtocol,
    SupportsCall,
    force_name,
    intercept_methods,
    name_like,
    name_scope,
    to_module,
    transparent,
)
from haiku_core._src.transform import (
    MultiTransformed,
    MultiTransformedWithState,
    Transformed,
    TransformedWithState,
    multi_transform,
    multi_transform_with_state,
    transform,
    transform_with_state,
    with_empty_state,
    without_apply_rng,
    without_state,
)

from haiku_core._src.interception import custom_creator, custom_getter, custom_setter
from haiku_core._src.layer_stack import LayerStackTransparencyMapping, layer_stack
from haiku_core._src.lift import (
    LiftWithStateUpdater,
    lift,
    lift_with_state,
    transparent_lift,
    transparent_lift_with_state,
)
from haiku_core._src.stateful import (
    cond,
    eval_shape,
    fori_loop,
    grad,
    map,
    remat,
    scan,
    switch,
    value_and_grad,
    vmap,
    while_loop,
)
from haiku_core._src.summarise import to_dot
from haiku_core._src.typing import MutableParams, MutableState, Params, State
from haiku_core import config, experimental, testing


# Sub-namespaces: initializers, data_structures, pad, mixed_precision.
from haiku_core import data_structures, initializers, mixed_precision, pad
from haiku_core import sharding

# Layers: basic, convolution, pooling.
from haiku_core._src.basic import (
    BatchApply,
    Bias,
    Linear,
    Sequential,
    dropout,
    expand_apply,
    multinomial,
    one_hot,
)
from haiku_core._src.conv import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    ConvND,
    ConvNDTranspose,
    get_channel_index,
)
from haiku_core._src.depthwise_conv import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    DepthwiseConv3D,
)
from haiku_core._src.depthwise_conv import (
    SeparableDepthwiseConv2D as SeparableDepthwiseConv2D,  # public, not in __all__ (as upstream)
)
from haiku_core._src.embed import Embed, EmbedLookupStyle
from haiku_core._src.pool import AvgPool, MaxPool, avg_pool, max_pool
from haiku_core._src.reshape import Flatten, Reshape

# Normalisation, moving averages, attention.
from haiku_core import nets
from haiku_core._src.attention import MultiHeadAttention
from haiku_core._src.batch_norm import BatchNorm
from haiku_core._src.group_norm import GroupNorm
from haiku_core._src.layer_norm import InstanceNorm, LayerNorm, RMSNorm
from haiku_core._src.moving_averages import EMAParamsTree, ExponentialMovingAverage
from haiku_core._src.spectral_norm import SNParamsTree, SpectralNorm

# Recurrent cores.
from haiku_core._src.conv_lstm import Conv1DLSTM, Conv2DLSTM, Conv3DLSTM
from haiku_core._src.recurrent import (
    GRU,
    LSTM,
    DeepRNN,
    IdentityCore,
    LSTMState,
    ResetCore,
    RNNCore,
    VanillaRNN,
    deep_rnn_with_skip_connections,
)
from haiku_core._src.unroll import dynamic_unroll, static_unroll

__all__ = [
    "__version__",
    # core names
    "DO_NOT_STORE",
    "Deferred",
    "GetterContext",
    "LayerStackTransparencyMapping",
    "LiftWithStateUpdater",
    "MethodContext",
    "Module",
    "ModuleProtocol",
    "MultiTransformed",
    "MultiTransformedWithState",
    "MutableParams",
    "MutableState",
    "PRNGSequence",
    "Params",
    "SetterContext",
    "State",
    "SupportsCall",
    "Transformed",
    "TransformedWithState",
    "cond",
    "config",
    "current_name",
    "custom_creator",
    "custom_getter",
    "custom_setter",
    "eval_shape",
    "experimental",
    "force_name",
    "fori_loop",
    "get_current_state",
    "get_initial_state",
    "get_parameter",
    "get_params",
    "get_state",
    "grad",
    "intercept_methods",
    "layer_stack",
    "lift",
    "lift_with_state",
    "map",
    "maybe_get_rng_sequence_state",
    "maybe_next_rng_key",
    "multi_transform",
    "multi_transform_with_state",
    "name_like",
    "name_scope",
    "next_rng_key",
    "next_rng_keys",
    "remat",
    "replace_rng_sequence_state",
    "reserve_rng_keys",
    "running_init",
    "scan",
    "set_state",
    "switch",
    "testing",
    "to_dot",
    "to_module",
    "transform",
    "transform_with_state",
    "transparent",
    "transparent_lift",
    "transparent_lift_with_state",
    "value_and_grad",
    "vmap",
    "while_loop",
    "with_empty_state",
    "with_rng",
    "without_apply_rng",
    "without_state",
    # independent pieces
    "data_structures",
    "initializers",
    "mixed_precision",
    "pad",
    "sharding",
    # layers
    "AvgPool",
    "BatchApply",
    "Bias",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvND",
    "ConvNDTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "DepthwiseConv3D",
    "Embed",
    "EmbedLookupStyle",
    "Flatten",
    "Linear",
    "MaxPool",
    "Reshape",
    "Sequential",
    "avg_pool",
    "dropout",
    "expand_apply",
    "get_channel_index",
    "max_pool",
    "multinomial",
    "one_hot",
    # norm / moving averages / attention
    "BatchNorm",
    "EMAParamsTree",
    "ExponentialMovingAverage",
    "GroupNorm",
    "InstanceNorm",
    "LayerNorm",
    "MultiHeadAttention",
    "RMSNorm",
    "SNParamsTree",
    "SpectralNorm",
    "nets",
    # recurrent
    "Conv1DLSTM",
    "Conv2DLSTM",
    "Conv3DLSTM",
    "DeepRNN",
    "GRU",
    "IdentityCore",
    "LSTM",
    "LSTMState",
    "RNNCore",
    "ResetCore",
    "VanillaRNN",
    "deep_rnn_with_skip_connections",
    "dynamic_unroll",
    "static_unroll",
]
