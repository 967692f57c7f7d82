"""rlax-core: reinforcement-learning maths for JAX, drop-in for rlax.

Every public name is re-exported here from ``rlax_core._src``; nothing else
lives in this file.
"""

from rlax_core._version import __version__

# Base, checks, losses, clipping, multistep, value learning, V-trace,
# distributional, transforms, non-linear Bellman.
from rlax_core._src.base import (
    AllSum,
    batched_index,
    lhs_broadcast,
    one_hot,
    replace_masked,
)
from rlax_core._src.clipping import (
    clip_gradient,
    huber_loss,
)
from rlax_core._src.losses import (
    expectile_loss,
    l2_loss,
    likelihood,
    log_loss,
    pixel_control_loss,
)
from rlax_core._src.multistep import (
    discounted_returns,
    general_off_policy_returns_from_action_values,
    general_off_policy_returns_from_q_and_v,
    lambda_returns,
    n_step_bootstrapped_returns,
    truncated_generalized_advantage_estimation,
)
from rlax_core._src.value_learning import (
    double_q_learning,
    expected_sarsa,
    persistent_q_learning,
    q_lambda,
    q_learning,
    qv_learning,
    qv_max,
    retrace,
    retrace_continuous,
    sarsa,
    sarsa_lambda,
    td_lambda,
    td_learning,
)
from rlax_core._src.vtrace import (
    VTraceOutput,
    leaky_vtrace,
    leaky_vtrace_td_error_and_advantage,
    vtrace,
    vtrace_td_error_and_advantage,
)
from rlax_core._src.distributional import (
    categorical_double_q_learning,
    categorical_l2_project,
    categorical_q_learning,
    categorical_td_learning,
    quantile_expected_sarsa,
    quantile_q_learning,
    quantile_regression_loss,
)
from rlax_core._src.transforms import (
    identity,
    logit,
    power,
    sigmoid,
    signed_expm1,
    signed_hyperbolic,
    signed_logp1,
    signed_parabolic,
    transform_from_2hot,
    transform_to_2hot,
)
from rlax_core._src.nonlinear_bellman import (
    DISCOUNT_TRANSFORM_PAIR,
    HYPERBOLIC_SIN_PAIR,
    IDENTITY_PAIR,
    SIGNED_HYPERBOLIC_PAIR,
    SIGNED_LOGP1_PAIR,
    TxPair,
    compose_tx,
    muzero_pair,
    transformed_general_off_policy_returns_from_action_values,
    transformed_lambda_returns,
    transformed_n_step_q_learning,
    transformed_n_step_returns,
    transformed_q_lambda,
    transformed_retrace,
    twohot_pair,
    unbiased_transform_pair,
)

# Policy gradients, distributions, exploration, MPO, Pop-Art, policy targets,
# GVFs, model learning, interruptions, nested updates, embedding, episodic memory,
# moving averages, tree utilities.
from rlax_core._src.distributions import (
    categorical_cross_entropy,
    categorical_importance_sampling_ratios,
    categorical_kl_divergence,
    categorical_sample as categorical_sample,  # not in __all__ (as upstream)
    clipped_entropy_softmax,
    epsilon_greedy,
    gaussian_diagonal,
    greedy,
    multivariate_normal_kl_divergence,
    softmax,
    squashed_gaussian,
)
from rlax_core._src.embedding import embed_oar as embed_oar  # not in __all__ (as upstream)
from rlax_core._src.episodic_memory import knn_query
from rlax_core._src.exploration import (
    add_dirichlet_noise,
    add_gaussian_noise,
    add_ornstein_uhlenbeck_noise,
    episodic_memory_intrinsic_rewards,
)
from rlax_core._src.general_value_functions import (
    feature_control_rewards,
    pixel_control_rewards,
)
from rlax_core._src.interruptions import fix_step_type_on_interruptions
from rlax_core._src.model_learning import (
    extract_subsequences,
    sample_start_indices,
)
from rlax_core._src.moving_averages import (
    EmaMoments,
    EmaState,
    create_ema,
)
from rlax_core._src.mpo_ops import (
    LagrangePenalty,
    compute_parametric_kl_penalty_and_dual_loss,
    mpo_compute_weights_and_temperature_loss,
    mpo_loss,
    vmpo_compute_weights_and_temperature_loss,
    vmpo_loss,
)
from rlax_core._src.nested_updates import (
    conditional_update,
    periodic_update,
)
from rlax_core._src.policy_gradients import (
    clipped_surrogate_pg_loss,
    dpg_loss,
    entropy_loss,
    policy_gradient_loss,
    qpg_loss,
    rm_loss,
    rpg_loss,
)
from rlax_core._src.policy_targets import (
    PolicyTarget,
    constant_policy_targets,
    sampled_policy_distillation_loss,
    zero_policy_targets,
)
from rlax_core._src.pop_art import (
    PopArtState,
    art,
    normalize,
    pop,
    popart,
    unnormalize,
    unnormalize_linear,
)
from rlax_core._src.munchausen import munchausen_q_learning
from rlax_core._src.policy_optimisation import (
    adaptive_kl_coefficient,
    clipped_value_loss,
    dual_clip_ppo_loss,
    kl_k1,
    kl_k2,
    kl_k3,
    normalize_advantages,
)
from rlax_core._src.sequence_rl import (
    dpo_loss,
    grpo_advantages,
    grpo_loss,
)
from rlax_core._src.tree_util import (
    transpose_first_axis_to_last,
    transpose_last_axis_to_first,
    tree_fn,
    tree_map_zipped,
    tree_replace_masked,
    tree_select,
    tree_split_key,
    tree_split_leaves,
)

# Batched, episode-aware returns (a sub-namespace: rlax_core.batched.gae etc.; not in __all__).
from rlax_core import batched as batched

# Actor-critic losses (SAC, discrete SAC, TD3).
from rlax_core._src.actor_critic import (
    sac_actor_loss,
    sac_discrete_actor_loss,
    sac_discrete_soft_value,
    sac_discrete_temperature_loss,
    sac_soft_q_target,
    sac_temperature_loss,
    td3_clipped_double_q_target,
    td3_target_policy_smoothing,
)

# World-model (DreamerV3) and offline-RL (CQL, IQL) losses.
from rlax_core._src.dreamer import (
    PercentileNormalizerState,
    kl_balance_loss,
    percentile_normalize,
    percentile_normalizer_init,
    percentile_normalizer_update,
    symexp,
    symlog,
    twohot_bins,
    twohot_cross_entropy_loss,
    twohot_decode,
    twohot_encode,
    unimix_logits,
)
from rlax_core._src.offline import (
    cql_continuous_regularizer,
    cql_discrete_regularizer,
    iql_awr_policy_loss,
    iql_expectile_value_loss,
)

__all__ = [
    "__version__",
    "AllSum",
    "batched_index",
    "categorical_double_q_learning",
    "categorical_l2_project",
    "categorical_q_learning",
    "categorical_td_learning",
    "clip_gradient",
    "compose_tx",
    "DISCOUNT_TRANSFORM_PAIR",
    "discounted_returns",
    "double_q_learning",
    "expected_sarsa",
    "expectile_loss",
    "general_off_policy_returns_from_action_values",
    "general_off_policy_returns_from_q_and_v",
    "huber_loss",
    "HYPERBOLIC_SIN_PAIR",
    "identity",
    "IDENTITY_PAIR",
    "l2_loss",
    "lambda_returns",
    "leaky_vtrace",
    "leaky_vtrace_td_error_and_advantage",
    "lhs_broadcast",
    "likelihood",
    "log_loss",
    "logit",
    "muzero_pair",
    "n_step_bootstrapped_returns",
    "one_hot",
    "persistent_q_learning",
    "pixel_control_loss",
    "power",
    "q_lambda",
    "q_learning",
    "quantile_expected_sarsa",
    "quantile_q_learning",
    "quantile_regression_loss",
    "qv_learning",
    "qv_max",
    "replace_masked",
    "retrace",
    "retrace_continuous",
    "sarsa",
    "sarsa_lambda",
    "sigmoid",
    "signed_expm1",
    "signed_hyperbolic",
    "SIGNED_HYPERBOLIC_PAIR",
    "signed_logp1",
    "SIGNED_LOGP1_PAIR",
    "signed_parabolic",
    "td_lambda",
    "td_learning",
    "transform_from_2hot",
    "transform_to_2hot",
    "transformed_general_off_policy_returns_from_action_values",
    "transformed_lambda_returns",
    "transformed_n_step_q_learning",
    "transformed_n_step_returns",
    "transformed_q_lambda",
    "transformed_retrace",
    "truncated_generalized_advantage_estimation",
    "twohot_pair",
    "TxPair",
    "unbiased_transform_pair",
    "vtrace",
    "vtrace_td_error_and_advantage",
    "VTraceOutput",
    # Policy gradients, distributions, exploration, MPO, Pop-Art and the rest.
    "add_dirichlet_noise",
    "add_gaussian_noise",
    "add_ornstein_uhlenbeck_noise",
    "art",
    "categorical_cross_entropy",
    "categorical_importance_sampling_ratios",
    "categorical_kl_divergence",
    "clipped_entropy_softmax",
    "clipped_surrogate_pg_loss",
    "compute_parametric_kl_penalty_and_dual_loss",
    "conditional_update",
    "constant_policy_targets",
    "create_ema",
    "dpg_loss",
    "EmaMoments",
    "EmaState",
    "entropy_loss",
    "episodic_memory_intrinsic_rewards",
    "epsilon_greedy",
    "extract_subsequences",
    "feature_control_rewards",
    "fix_step_type_on_interruptions",
    "gaussian_diagonal",
    "greedy",
    "knn_query",
    "LagrangePenalty",
    "mpo_compute_weights_and_temperature_loss",
    "mpo_loss",
    "multivariate_normal_kl_divergence",
    "normalize",
    "periodic_update",
    "pixel_control_rewards",
    "policy_gradient_loss",
    "PolicyTarget",
    "pop",
    "popart",
    "PopArtState",
    "qpg_loss",
    "rm_loss",
    "rpg_loss",
    "sample_start_indices",
    "sampled_policy_distillation_loss",
    "softmax",
    "squashed_gaussian",
    "transpose_first_axis_to_last",
    "transpose_last_axis_to_first",
    "tree_fn",
    "tree_map_zipped",
    "tree_replace_masked",
    "tree_select",
    "tree_split_key",
    "tree_split_leaves",
    "unnormalize",
    "unnormalize_linear",
    "vmpo_compute_weights_and_temperature_loss",
    "vmpo_loss",
    "zero_policy_targets",
    # Actor-critic losses (SAC, discrete SAC, TD3).
    "sac_actor_loss",
    "sac_discrete_actor_loss",
    "sac_discrete_soft_value",
    "sac_discrete_temperature_loss",
    "sac_soft_q_target",
    "sac_temperature_loss",
    "td3_clipped_double_q_target",
    "td3_target_policy_smoothing",
    # World-model losses (DreamerV3).
    "PercentileNormalizerState",
    "kl_balance_loss",
    "percentile_normalize",
    "percentile_normalizer_init",
    "percentile_normalizer_update",
    "symexp",
    "symlog",
    "twohot_bins",
    "twohot_cross_entropy_loss",
    "twohot_decode",
    "twohot_encode",
    "unimix_logits",
    # Offline-RL losses (CQL, IQL).
    "cql_continuous_regularizer",
    "cql_discrete_regularizer",
    "iql_awr_policy_loss",
    "iql_expectile_value_loss",
    # Sequence-model RL (beyond rlax).
    "dpo_loss",
    "grpo_advantages",
    "grpo_loss",
    # PPO extras, KL estimators, Munchausen (beyond rlax).
    "adaptive_kl_coefficient",
    "clipped_value_loss",
    "dual_clip_ppo_loss",
    "kl_k1",
    "kl_k2",
    "kl_k3",
    "munchausen_q_learning",
    "normalize_advantages",
]
