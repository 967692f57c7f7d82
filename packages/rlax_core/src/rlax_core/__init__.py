"""rlax-core: reinforcement-learning maths for JAX, drop-in for rlax.

Every public name is re-exported here from ``rlax_core._src``; nothing else
lives in this file.
"""

from rlax_core._version import __version__

# --- part 1: base, checks, losses, clipping, multistep, value learning, vtrace,
# --- distributional, transforms, nonlinear bellman (issue 5) -----------------
# (imports for part 1 go here, one per name)
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

# --- part 2: policy gradients, distributions, exploration, mpo, pop-art,
# --- policy targets, gvf, model learning, interruptions, nested updates,
# --- embedding, episodic memory, moving averages, tree utils (issue 6) ------
# (imports for part 2 go here, one per name)

__all__ = [
    "__version__",
    # part 1 names (sorted within the part)
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
    # part 2 names (sorted within the part)
]
