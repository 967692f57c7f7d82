"""Registry-driven checks over every part-1 function: jit(vmap(f)) equals a loop of eager f.

Each entry gives example inputs for one unbatched call; the test stacks two independent
draws into a batch, runs ``jax.jit(jax.vmap(f))`` and compares with calling ``f`` on each
example eagerly. A coverage test fails when a part-1 public function has no entry.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax

T, A, N = 4, 3, 5


def _r(g, *s):
    return np.asarray(g.normal(size=s), np.float32)


def _u(g, *s):
    return np.asarray(g.uniform(0.1, 0.9, size=s), np.float32)


def _a(g, *s):
    return np.asarray(g.integers(0, A, size=s), np.int32)


def _p(g, *s):
    e = np.exp(g.normal(size=s))
    return np.asarray(e / e.sum(-1, keepdims=True), np.float32)


def _atoms(g):
    return np.linspace(-2, 2, N).astype(np.float32)


def _mask(g):
    return g.uniform(size=T) > 0.3


SL = rlax.SIGNED_LOGP1_PAIR
# name -> (callable taking the listed array args, list of arg builders)
REGISTRY = {
    "one_hot": (lambda i: rlax.one_hot(i, A), [lambda g: _a(g, 2)]),
    "batched_index": (rlax.batched_index, [lambda g: _r(g, 2, A), lambda g: _a(g, 2)]),
    "lhs_broadcast": (rlax.lhs_broadcast, [lambda g: _r(g, 2), lambda g: _r(g, 2, 3)]),
    "replace_masked": (
        rlax.replace_masked,
        [lambda g: _r(g, 2, 3), lambda g: _r(g, 2, 3), lambda g: g.uniform(size=2) > 0.5],
    ),
    "l2_loss": (rlax.l2_loss, [lambda g: _r(g, 3), lambda g: _r(g, 3)]),
    "log_loss": (rlax.log_loss, [lambda g: _u(g, 3), lambda g: _u(g, 3)]),
    "likelihood": (rlax.likelihood, [lambda g: _u(g, 3), lambda g: _u(g, 3)]),
    "expectile_loss": (
        functools.partial(rlax.expectile_loss, expectile=0.7),
        [lambda g: _r(g, 3), lambda g: _r(g, 3)],
    ),
    "pixel_control_loss": (
        lambda o, a, q: rlax.pixel_control_loss(o, a, q, 0.9, 2),
        [lambda g: _r(g, T + 1, 4, 4, 1), lambda g: _a(g, T), lambda g: _r(g, T + 1, 2, 2, A)],
    ),
    "huber_loss": (rlax.huber_loss, [lambda g: _r(g, 4) * 2]),
    "clip_gradient": (lambda x: rlax.clip_gradient(x, -1.0, 1.0), [lambda g: _r(g, 3)]),
    "lambda_returns": (
        rlax.lambda_returns,
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g, T), lambda g: _u(g, T)],
    ),
    "discounted_returns": (
        rlax.discounted_returns,
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g)],
    ),
    "n_step_bootstrapped_returns": (
        lambda r, d, v: rlax.n_step_bootstrapped_returns(r, d, v, 2),
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g, T)],
    ),
    "truncated_generalized_advantage_estimation": (
        rlax.truncated_generalized_advantage_estimation,
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _u(g), lambda g: _r(g, T + 1)],
    ),
    "general_off_policy_returns_from_action_values": (
        rlax.general_off_policy_returns_from_action_values,
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T),
            lambda g: _p(g, T, A),
        ],
    ),
    "general_off_policy_returns_from_q_and_v": (
        rlax.general_off_policy_returns_from_q_and_v,
        [
            lambda g: _r(g, T - 1),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T - 1),
        ],
    ),
    "td_learning": (rlax.td_learning, [_r, _r, _u, _r]),
    "td_lambda": (
        rlax.td_lambda,
        [lambda g: _r(g, T), lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g, T), _u],
    ),
    "sarsa": (rlax.sarsa, [lambda g: _r(g, A), _a, _r, _u, lambda g: _r(g, A), _a]),
    "expected_sarsa": (
        rlax.expected_sarsa,
        [lambda g: _r(g, A), _a, _r, _u, lambda g: _r(g, A), lambda g: _p(g, A)],
    ),
    "sarsa_lambda": (
        rlax.sarsa_lambda,
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            _u,
        ],
    ),
    "q_learning": (rlax.q_learning, [lambda g: _r(g, A), _a, _r, _u, lambda g: _r(g, A)]),
    "double_q_learning": (
        rlax.double_q_learning,
        [lambda g: _r(g, A), _a, _r, _u, lambda g: _r(g, A), lambda g: _r(g, A)],
    ),
    "persistent_q_learning": (
        lambda *x: rlax.persistent_q_learning(*x, 0.3),
        [lambda g: _r(g, A), _a, _r, _u, lambda g: _r(g, A)],
    ),
    "qv_learning": (rlax.qv_learning, [lambda g: _r(g, A), _a, _r, _u, _r]),
    "qv_max": (rlax.qv_max, [_r, _r, _u, lambda g: _r(g, A)]),
    "q_lambda": (
        rlax.q_lambda,
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _r(g, T, A),
            lambda g: _u(g, T),
        ],
    ),
    "retrace": (
        rlax.retrace,
        [
            lambda g: _r(g, T, A),
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _p(g, T, A),
            lambda g: _u(g, T),
            _u,
        ],
    ),
    "retrace_continuous": (
        rlax.retrace_continuous,
        [
            lambda g: _r(g, T),
            lambda g: _r(g, T - 1),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _r(g, T - 1),
            _u,
        ],
    ),
    "categorical_l2_project": (
        rlax.categorical_l2_project,
        [lambda g: _r(g, N) * 2, lambda g: _p(g, N), _atoms],
    ),
    "categorical_td_learning": (
        rlax.categorical_td_learning,
        [_atoms, lambda g: _r(g, N), _r, _u, _atoms, lambda g: _r(g, N)],
    ),
    "categorical_q_learning": (
        rlax.categorical_q_learning,
        [_atoms, lambda g: _r(g, A, N), _a, _r, _u, _atoms, lambda g: _r(g, A, N)],
    ),
    "categorical_double_q_learning": (
        rlax.categorical_double_q_learning,
        [
            _atoms,
            lambda g: _r(g, A, N),
            _a,
            _r,
            _u,
            _atoms,
            lambda g: _r(g, A, N),
            lambda g: _r(g, A),
        ],
    ),
    "quantile_regression_loss": (
        rlax.quantile_regression_loss,
        [lambda g: _r(g, N), lambda g: _u(g, N), lambda g: _r(g, 4)],
    ),
    "quantile_q_learning": (
        rlax.quantile_q_learning,
        [
            lambda g: _r(g, N, A),
            lambda g: _u(g, N),
            _a,
            _r,
            _u,
            lambda g: _r(g, 4, A),
            lambda g: _r(g, 4, A),
        ],
    ),
    "quantile_expected_sarsa": (
        rlax.quantile_expected_sarsa,
        [
            lambda g: _r(g, N, A),
            lambda g: _u(g, N),
            _a,
            _r,
            _u,
            lambda g: _r(g, 4, A),
            lambda g: _p(g, A),
        ],
    ),
    "vtrace": (
        rlax.vtrace,
        [
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T) * 2,
            _u,
        ],
    ),
    "vtrace_td_error_and_advantage": (
        lambda *x: tuple(rlax.vtrace_td_error_and_advantage(*x[:5], x[5], sample_mask=x[6])),
        [
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T) * 2,
            _u,
            _mask,
        ],
    ),
    "leaky_vtrace": (
        lambda *x: rlax.leaky_vtrace(*x, alpha_=0.5),
        [
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T) * 2,
        ],
    ),
    "leaky_vtrace_td_error_and_advantage": (
        lambda *x: tuple(rlax.leaky_vtrace_td_error_and_advantage(*x, alpha=0.5)),
        [
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T) * 2,
        ],
    ),
    **{
        name: (getattr(rlax, name), [lambda g: _r(g, 3)])
        for name in [
            "identity",
            "sigmoid",
            "signed_logp1",
            "signed_expm1",
            "signed_hyperbolic",
            "signed_parabolic",
        ]
    },
    "logit": (rlax.logit, [lambda g: _u(g, 3)]),
    "power": (lambda x: rlax.power(x, 0.5), [lambda g: _r(g, 3)]),
    "transform_to_2hot": (lambda x: rlax.transform_to_2hot(x, -2.0, 2.0, 5), [lambda g: _r(g, 3)]),
    "transform_from_2hot": (
        lambda p: rlax.transform_from_2hot(p, -2.0, 2.0, 5),
        [lambda g: _p(g, 3, 5)],
    ),
    "transformed_lambda_returns": (
        lambda *x: rlax.transformed_lambda_returns(SL, *x),
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g, T), _u],
    ),
    "transformed_n_step_returns": (
        lambda *x: rlax.transformed_n_step_returns(SL, *x, 2),
        [lambda g: _r(g, T), lambda g: _u(g, T), lambda g: _r(g, T)],
    ),
    "transformed_general_off_policy_returns_from_action_values": (
        lambda *x: rlax.transformed_general_off_policy_returns_from_action_values(SL, *x),
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _u(g, T),
            lambda g: _p(g, T, A),
        ],
    ),
    "transformed_q_lambda": (
        lambda *x: rlax.transformed_q_lambda(*x, tx_pair=SL),
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _r(g, T, A),
            _u,
        ],
    ),
    "transformed_retrace": (
        lambda *x: rlax.transformed_retrace(*x, tx_pair=SL),
        [
            lambda g: _r(g, T, A),
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
            lambda g: _p(g, T, A),
            lambda g: _u(g, T),
            _u,
        ],
    ),
    "transformed_n_step_q_learning": (
        lambda *x: rlax.transformed_n_step_q_learning(*x, 2, tx_pair=SL),
        [
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T, A),
            lambda g: _a(g, T),
            lambda g: _r(g, T),
            lambda g: _u(g, T),
        ],
    ),
}

# Part-1 names that are not array functions (classes, constants, TxPair factories); the pair
# factories are exercised in test_nonlinear_bellman.py.
NOT_ARRAY_FUNCTIONS = {
    "AllSum",
    "TxPair",
    "VTraceOutput",
    "IDENTITY_PAIR",
    "SIGNED_LOGP1_PAIR",
    "SIGNED_HYPERBOLIC_PAIR",
    "HYPERBOLIC_SIN_PAIR",
    "DISCOUNT_TRANSFORM_PAIR",
    "twohot_pair",
    "compose_tx",
    "muzero_pair",
    "unbiased_transform_pair",
}
PART1_MODULES = (
    "base",
    "clipping",
    "losses",
    "multistep",
    "value_learning",
    "vtrace",
    "distributional",
    "transforms",
    "nonlinear_bellman",
)


def test_registry_covers_every_part1_function():
    part1 = {
        n
        for n in rlax.__all__
        if getattr(getattr(rlax, n), "__module__", "").rsplit(".", 1)[-1] in PART1_MODULES
        or n.endswith("_PAIR")
    }
    missing = sorted(part1 - set(REGISTRY) - NOT_ARRAY_FUNCTIONS)
    assert not missing, f"part-1 functions without a registry entry: {missing}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_jit_vmap_matches_eager_loop(name):
    fn, builders = REGISTRY[name]
    examples = []
    for seed in (0, 1):
        g = np.random.default_rng(seed)
        examples.append(tuple(b(g) for b in builders))
    batched = tuple(jnp.stack([jnp.asarray(e[i]) for e in examples]) for i in range(len(builders)))
    out = jax.jit(jax.vmap(fn))(*batched)
    for i, ex in enumerate(examples):
        expected = fn(*ex)
        jax.tree.map(
            lambda o, e, i=i: np.testing.assert_allclose(
                np.asarray(o)[i], e, rtol=2e-5, atol=2e-6, err_msg=name
            ),
            out,
            expected,
        )
