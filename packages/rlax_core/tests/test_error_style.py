"""One prefix style for every rlax_core error message.

Rule (checked statically over the whole source tree, and on representative calls):
every message starts with ``rlax_core.<public name>: `` (``rlax_core.batched.<name>``
for the batched namespace, ``rlax_core.<factory>.<method>`` for the methods of the
distribution objects returned by ``rlax_core.softmax(...)`` and friends), then names
the argument in backticks and says what was expected and what it got, e.g.
``rlax_core.q_learning: `q_tm1` must have rank 1, got shape (4, 3).``

Functions pass that prefix as ``fn`` to the shared checks in ``rlax_core._src.checks``;
the static scan (``shared_testing.error_style.scan_package``) follows every ``fn`` back
to the literal it came from.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from shared_testing.error_style import literal_prefixes, resolve_public_path, scan_package

import rlax_core as rlax

SRC = Path(rlax.__file__).parent
PREFIX_NAMES = ("fn", "owner", "where", "what")
HELPERS: tuple[str, ...] = ()

# Messages (or prefix values) that deliberately do not follow the rule, keyed by
# (file, rendered text as the scan prints it).
EXEMPT: dict[tuple[str, str], str] = {
    ("_src/scan.py", "'rlax_core'"): (
        "default `fn` of the internal recurrence solvers; every caller in the package "
        "passes its public name (the call-site scan checks each of them)"
    ),
}

# Literal prefixes that name functions with no public path: upstream rlax keeps them in
# its private modules too, and our public functions call them after their own checks.
INTERNAL_NAMES: dict[str, str] = {
    "rlax_core.get_top_k_weights": "helper of vmpo_compute_weights_and_temperature_loss",
    "rlax_core.kl_constraint_loss": "helper of mpo_loss / vmpo_loss",
    "rlax_core.importance_corrected_td_errors": "helper of general_off_policy_returns_*",
    "rlax_core.hyperbolic_sin": "helper of the signed/power transforms",
    "rlax_core.hyperbolic_arcsin": "helper of the signed/power transforms",
}

# Methods of the distribution objects returned by the public factories.
DISTRIBUTION_METHODS = {"sample", "logprob", "entropy", "kl", "kl_to_standard_normal"}


def _findings():
    return scan_package(SRC, "rlax_core", prefix_names=PREFIX_NAMES, helper_calls=HELPERS)


def test_every_literal_message_starts_with_the_package_prefix():
    bad = [f for f in _findings() if f.key() not in EXEMPT]
    shown = "\n".join(f"{f.path}:{f.lineno}: {f.reason}: {f.text!r}" for f in bad)
    assert not bad, f"messages without the rlax_core prefix:\n{shown}"


def test_every_exemption_is_still_needed():
    keys = {f.key() for f in _findings()}
    stale = [k for k in EXEMPT if k not in keys]
    assert not stale, f"exemptions that match no message any more: {stale}"


def test_literal_prefixes_name_public_functions():
    prefixes = literal_prefixes(SRC, "rlax_core", prefix_names=PREFIX_NAMES, helper_calls=HELPERS)
    assert len(prefixes) > 100  # the scan does see the package's messages
    seen_internal = set()
    bad = []
    for path, lineno, prefix in prefixes:
        if "._" in prefix or prefix.startswith("rlax."):
            bad.append((path, lineno, prefix))
            continue
        if prefix in INTERNAL_NAMES:
            seen_internal.add(prefix)
            continue
        obj, rest = resolve_public_path(prefix)
        if not rest:
            continue
        if len(rest) == 1 and rest[0] in DISTRIBUTION_METHODS and callable(obj):
            continue
        bad.append((path, lineno, prefix))
    assert not bad, f"prefixes that are not public names: {bad}"
    assert seen_internal == set(INTERNAL_NAMES)
    for name in INTERNAL_NAMES:
        assert not hasattr(rlax, name.split(".", 1)[1]), f"{name} is public now: drop it here"


# ----------------------------------------------------------------------------- table

_KEY = jax.random.PRNGKey(0)
_I32 = jnp.int32

# (id, call, exception type, exact message start). For functions upstream rlax 0.1.9
# also has, the type is the one it raises for the same call (chex's AssertionError for
# its shape/dtype assertions; checked by hand in /work/venv); ours is that type or a
# subclass of it.
TABLE = [
    (
        "q_learning_rank",
        lambda: rlax.q_learning(jnp.ones((2, 3)), 0, 1.0, 0.9, jnp.ones(3)),
        AssertionError,
        "rlax_core.q_learning: `q_tm1` must have rank 1, got shape (2, 3).",
    ),
    (
        "td_learning_rank",
        lambda: rlax.td_learning(jnp.ones(2), jnp.ones(()), jnp.ones(()), jnp.ones(())),
        AssertionError,
        "rlax_core.td_learning: `v_tm1` must have rank 0, got shape (2,).",
    ),
    (
        "sarsa_rank",
        lambda: rlax.sarsa(jnp.ones((2, 3)), 0, 1.0, 0.9, jnp.ones(3), 0),
        AssertionError,
        "rlax_core.sarsa: `q_tm1`",
    ),
    (
        "lambda_returns_rank",
        lambda: rlax.lambda_returns(jnp.ones((3, 2)), jnp.ones((3, 2)), jnp.ones((3, 2))),
        AssertionError,
        "rlax_core.lambda_returns: `r_t`",
    ),
    (
        "discounted_returns_rank",
        lambda: rlax.discounted_returns(jnp.ones((2, 2)), jnp.ones((2, 2)), 0.0),
        AssertionError,
        "rlax_core.discounted_returns: `r_t`",
    ),
    (
        "vtrace_rank",
        lambda: rlax.vtrace(jnp.ones((3, 1)), jnp.ones(3), jnp.ones(3), jnp.ones(3), jnp.ones(3)),
        AssertionError,
        "rlax_core.vtrace: `v_tm1`",
    ),
    (
        "huber_loss_int",
        lambda: rlax.huber_loss(jnp.ones(3, _I32)),
        AssertionError,
        "rlax_core.huber_loss: `x` must have a float dtype, got int32.",
    ),
    (
        "l2_loss_int",
        lambda: rlax.l2_loss(jnp.ones(3, _I32)),
        AssertionError,
        "rlax_core.l2_loss: `predictions`",
    ),
    (
        "softmax_sample_scalar",
        lambda: rlax.softmax().sample(_KEY, jnp.float32(1.0)),
        ValueError,
        "rlax_core.softmax.sample: `logits`",
    ),
    (
        "epsilon_greedy_without_epsilon",
        lambda: rlax.epsilon_greedy().sample(_KEY, jnp.ones(3)),
        TypeError,
        "rlax_core.epsilon_greedy: `epsilon`",
    ),
    (
        "categorical_l2_project_rank",
        lambda: rlax.categorical_l2_project(jnp.ones((2, 3)), jnp.ones(3), jnp.ones(3)),
        AssertionError,
        "rlax_core.categorical_l2_project: `z_p`",
    ),
    (
        "quantile_regression_rank",
        lambda: rlax.quantile_regression_loss(jnp.ones((2, 2)), jnp.ones(2), jnp.ones(2)),
        AssertionError,
        "rlax_core.quantile_regression_loss: `dist_src`",
    ),
    (
        "policy_gradient_loss_rank",
        lambda: rlax.policy_gradient_loss(jnp.ones(3), jnp.ones(3, _I32), jnp.ones(3), jnp.ones(3)),
        AssertionError,
        "rlax_core.policy_gradient_loss: `logits_t`",
    ),
    (
        "entropy_loss_rank",
        lambda: rlax.entropy_loss(jnp.ones(3), jnp.ones(3)),
        AssertionError,
        "rlax_core.entropy_loss: `logits_t`",
    ),
    (
        "clipped_surrogate_rank",
        lambda: rlax.clipped_surrogate_pg_loss(jnp.ones((2, 2)), jnp.ones(2), 0.2),
        AssertionError,
        "rlax_core.clipped_surrogate_pg_loss: `prob_ratios_t`",
    ),
    (
        "transform_from_2hot_bins",
        lambda: rlax.transform_from_2hot(jnp.ones(4), -1.0, 1.0, 5),
        ValueError,
        "rlax_core.transform_from_2hot: `probs`",
    ),
    (
        "pixel_control_cell_size",
        lambda: rlax.pixel_control_rewards(jnp.ones((2, 5, 5, 3)), 2),
        TypeError,
        "rlax_core.pixel_control_rewards: `cell_size`",
    ),
    (
        "knn_query_rank",
        lambda: rlax.knn_query(jnp.ones((4, 3)), jnp.ones(2), 2),
        AssertionError,
        "rlax_core.knn_query: `query_points`",
    ),
    (
        "embed_oar_rank",
        lambda: rlax.embed_oar(jnp.ones(3), jnp.ones(3, _I32), jnp.ones(3), 2),
        AssertionError,
        "rlax_core.embed_oar: `features`",
    ),
    (
        "batched_index_rank",
        lambda: rlax.batched_index(jnp.ones(3), jnp.zeros(3, _I32)),
        ValueError,
        "rlax_core.batched_index: `values`",
    ),
    (
        "categorical_kl_categories",
        lambda: rlax.categorical_kl_divergence(jnp.ones(3), jnp.ones(4)),
        ValueError,
        "rlax_core.categorical_kl_divergence: `p_logits`",
    ),
    # Functions upstream does not have: the type is our own (documented) choice.
    (
        "twohot_bins_num_bins",
        lambda: rlax.twohot_bins(1),
        ValueError,
        "rlax_core.twohot_bins: `num_bins` must be a static int >= 2, got 1.",
    ),
    (
        "dpo_loss_beta",
        lambda: rlax.dpo_loss(jnp.ones(2), jnp.ones(2), jnp.ones(2), jnp.ones(2), beta=0.0),
        ValueError,
        "rlax_core.dpo_loss: `beta` must be > 0, got 0.0.",
    ),
    (
        "grpo_advantages_rank",
        lambda: rlax.grpo_advantages(jnp.float32(1.0)),
        ValueError,
        "rlax_core.grpo_advantages: `rewards`",
    ),
    (
        "batched_gae_time_axis",
        lambda: rlax.batched.gae(
            jnp.ones((3, 2)), jnp.ones((3, 2)), jnp.ones((3, 2)), 0.9, 0.95, time_axis=3
        ),
        ValueError,
        "rlax_core.batched.gae: `time_axis`",
    ),
]


@pytest.mark.parametrize("call,exc,prefix", [t[1:] for t in TABLE], ids=[t[0] for t in TABLE])
def test_bad_call_has_the_exact_prefix(call, exc, prefix):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    assert message.startswith(prefix), f"{message[:200]!r} does not start with {prefix!r}"
    assert not message.startswith("rlax."), message


def test_table_size():
    assert len(TABLE) >= 20
    assert all(t[3].startswith("rlax_core.") and "`" in t[3] for t in TABLE)
