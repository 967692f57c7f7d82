"""Compat: rlax_core part 2 vs upstream rlax 0.1.9 (test-only oracle) on random inputs.

Run in the oracle venv, where ``rlax`` (and distrax) are installed::

    /work/oracle/bin/python -m pytest packages/rlax_core/tests_compat/test_part2_compat.py

Covers values (f32, rtol 1e-5), gradients w.r.t. float arguments (both
``use_stop_gradient`` settings where a function has the flag) and sampling equality:
every sampling function given the same PRNG key must return exactly the same samples.
The cross-device forms run under ``jax.pmap`` when 8 devices are available
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``).
"""

from __future__ import annotations

import collections
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

rlax = pytest.importorskip("rlax")
import rlax_core  # noqa: E402

warnings.filterwarnings("ignore", category=PendingDeprecationWarning)

RTOL, ATOL = 1e-5, 1e-5
_PROJ = functools.partial(jnp.clip, min=1e-10)


def f32(x):
    return jnp.asarray(x, jnp.float32)


def close(actual, expected, rtol=RTOL, atol=ATOL):
    la, lb = jax.tree.leaves(actual), jax.tree.leaves(expected)
    assert len(la) == len(lb), (jax.tree.structure(actual), jax.tree.structure(expected))
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def equal(actual, expected):
    la, lb = jax.tree.leaves(actual), jax.tree.leaves(expected)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


KEYS = jax.random.split(jax.random.PRNGKey(7), 40)


# ----------------------------------------------------------------- policy gradients


def _pg_inputs(rng, T=5, A=4):
    return dict(
        logits=f32(rng.normal(size=(T, A)) * 2),
        q=f32(rng.normal(size=(T, A))),
        a=jnp.asarray(rng.integers(0, A, size=T)),
        adv=f32(rng.normal(size=T)),
        w=f32(rng.uniform(size=T)),
        ratios=f32(np.r_[0.8, 1.2, 1.0, rng.uniform(0.5, 1.5, size=T - 3)]),
    )


def _value_and_grads(fn, args, argnums):
    value = fn(*args)
    grads = jax.grad(lambda *x: jnp.sum(fn(*x)), argnums)(*args)
    return value, grads


@pytest.mark.parametrize("stop", [True, False])
def test_policy_gradient_losses(rng, stop):
    x = _pg_inputs(rng)
    cases = [
        ("policy_gradient_loss", (x["logits"], x["a"], x["adv"], x["w"]), (0, 2, 3)),
        ("clipped_surrogate_pg_loss", (x["ratios"], x["adv"], 0.2), (0, 1)),
        ("qpg_loss", (x["logits"], x["q"]), (0, 1)),
        ("rm_loss", (x["logits"], x["q"]), (0, 1)),
        ("rpg_loss", (x["logits"], x["q"]), (0, 1)),
        ("dpg_loss", (x["adv"], x["w"]), (0, 1)),
    ]
    for name, args, argnums in cases:
        ours = functools.partial(getattr(rlax_core, name), use_stop_gradient=stop)
        theirs = functools.partial(getattr(rlax, name), use_stop_gradient=stop)
        close(_value_and_grads(ours, args, argnums), _value_and_grads(theirs, args, argnums))


@pytest.mark.parametrize("clip", [0.3, 10.0])
@pytest.mark.parametrize("stop", [True, False])
def test_dpg_loss_clipping(rng, clip, stop):
    a, dqda = f32(rng.normal(size=4)), f32(rng.normal(size=4))
    ours = functools.partial(rlax_core.dpg_loss, dqda_clipping=clip, use_stop_gradient=stop)
    theirs = functools.partial(rlax.dpg_loss, dqda_clipping=clip, use_stop_gradient=stop)
    close(_value_and_grads(ours, (a, dqda), (0, 1)), _value_and_grads(theirs, (a, dqda), (0, 1)))


def test_entropy_loss(rng):
    x = _pg_inputs(rng)
    args = (x["logits"], x["w"])
    close(
        _value_and_grads(rlax_core.entropy_loss, args, (0, 1)),
        _value_and_grads(rlax.entropy_loss, args, (0, 1)),
    )


# -------------------------------------------------------------------- distributions


@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_softmax_family(rng, temperature):
    logits = f32(rng.normal(size=(6, 5)) * 3)
    a = jnp.asarray(rng.integers(0, 5, size=6))
    for ours, theirs in [
        (rlax_core.softmax(temperature), rlax.softmax(temperature)),
        (
            rlax_core.clipped_entropy_softmax(temperature, 0.4),
            rlax.clipped_entropy_softmax(temperature, 0.4),
        ),
    ]:
        equal([ours.sample(k, logits) for k in KEYS], [theirs.sample(k, logits) for k in KEYS])
        equal(ours.sample(KEYS[0], logits[0]), theirs.sample(KEYS[0], logits[0]))
        close(ours.probs(logits), theirs.probs(logits))
        close(ours.logprob(a, logits), theirs.logprob(a, logits))
        close(ours.entropy(logits), theirs.entropy(logits))
        close(ours.entropy(logits * 0.01), theirs.entropy(logits * 0.01))
        close(ours.kl(logits, logits[::-1]), theirs.kl(logits, logits[::-1]))
        close(
            jax.grad(lambda lg, d=ours: jnp.sum(d.logprob(a, lg) + d.entropy(lg)))(logits),
            jax.grad(lambda lg, d=theirs: jnp.sum(d.logprob(a, lg) + d.entropy(lg)))(logits),
        )


def test_softmax_sample_under_jit_and_large_logits(rng):
    logits = f32(rng.normal(size=(4, 6)) * 1e4)
    ours = jax.jit(rlax_core.softmax(2.0).sample)
    theirs = rlax.softmax(2.0).sample
    equal([ours(k, logits) for k in KEYS[:10]], [theirs(k, logits) for k in KEYS[:10]])


_PREFS = f32([[1, 3, 3, 0, 2], [0, 0, 0, 0, 0], [5, 1, 2, 3, 4], [1, 2, 1, 2, 0], [0, 0, 1, 0, 0]])


def test_greedy(rng):
    a = jnp.asarray([1, 2, 0, 0, 2])
    ours, theirs = rlax_core.greedy(), rlax.greedy()
    assert ours.kl is None and theirs.kl is None
    equal([ours.sample(k, _PREFS) for k in KEYS], [theirs.sample(k, _PREFS) for k in KEYS])
    close(ours.probs(_PREFS), theirs.probs(_PREFS))
    close(ours.logprob(a, _PREFS), theirs.logprob(a, _PREFS))
    close(ours.entropy(_PREFS), theirs.entropy(_PREFS))


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5, 1.0])
def test_epsilon_greedy(rng, epsilon):
    a = jnp.asarray([1, 2, 0, 0, 2])
    ours, theirs = rlax_core.epsilon_greedy(epsilon), rlax.epsilon_greedy(epsilon)
    equal([ours.sample(k, _PREFS) for k in KEYS], [theirs.sample(k, _PREFS) for k in KEYS])
    close(ours.probs(_PREFS), theirs.probs(_PREFS))
    close(ours.logprob(a, _PREFS), theirs.logprob(a, _PREFS))
    close(ours.entropy(_PREFS), theirs.entropy(_PREFS))
    # epsilon passed per call (and as a traced value).
    ours, theirs = rlax_core.epsilon_greedy(), rlax.epsilon_greedy()
    eps = jnp.asarray(epsilon)
    equal(
        [jax.jit(ours.sample)(k, _PREFS, eps) for k in KEYS[:10]],
        [theirs.sample(k, _PREFS, eps) for k in KEYS[:10]],
    )


def test_categorical_sample(rng):
    probs = jax.nn.softmax(f32(rng.normal(size=(6, 5)) * 3))
    probs = probs.at[0].set(f32([0.0, 0.5, 0.0, 0.5, 0.0]))
    equal(
        [rlax_core.categorical_sample(k, probs) for k in KEYS],
        [rlax.categorical_sample(k, probs) for k in KEYS],
    )


def test_gaussian_diagonal(rng):
    mu, sig = f32(rng.normal(size=(6, 3))), f32(rng.uniform(0.2, 2.0, size=(6, 3)))
    x, mu1 = f32(rng.normal(size=(6, 3))), f32(rng.normal(size=(6, 3)))
    for ours, theirs, extra in [
        (rlax_core.gaussian_diagonal(), rlax.gaussian_diagonal(), (sig,)),
        (rlax_core.gaussian_diagonal(sig), rlax.gaussian_diagonal(sig), ()),
    ]:
        equal(
            [ours.sample(k, mu, *extra) for k in KEYS], [theirs.sample(k, mu, *extra) for k in KEYS]
        )
        close(ours.prob(x, mu, *extra), theirs.prob(x, mu, *extra))
        close(ours.logprob(x, mu, *extra), theirs.logprob(x, mu, *extra))
        close(ours.entropy(mu, *extra), theirs.entropy(mu, *extra))
        close(ours.kl_to_standard_normal(mu, *extra), theirs.kl_to_standard_normal(mu, *extra))
    ours, theirs = rlax_core.gaussian_diagonal(), rlax.gaussian_diagonal()
    close(ours.kl(mu, sig, mu1, sig[::-1]), theirs.kl(mu, sig, mu1, sig[::-1]))
    equal(ours.sample(KEYS[0], mu[0], sig[0]), theirs.sample(KEYS[0], mu[0], sig[0]))
    close(
        jax.grad(lambda m, s: jnp.sum(ours.logprob(x, m, s)), (0, 1))(mu, sig),
        jax.grad(lambda m, s: jnp.sum(theirs.logprob(x, m, s)), (0, 1))(mu, sig),
    )


def test_squashed_gaussian(rng):
    Spec = collections.namedtuple("Spec", "minimum maximum")
    spec = Spec(np.array([-1.0, 0.0, -2.0], np.float32), np.array([1.0, 2.0, 5.0], np.float32))
    mu, sig = f32(rng.normal(size=(6, 3))), f32(rng.normal(size=(6, 3)))
    mu1, sig1 = f32(rng.normal(size=(6, 3))), f32(rng.normal(size=(6, 3)))
    ours, theirs = rlax_core.squashed_gaussian(), rlax.squashed_gaussian(-3.0, 0.5)
    ours = rlax_core.squashed_gaussian(-3.0, 0.5)
    equal(
        [ours.sample(k, mu, sig, spec) for k in KEYS],
        [theirs.sample(k, mu, sig, spec) for k in KEYS],
    )
    s = theirs.sample(KEYS[3], mu, sig, spec)
    close(ours.logprob(s, mu, sig, spec), theirs.logprob(s, mu, sig, spec), rtol=1e-4)
    close(ours.prob(s, mu, sig, spec), theirs.prob(s, mu, sig, spec), rtol=1e-4)
    close(ours.entropy(mu, sig), theirs.entropy(mu, sig))
    close(ours.kl_to_standard_normal(mu, sig), theirs.kl_to_standard_normal(mu, sig))
    close(ours.kl(mu, sig, mu1, sig1), theirs.kl(mu, sig, mu1, sig1))


def test_categorical_helpers(rng):
    p, q = f32(rng.normal(size=(5, 4))), f32(rng.normal(size=(5, 4)))
    a = jnp.asarray(rng.integers(0, 4, size=5))
    labels = jax.nn.softmax(f32(rng.normal(size=(5, 4))))
    for name, args in [
        ("categorical_importance_sampling_ratios", (p, q, a)),
        ("categorical_importance_sampling_ratios", (p[0], q[0], a[0])),
        ("categorical_cross_entropy", (labels, q)),
        ("categorical_kl_divergence", (p, q)),
        ("categorical_kl_divergence", (p, q, 0.7)),
    ]:
        close(getattr(rlax_core, name)(*args), getattr(rlax, name)(*args))
    mu0, mu1 = f32(rng.normal(size=(5, 3))), f32(rng.normal(size=(5, 3)))
    s0, s1 = f32(rng.uniform(0.1, 2, size=(5, 3))), f32(rng.uniform(0.1, 2, size=(5, 3)))
    close(
        rlax_core.multivariate_normal_kl_divergence(mu0, s0, mu1, s1),
        rlax.multivariate_normal_kl_divergence(mu0, s0, mu1, s1),
    )


# ---------------------------------------------------------------------- exploration


def test_exploration_noise(rng):
    k = KEYS[5]
    a, n = f32(rng.normal(size=3)), f32(rng.normal(size=3))
    close(rlax_core.add_gaussian_noise(k, a, 0.3), rlax.add_gaussian_noise(k, a, 0.3))
    close(
        rlax_core.add_ornstein_uhlenbeck_noise(k, a, n, 0.15, 0.3),
        rlax.add_ornstein_uhlenbeck_noise(k, a, n, 0.15, 0.3),
    )
    prior = jax.nn.softmax(f32(rng.normal(size=(3, 5))))
    close(
        rlax_core.add_dirichlet_noise(k, prior, 0.3, 0.25),
        rlax.add_dirichlet_noise(k, prior, 0.3, 0.25),
    )


def test_episodic_memory_intrinsic_rewards(rng):
    ours_state = theirs_state = None
    for step in range(4):
        emb = f32(rng.normal(size=(3, 2)))
        r1, ours_state = rlax_core.episodic_memory_intrinsic_rewards(
            emb, 2, 1.5, ours_state, max_memory_size=5
        )
        r2, theirs_state = rlax.episodic_memory_intrinsic_rewards(
            emb, 2, 1.5, theirs_state, max_memory_size=5
        )
        close(r1, r2)
        for field in ["memory", "next_memory_index", "distance_sum", "distance_count"]:
            close(getattr(ours_state, field), getattr(theirs_state, field))
        assert step >= 0
    r1, _ = rlax_core.episodic_memory_intrinsic_rewards(emb, 1, 3.0, None, max_similarity=0.5)
    r2, _ = rlax.episodic_memory_intrinsic_rewards(emb, 1, 3.0, None, max_similarity=0.5)
    close(r1, r2)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_knn_query(rng, k):
    data, q = f32(rng.normal(size=(7, 3))), f32(rng.normal(size=(2, 3)))
    ours, theirs = rlax_core.knn_query(data, q, k), rlax.knn_query(data, q, k)
    for field in ["neighbors", "neighbor_indices", "neighbor_neg_distances"]:
        close(getattr(ours, field), getattr(theirs, field))


# ------------------------------------------------------------------------------ MPO


def _kl_constraints(mod, kl, kl2):
    return [
        (kl, mod.LagrangePenalty(jnp.asarray(2.0), 0.01)),
        (kl2, mod.LagrangePenalty(jnp.asarray([2.0, 3.0]), 0.02, True)),
    ]


@pytest.mark.parametrize("stop", [True, False])
def test_mpo_loss(rng, stop):
    S, B = 4, 3
    lp, q = f32(rng.normal(size=(S, B))), f32(rng.normal(size=(S, B)))
    kl, kl2 = f32(rng.uniform(size=B)), f32(rng.uniform(size=(B, 2)))

    def run(mod, alpha, lp, q, kl, **kw):
        tc = mod.LagrangePenalty(alpha, 0.1)
        return mod.mpo_loss(lp, q, tc, _kl_constraints(mod, kl, kl2), use_stop_gradient=stop, **kw)

    args = (jnp.asarray(0.5), lp, q, kl)
    close(run(rlax_core, *args), run(rlax, *args))
    w = dict(policy_loss_weight=2.0, temperature_loss_weight=3.0, kl_loss_weight=5.0)
    close(
        run(rlax_core, *args, alpha_loss_weight=7.0, **w),
        run(rlax, *args, alpha_loss_weight=7.0, **w),
    )
    close(
        run(rlax_core, args[0], lp.T, q.T, kl, sample_axis=1),
        run(rlax, args[0], lp.T, q.T, kl, sample_axis=1),
    )
    grads = [
        jax.grad(lambda *a, m=m: jnp.sum(run(m, *a)[0]), argnums=(0, 1, 2, 3))(*args)
        for m in (rlax_core, rlax)
    ]
    close(grads[0], grads[1])


@pytest.mark.parametrize("frac", [0.5, 1.0, 0.3])
@pytest.mark.parametrize("stop", [True, False])
def test_vmpo_loss(rng, frac, stop):
    T, B = 4, 2
    lp, adv = f32(rng.normal(size=(T, B))), f32(rng.normal(size=(T, B)))
    kl, iw = f32(rng.uniform(size=(T, B))), f32(rng.uniform(0.5, 2, size=(T, B)))

    def run(mod, alpha, lp, adv, kl, iw, rw=None):
        return mod.vmpo_loss(
            lp,
            adv,
            mod.LagrangePenalty(alpha, 0.1),
            [(kl, mod.LagrangePenalty(jnp.asarray(2.0), 0.01))],
            restarting_weights=rw,
            importance_weights=iw,
            top_k_fraction=frac,
            use_stop_gradient=stop,
        )

    args = (jnp.asarray(0.5), lp, adv, kl, iw)
    close(run(rlax_core, *args), run(rlax, *args))
    for rw in [
        jnp.ones((T, B)).at[3, 0].set(0.0),
        jnp.zeros((T, B)).at[0, 0].set(1.0),
    ]:
        close(run(rlax_core, *args, rw=rw), run(rlax, *args, rw=rw))
    close(
        run(rlax_core, *args[:2], adv * 1000, *args[3:]),
        run(rlax, *args[:2], adv * 1000, *args[3:]),
    )
    grads = [
        jax.grad(lambda *a, m=m: jnp.sum(run(m, *a)[0]), argnums=(0, 1, 2, 3, 4))(*args)
        for m in (rlax_core, rlax)
    ]
    close(grads[0], grads[1])
    rw = jnp.ones((T, B)).at[1, 1].set(0.0)
    grads = [
        jax.grad(lambda r, m=m: jnp.sum(run(m, *args, rw=r)[0]))(rw) for m in (rlax_core, rlax)
    ]
    close(grads[0], grads[1])


def test_mpo_e_steps(rng):
    q = f32(rng.normal(size=(4, 3)))
    tc = rlax.LagrangePenalty(jnp.asarray(0.7), 0.1)
    close(
        rlax_core.mpo_compute_weights_and_temperature_loss(q, tc, _PROJ),
        rlax.mpo_compute_weights_and_temperature_loss(q, tc, _PROJ),
    )
    ones = jnp.ones((4, 3))
    close(
        rlax_core.vmpo_compute_weights_and_temperature_loss(q, ones, ones, tc, _PROJ, 0.5),
        rlax.vmpo_compute_weights_and_temperature_loss(q, ones, ones, tc, _PROJ, 0.5),
    )
    # Per-dimension temperature: Q [S, B, D] with alpha [D].
    q3, lp3 = f32(rng.normal(size=(4, 3, 2))), f32(rng.normal(size=(4, 3, 2)))
    kl3 = f32(rng.uniform(size=(3, 2)))
    for tpd in [True, False]:
        outs = [
            m.mpo_loss(
                lp3,
                q3,
                m.LagrangePenalty(jnp.asarray([0.5, 2.0]), 0.1, tpd),
                [(kl3, m.LagrangePenalty(jnp.asarray(1.0), 0.01))],
            )
            for m in (rlax_core, rlax)
        ]
        close(outs[0], outs[1])
    kl = f32(rng.uniform(size=(3, 2)))
    for pd, alpha in [(False, jnp.asarray(2.0)), (True, jnp.asarray([2.0, 3.0]))]:
        c = [(kl, rlax.LagrangePenalty(alpha, 0.01, pd))]
        close(
            rlax_core.compute_parametric_kl_penalty_and_dual_loss(c, _PROJ),
            rlax.compute_parametric_kl_penalty_and_dual_loss(c, _PROJ),
        )


# -------------------------------------------------------------------------- Pop-Art


def test_popart(rng):
    results = []
    t = f32(rng.normal(size=6) * 5)
    for mod in (rlax_core, rlax):
        init, update = mod.popart(3, 0.1, 0.01, 100.0)
        s = init()
        idx = jnp.asarray([0, 0, 2, 0, 2, 1])
        s1 = mod.art(s, t, idx, 0.1, 0.01, 100.0)
        params = {"w": f32(np.arange(6.0).reshape(2, 3)), "b": f32([0.5, -1.0, 2.0])}
        results.append(
            [
                s,
                s1,
                update(params, s, t, idx),
                mod.pop(params, s, s1),
                mod.normalize(s1, t, idx),
                mod.unnormalize(s1, t, idx),
                mod.unnormalize_linear(s1, f32(np.arange(18.0).reshape(6, 3)), idx),
                mod.art(s1, f32([1e4, -1e4]), jnp.asarray([1, 1]), 0.5, 0.01, 100.0),
            ]
        )
    close(results[0], results[1])


# -------------------------------------------------------------- remaining utilities


def test_moving_averages(rng):
    tree = {"a": f32(rng.normal(size=3)), "b": f32(rng.normal(size=()))}
    outs = []
    for mod in (rlax_core, rlax):
        init, update = mod.create_ema(0.9)
        s = init(tree)
        m1, s = update(tree, s)
        m2, s = update(jax.tree.map(lambda x: 2 * x + 1, tree), s)
        outs.append((m1, m2, s, s.debiased_moments()))
    close(outs[0], outs[1])
    assert jax.tree.structure(jax.tree.map(lambda x: 0, outs[0][2])).num_leaves == 5


def test_gvf_and_model_learning(rng):
    f = f32(rng.normal(size=(5, 2)))
    for ct in ["feature", "absolute_change", "increase", "decrease"]:
        close(rlax_core.feature_control_rewards(f, ct), rlax.feature_control_rewards(f, ct))
    close(
        rlax_core.feature_control_rewards(f, "potential", 0.9),
        rlax.feature_control_rewards(f, "potential", 0.9),
    )
    obs = f32(rng.uniform(size=(3, 4, 6, 2)))
    close(rlax_core.pixel_control_rewards(obs, 2), rlax.pixel_control_rewards(obs, 2))
    traj = f32(np.arange(24.0).reshape(6, 2, 2))
    si = jnp.asarray([[0, 2], [1, 3]])
    close(rlax_core.extract_subsequences(traj, si, 3), rlax.extract_subsequences(traj, si, 3))
    for args in [(3, 2, 5), (4, 3, 3), (2, 1, 7)]:
        equal(
            rlax_core.sample_start_indices(KEYS[2], *args),
            rlax.sample_start_indices(KEYS[2], *args),
        )


def test_interruptions_embedding_nested():
    st = jnp.asarray([[0, 0, 0], [1, 1, 1], [1, 2, 0], [0, 1, 1], [1, 0, 2], [2, 1, 0]])
    equal(rlax_core.fix_step_type_on_interruptions(st), rlax.fix_step_type_on_interruptions(st))
    feats, act, rew = jnp.ones((2, 3)), jnp.asarray([0, 2]), f32([0.5, -3.0])
    close(rlax_core.embed_oar(feats, act, rew, 4), rlax.embed_oar(feats, act, rew, 4))
    new, old = {"x": f32([1.0, 2.0])}, {"x": f32([3.0, 4.0])}
    for s in range(4):
        close(
            rlax_core.periodic_update(new, old, jnp.asarray(s), 3),
            rlax.periodic_update(new, old, jnp.asarray(s), 3),
        )
    close(rlax_core.conditional_update(new, old, True), rlax.conditional_update(new, old, True))


def test_policy_targets():
    distrax = pytest.importorskip("distrax")
    d = distrax.Normal(jnp.zeros(2), jnp.ones(2))
    k = KEYS[1]
    for ours, theirs in [
        (
            rlax_core.constant_policy_targets(d, k, 4, 0.5),
            rlax.constant_policy_targets(d, k, 4, 0.5),
        ),
        (rlax_core.zero_policy_targets(d, k, 3), rlax.zero_policy_targets(d, k, 3)),
    ]:
        close((ours.actions, ours.weights), (theirs.actions, theirs.weights))
    pt = rlax.constant_policy_targets(d, k, 4, 0.5)
    ours_pt = rlax_core.PolicyTarget(actions=pt.actions, weights=pt.weights)
    d2 = distrax.Normal(f32([0.1, 0.3]), f32([1.0, 2.0]))
    close(
        rlax_core.sampled_policy_distillation_loss(d2, ours_pt),
        rlax.sampled_policy_distillation_loss(d2, pt),
    )
    dc = distrax.Categorical(logits=f32([[0.1, 0.5, 2.0], [1.0, 0.0, 0.0]]))
    ours, theirs = (
        rlax_core.constant_policy_targets(dc, k, 5),
        rlax.constant_policy_targets(dc, k, 5),
    )
    close((ours.actions, ours.weights), (theirs.actions, theirs.weights))


def test_tree_utils(rng):
    t1 = {"a": f32(rng.normal(size=(3, 2))), "b": (f32(rng.normal(size=(3,))),)}
    t2 = jax.tree.map(lambda x: x + 1, t1)
    close(
        rlax_core.tree_select(jnp.asarray(True), t1, t2),
        rlax.tree_select(jnp.asarray(True), t1, t2),
    )
    close(
        rlax_core.tree_map_zipped(lambda x, y: x * y, [t1, t2]),
        rlax.tree_map_zipped(lambda x, y: x * y, [t1, t2]),
    )
    equal(rlax_core.tree_split_key(KEYS[0], t1), rlax.tree_split_key(KEYS[0], t1))
    for keepdim in [False, True]:
        close(rlax_core.tree_split_leaves(t1, 0, keepdim), rlax.tree_split_leaves(t1, 0, keepdim))
    mask = jnp.asarray([True, False, True])
    close(rlax_core.tree_replace_masked(t1, t2, mask), rlax.tree_replace_masked(t1, t2, mask))
    close(rlax_core.tree_replace_masked(t1, None, mask), rlax.tree_replace_masked(t1, None, mask))
    close(rlax_core.tree_fn(jnp.sum, axis=0)(t1), rlax.tree_fn(jnp.sum, axis=0)(t1))
    t3 = {"a": f32(rng.normal(size=(3, 2, 4)))}
    close(rlax_core.transpose_first_axis_to_last(t3), rlax.transpose_first_axis_to_last(t3))
    close(rlax_core.transpose_last_axis_to_first(t3), rlax.transpose_last_axis_to_first(t3))


# --------------------------------------------------------------- cross-device forms


@pytest.mark.multidevice
def test_cross_device_forms_match_upstream(rng):
    assert jax.device_count() == 8
    n = 8
    adv, lp = f32(rng.normal(size=(n, 4, 2))), f32(rng.normal(size=(n, 4, 2)))
    kl = f32(rng.uniform(size=(n, 4, 2)))

    def vmpo(mod):
        def g(lp, adv, kl):
            return mod.vmpo_loss(
                lp,
                adv,
                mod.LagrangePenalty(jnp.asarray(0.5), 0.1),
                [(kl, mod.LagrangePenalty(jnp.asarray(2.0), 0.01))],
                axis_name="i",
            )

        return jax.pmap(g, axis_name="i")(lp, adv, kl)

    close(vmpo(rlax_core), vmpo(rlax))

    t = f32(rng.normal(size=(n, 5)) * 3)
    idx = jnp.asarray(rng.integers(0, 3, size=(n, 5)))

    def popart(mod):
        init, update = mod.popart(3, 0.01, 0.01, 100.0, axis_name="i")
        params = {"w": jnp.ones((n, 2, 3)), "b": jnp.zeros((n, 3))}
        state = jax.tree.map(lambda x: jnp.stack([x] * n), init())
        return jax.pmap(update, axis_name="i")(params, state, t, idx)

    close(popart(rlax_core), popart(rlax))

    tree = {"a": f32(rng.normal(size=(n, 3)))}

    def ema(mod):
        init, update = mod.create_ema(0.9, pmean_axis_name="i")
        return jax.pmap(lambda x: update(x, init(x)), axis_name="i")(tree)

    close(ema(rlax_core), ema(rlax))
