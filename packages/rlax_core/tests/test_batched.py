"""rlax_core.batched: episode-aware batched returns with terminated / truncated flags.

Expected values come from a NumPy reference written from the textbook definitions: every
environment's rollout is split into episode pieces explicitly, and each piece's targets are
computed as forward sums (n-step returns mixed by their lambda weights, sums of discounted TD
errors for GAE / V-trace, the Retrace sum of Munos et al.), never by the backward recurrence
the library uses.
"""

from __future__ import annotations

import functools
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shared_testing import strategies as sst
from shared_testing.grads import assert_grads_numerical

import rlax_core
from rlax_core import batched
from rlax_core._src import batched as batched_src
from rlax_core._src import scan

T, B, A = 6, 3, 4
RTOL, ATOL = 2e-5, 2e-4

# ----------------------------------------------------------------------------------------------
# NumPy reference.


def split_episodes(done: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` step ranges of the episode pieces of one rollout."""
    pieces, start = [], 0
    for t, d in enumerate(done):
        if d:
            pieces.append((start, t))
            start = t + 1
    if start < len(done):
        pieces.append((start, len(done) - 1))
    return pieces


def _columns(fn):
    """Applies a one-rollout reference to every column ``b`` of ``[T, B]`` inputs."""

    def wrapped(*arrays, **kw):
        outs = [fn(*[x[:, b] for x in arrays], **kw) for b in range(arrays[0].shape[1])]
        if isinstance(outs[0], tuple):
            return tuple(np.stack(o, axis=1) for o in zip(*outs, strict=True))
        return np.stack(outs, axis=1)

    return wrapped


def _n_step(r, v, g, t, m):
    """``m``-step return of one piece from ``t`` (``g`` already zero on a terminal step)."""
    ret, disc = 0.0, 1.0
    for k in range(t, t + m):
        ret += disc * r[k]
        disc *= g[k]
    return ret + disc * v[t + m - 1]


@_columns
def ref_lambda_returns(r, v_tp1, g, lam, term, trunc, n=None):
    """lambda-return = sum over m of (prod of lambdas continuing, 1 - lambda stopping) G^(m)."""
    out = np.zeros(len(r))
    for first, last in split_episodes(term | trunc):
        r_e, v_e, lam_e = r[first : last + 1], v_tp1[first : last + 1], lam[first : last + 1]
        g_e = np.where(term[first : last + 1], 0.0, g[first : last + 1])
        for i in range(len(r_e)):
            steps = len(r_e) - i if n is None else min(len(r_e) - i, n)
            total, weight = 0.0, 1.0
            for m in range(1, steps):
                total += weight * (1.0 - lam_e[i + m - 1]) * _n_step(r_e, v_e, g_e, i, m)
                weight *= lam_e[i + m - 1]
            out[first + i] = total + weight * _n_step(r_e, v_e, g_e, i, steps)
    return out


@_columns
def ref_gae(r, v_t, v_tp1, g, lam, term, trunc):
    """A_t = sum_{k >= t in the piece} (prod_{t <= j < k} g_j lambda_j) delta_k."""
    out = np.zeros(len(r))
    delta = r + np.where(term, 0.0, g) * v_tp1 - v_t
    for first, last in split_episodes(term | trunc):
        for t in range(first, last + 1):
            weight = 1.0
            for k in range(t, last + 1):
                out[t] += weight * delta[k]
                weight *= g[k] * lam[k]
    return out


@_columns
def ref_vtrace(v_t, v_tp1, r, g, rho, lam, term, trunc, clip_rho=1.0, clip_pg=1.0):
    """IMPALA: vs_t = v_t + sum_k (prod_{t <= j < k} g_j c_j) rho_bar_k delta_k, per piece."""
    n = len(r)
    gd = np.where(term, 0.0, g)
    delta = r + gd * v_tp1 - v_t
    c = lam * np.minimum(1.0, rho)
    rho_bar = np.minimum(clip_rho, rho)
    vs = v_t.astype(np.float64).copy()
    q_est = np.zeros(n)
    for first, last in split_episodes(term | trunc):
        for t in range(first, last + 1):
            weight = 1.0
            for k in range(t, last + 1):
                vs[t] += weight * rho_bar[k] * delta[k]
                weight *= g[k] * c[k]
        for t in range(first, last + 1):
            boot = v_tp1[t] if t == last else lam[t] * vs[t + 1] + (1 - lam[t]) * v_tp1[t]
            q_est[t] = r[t] + gd[t] * boot
    pg = np.minimum(clip_pg, rho) * (q_est - v_t)
    return vs - v_t, pg, q_est


@_columns
def ref_retrace(q_t, q_tp1, a_t, a_tp1, r, g, pi, mu, lam, term, trunc, eps=1e-8):
    """Munos et al.: G_s = r_s + g'_s E_s + sum_{t > s} (prod g'_j c_j)(r_t + g'_t E_t - Q(x_t,a_t))."""
    gd = np.where(term, 0.0, g)
    expected = np.sum(pi * q_tp1, axis=-1)
    idx = np.arange(len(r))
    q_next_taken = q_tp1[idx, a_tp1]
    c = lam * np.minimum(1.0, pi[idx, a_tp1] / (mu + eps))
    out = np.zeros(len(r))
    for first, last in split_episodes(term | trunc):
        for s in range(first, last + 1):
            total = r[s] + gd[s] * expected[s]
            weight = 1.0
            for t in range(s + 1, last + 1):
                weight *= gd[t - 1] * c[t - 1]
                total += weight * (r[t] + gd[t] * expected[t] - q_next_taken[t - 1])
            out[s] = total - q_t[s, a_t[s]]
    return out


def greedy_mask(q_tp1, a_tp1):
    taken = np.take_along_axis(q_tp1, a_tp1[..., None], axis=-1)[..., 0]
    return taken >= q_tp1.max(axis=-1)


# ----------------------------------------------------------------------------------------------
# Data.


def make_data(rng: np.random.Generator, term, trunc, shape=(T, B)) -> dict:
    t_len, b_len = shape
    f = lambda *s: rng.uniform(-2.0, 2.0, s).astype(np.float32)
    return dict(
        r=f(t_len, b_len),
        v_t=f(t_len, b_len),
        v_tp1=f(t_len, b_len),
        g=rng.uniform(0.5, 1.0, (t_len, b_len)).astype(np.float32),
        lam=rng.uniform(0.0, 1.0, (t_len, b_len)).astype(np.float32),
        rho=rng.uniform(0.2, 2.0, (t_len, b_len)).astype(np.float32),
        q_t=f(t_len, b_len, A),
        q_tp1=f(t_len, b_len, A),
        a_t=rng.integers(0, A, (t_len, b_len)).astype(np.int32),
        a_tp1=rng.integers(0, A, (t_len, b_len)).astype(np.int32),
        pi=rng.dirichlet(np.ones(A), (t_len, b_len)).astype(np.float32),
        mu=rng.uniform(0.1, 1.0, (t_len, b_len)).astype(np.float32),
        term=np.asarray(term, bool),
        trunc=np.asarray(trunc, bool),
    )


_STATIC = ("time_axis", "stop_target_gradients", "method", "unroll")
J = {
    name: jax.jit(
        getattr(batched, name), static_argnames=("time_axis", "stop_target_gradients", "n")
    )
    if name == "n_step_returns"
    else jax.jit(getattr(batched, name), static_argnames=_STATIC)
    for name in batched.__all__
    if name not in ("BoundaryFlagError", "VTraceOutput")
}


def check_all_against_reference(d: dict) -> None:
    """Runs every batched op on ``d`` and compares with the NumPy reference."""
    r, v_t, v_tp1, g, lam = d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"]
    term, trunc = d["term"], d["trunc"]
    flags = dict(terminated=term, truncated=trunc)
    close = functools.partial(np.testing.assert_allclose, rtol=RTOL, atol=ATOL)
    ones = np.ones_like(g)

    close(
        J["lambda_returns"](r, v_tp1, g, lam, **flags),
        ref_lambda_returns(r, v_tp1, g, lam, term, trunc),
    )
    close(
        J["discounted_returns"](r, v_tp1, g, **flags),
        ref_lambda_returns(r, v_tp1, g, ones, term, trunc),
    )
    for n in (1, 2, 4):
        close(
            J["n_step_returns"](r, v_tp1, g, n, lam, **flags),
            ref_lambda_returns(r, v_tp1, g, lam, term, trunc, n=n),
            err_msg=f"n={n}",
        )
    close(J["gae"](r, v_t, v_tp1, g, lam, **flags), ref_gae(r, v_t, v_tp1, g, lam, term, trunc))
    close(
        J["td_lambda_errors"](r, v_t, v_tp1, g, lam, **flags),
        ref_lambda_returns(r, v_tp1, g, lam, term, trunc) - v_t,
    )
    v_max = d["q_tp1"].max(axis=-1)
    close(
        J["peng_q_lambda_returns"](r, d["q_tp1"], g, lam, **flags),
        ref_lambda_returns(r, v_max, g, lam, term, trunc),
    )
    lam_w = lam * greedy_mask(d["q_tp1"], d["a_tp1"])
    close(
        J["watkins_q_lambda_returns"](r, d["q_tp1"], d["a_tp1"], g, lam, **flags),
        ref_lambda_returns(r, v_max, g, lam_w, term, trunc),
    )
    out = J["vtrace"](
        v_t, v_tp1, r, g, d["rho"], lambda_=lam, clip_rho_threshold=1.3,
        clip_pg_rho_threshold=0.8, **flags,
    )  # fmt: skip
    want = ref_vtrace(v_t, v_tp1, r, g, d["rho"], lam, term, trunc, clip_rho=1.3, clip_pg=0.8)
    for got, exp, name in zip(out, want, out._fields, strict=True):
        close(got, exp, err_msg=name)
    close(
        J["retrace"](
            d["q_t"], d["q_tp1"], d["a_t"], d["a_tp1"], r, g, d["pi"], d["mu"], lam, **flags
        ),
        ref_retrace(
            d["q_t"], d["q_tp1"], d["a_t"], d["a_tp1"], r, g, d["pi"], d["mu"], lam, term, trunc
        ),
    )


# ----------------------------------------------------------------------------------------------
# Agreement with the reference.


def _pattern(name: str) -> tuple[np.ndarray, np.ndarray]:
    z = np.zeros((T, B), bool)
    term, trunc = z.copy(), z.copy()
    if name == "all_truncated":
        trunc[:] = True
    elif name == "all_terminated":
        term[:] = True
    elif name == "at_t0":
        term[0, 0], trunc[0, 1] = True, True
    elif name == "at_last_step":
        term[-1, 0], trunc[-1, 1] = True, True
    elif name == "both_same_step":
        term[2, :], trunc[2, :] = True, True
        trunc[4, 1] = True
    elif name == "mixed":
        term[1, 0], trunc[3, 0], trunc[2, 1], term[4, 1], term[0, 2], trunc[5, 2] = (True,) * 6
    return term, trunc


PATTERNS = [
    "none",
    "all_truncated",
    "all_terminated",
    "at_t0",
    "at_last_step",
    "both_same_step",
    "mixed",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_op_matches_reference_on_explicit_boundaries(pattern, np_rng):
    check_all_against_reference(make_data(np_rng, *_pattern(pattern)))


@settings(max_examples=15)
@given(
    term=hnp.arrays(np.bool_, (T, B)),
    trunc=hnp.arrays(np.bool_, (T, B)),
    r=sst.float_arrays((T, B), -3.0, 3.0),
    g=sst.discounts((T, B)),
    seed=st.integers(0, 2**16),
)
def test_every_op_matches_reference_on_random_boundaries(term, trunc, r, g, seed):
    d = make_data(np.random.default_rng(seed), term, trunc)
    d["r"], d["g"] = r, g
    check_all_against_reference(d)


def test_reference_splits_episodes_as_documented():
    # The reference itself: pieces end on done steps and at the window end.
    assert split_episodes(np.array([0, 1, 0, 0, 1, 0], bool)) == [(0, 1), (2, 4), (5, 5)]
    assert split_episodes(np.array([0, 0, 1], bool)) == [(0, 2)]
    # Hand-computed: r = 1, g = 0.5, lambda = 1, term at step 1, v = 10 -> [1.5, 1, 6].
    term = np.array([[False], [True], [False]])
    got = ref_lambda_returns(
        np.ones((3, 1)), np.full((3, 1), 10.0), np.full((3, 1), 0.5), np.ones((3, 1)),
        term, np.zeros_like(term),
    )  # fmt: skip
    np.testing.assert_allclose(got[:, 0], [1.5, 1.0, 6.0])


def test_hand_computed_gae_with_truncation_and_termination():
    # Episode 1: steps 0-1, truncated at 1 (bootstrap v_tp1[1] = 4); episode 2: steps 2-3,
    # terminated at 3. r = 1, g = 0.5, lambda = 1, v_t = 0 everywhere.
    r = jnp.ones((4, 1))
    v_t = jnp.zeros((4, 1))
    v_tp1 = jnp.array([[0.0], [4.0], [0.0], [9.0]])
    trunc = jnp.array([[False], [True], [False], [False]])
    term = jnp.array([[False], [False], [False], [True]])
    adv = batched.gae(r, v_t, v_tp1, 0.5, 1.0, terminated=term, truncated=trunc)
    # A_1 = 1 + 0.5 * 4 = 3; A_0 = 1 + 0.5 * 3 = 2.5; A_3 = 1; A_2 = 1 + 0.5 * 1 = 1.5.
    np.testing.assert_allclose(np.asarray(adv)[:, 0], [2.5, 3.0, 1.5, 1.0])


# ----------------------------------------------------------------------------------------------
# Boundary semantics.


def test_terminated_and_truncated_differ_exactly_by_the_bootstrap_term(np_rng):
    d = make_data(np_rng, np.zeros((T, B), bool), np.zeros((T, B), bool))
    flag = np.zeros((T, B), bool)
    flag[3, :] = True
    r, v_t, v_tp1, g, lam = d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"]
    # The bootstrap term of step 3 reaches step t < 3 with weight prod_{t <= j < 3} g_j lambda_j.
    weight = np.ones((T, B))
    for t in range(3):
        weight[t] = np.prod(g[t:3] * lam[t:3], axis=0)
    weight[4:] = 0.0
    expected = weight * g[3] * v_tp1[3]
    for name, args in (
        ("lambda_returns", (r, v_tp1, g, lam)),
        ("gae", (r, v_t, v_tp1, g, lam)),
        ("td_lambda_errors", (r, v_t, v_tp1, g, lam)),
    ):
        as_trunc = J[name](*args, truncated=flag)
        as_term = J[name](*args, terminated=flag)
        np.testing.assert_allclose(as_trunc - as_term, expected, rtol=1e-5, atol=1e-5, err_msg=name)
    # Peng's Q(lambda): the bootstrap is max_a q_tp1.
    as_trunc = J["peng_q_lambda_returns"](r, d["q_tp1"], g, lam, truncated=flag)
    as_term = J["peng_q_lambda_returns"](r, d["q_tp1"], g, lam, terminated=flag)
    expected_q = weight * g[3] * d["q_tp1"][3].max(axis=-1)
    np.testing.assert_allclose(as_trunc - as_term, expected_q, rtol=1e-5, atol=1e-5)


def test_terminated_wins_when_both_flags_are_set(np_rng):
    term, trunc = _pattern("both_same_step")
    d = make_data(np_rng, term, trunc)
    args = (d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"])
    both = J["gae"](*args, terminated=term, truncated=term)
    only_term = J["gae"](*args, terminated=term)
    np.testing.assert_allclose(both, only_term, rtol=1e-6, atol=1e-6)
    both = J["lambda_returns"](
        d["r"], d["v_tp1"], d["g"], d["lam"], terminated=term, truncated=term
    )
    only_term = J["lambda_returns"](d["r"], d["v_tp1"], d["g"], d["lam"], terminated=term)
    np.testing.assert_allclose(both, only_term, rtol=1e-6, atol=1e-6)


def test_nothing_leaks_across_a_boundary(np_rng):
    term, trunc = np.zeros((T, B), bool), np.zeros((T, B), bool)
    trunc[2, :] = True
    d = make_data(np_rng, term, trunc)
    base = J["lambda_returns"](d["r"], d["v_tp1"], d["g"], d["lam"], truncated=trunc)
    r2 = d["r"].copy()
    r2[3:] += 100.0  # rewards of the next episode
    moved = J["lambda_returns"](r2, d["v_tp1"], d["g"], d["lam"], truncated=trunc)
    np.testing.assert_array_equal(np.asarray(base)[:3], np.asarray(moved)[:3])
    assert np.all(np.asarray(moved)[3:] > np.asarray(base)[3:])


# ----------------------------------------------------------------------------------------------
# Equivalence with the single-trajectory ops when there is no boundary.


def _vmap1(fn, **kw):
    return jax.vmap(functools.partial(fn, **kw), in_axes=1, out_axes=1)


def test_no_boundary_equals_vmap_of_single_trajectory_ops(np_rng):
    d = make_data(np_rng, np.zeros((T, B), bool), np.zeros((T, B), bool))
    r, g, lam = d["r"], d["g"], d["lam"]
    # Consistent values: v_tp1[t] is v_t[t + 1] inside the window.
    values = np_rng.uniform(-2, 2, (T + 1, B)).astype(np.float32)
    v_t, v_tp1 = values[:-1], values[1:]
    close = functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-5)

    close(J["lambda_returns"](r, v_tp1, g, lam), _vmap1(rlax_core.lambda_returns)(r, g, v_tp1, lam))
    close(J["discounted_returns"](r, v_tp1, g), _vmap1(rlax_core.discounted_returns)(r, g, v_tp1))
    for n in (1, 3):
        single = jax.vmap(
            lambda r_, g_, v_, l_, n=n: rlax_core.n_step_bootstrapped_returns(r_, g_, v_, n, l_),
            in_axes=1, out_axes=1,
        )  # fmt: skip
        close(J["n_step_returns"](r, v_tp1, g, n, lam), single(r, g, v_tp1, lam))
    close(
        J["gae"](r, v_t, v_tp1, g, lam),
        _vmap1(rlax_core.truncated_generalized_advantage_estimation)(r, g, lam, values),
    )
    close(
        J["td_lambda_errors"](r, v_t, v_tp1, g, lam),
        _vmap1(rlax_core.td_lambda)(v_t, r, g, v_tp1, lam),
    )
    q_t, q_tp1, a_t, a_tp1 = d["q_t"], d["q_tp1"], d["a_t"], d["a_tp1"]
    taken = np.take_along_axis(q_t, a_t[..., None], axis=-1)[..., 0]
    close(
        J["peng_q_lambda_returns"](r, q_tp1, g, lam) - taken,
        _vmap1(rlax_core.q_lambda)(q_t, a_t, r, g, q_tp1, lam),
    )
    lam_w = lam * greedy_mask(q_tp1, a_tp1)
    close(
        J["watkins_q_lambda_returns"](r, q_tp1, a_tp1, g, lam) - taken,
        _vmap1(rlax_core.q_lambda)(q_t, a_t, r, g, q_tp1, lam_w),
    )
    out = J["vtrace"](v_t, v_tp1, r, g, d["rho"], lambda_=lam, clip_pg_rho_threshold=0.7)
    single = _vmap1(rlax_core.vtrace_td_error_and_advantage, clip_pg_rho_threshold=0.7)(
        v_t, v_tp1, r, g, d["rho"], lam
    )
    for got, exp, name in zip(out, single, out._fields, strict=True):
        close(got, exp, err_msg=name)
    close(
        J["retrace"](q_t, q_tp1, a_t, a_tp1, r, g, d["pi"], d["mu"], lam),
        _vmap1(rlax_core.retrace)(q_t, q_tp1, a_t, a_tp1, r, g, d["pi"], d["mu"], lam),
    )


# ----------------------------------------------------------------------------------------------
# Layout, solvers, transformations.


def _calls(d: dict) -> dict:
    """Per op: (positional [T, B]/[T, B, A] args, scalar-or-static args) for layout tests."""
    return {
        "lambda_returns": ((d["r"], d["v_tp1"], d["g"], d["lam"]), {}),
        "discounted_returns": ((d["r"], d["v_tp1"], d["g"]), {}),
        "gae": ((d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"]), {}),
        "td_lambda_errors": ((d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"]), {}),
        "peng_q_lambda_returns": ((d["r"], d["q_tp1"], d["g"], d["lam"]), {}),
        "watkins_q_lambda_returns": ((d["r"], d["q_tp1"], d["a_tp1"], d["g"], d["lam"]), {}),
        "vtrace": ((d["v_t"], d["v_tp1"], d["r"], d["g"], d["rho"]), {"lambda_": d["lam"]}),
        "retrace": (
            (
                d["q_t"],
                d["q_tp1"],
                d["a_t"],
                d["a_tp1"],
                d["r"],
                d["g"],
                d["pi"],
                d["mu"],
                d["lam"],
            ),
            {},
        ),
    }


def _swap(x):
    return np.swapaxes(x, 0, 1) if np.ndim(x) >= 2 else x


def test_time_axis_1_gives_the_transposed_result(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    for name, (args, kw) in _calls(d).items():
        flags = dict(terminated=term, truncated=trunc)
        want = J[name](*args, **kw, **flags)
        kw_t = {k: _swap(v) for k, v in kw.items()}
        flags_t = {k: _swap(v) for k, v in flags.items()}
        got = J[name](*map(_swap, args), **kw_t, **flags_t, time_axis=1)
        for g_leaf, w_leaf in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            assert g_leaf.shape == (B, T), name
            np.testing.assert_allclose(g_leaf, np.swapaxes(w_leaf, 0, 1), rtol=1e-6, atol=1e-6)
    got = J["n_step_returns"](_swap(d["r"]), _swap(d["v_tp1"]), 0.9, 3, time_axis=-1)
    np.testing.assert_allclose(got.T, J["n_step_returns"](d["r"], d["v_tp1"], 0.9, 3), rtol=1e-6)


def test_associative_and_sequential_agree():
    rng = np.random.default_rng(0)
    t_len = 96
    term = rng.random((t_len, B)) < 0.03
    trunc = rng.random((t_len, B)) < 0.03
    d = make_data(rng, term, trunc, shape=(t_len, B))
    d["g"] = np.full_like(d["g"], 0.99)
    calls = _calls(d)
    # The ops share one recurrence helper; these cover each way of building its coefficients.
    for name in ("lambda_returns", "gae", "vtrace", "retrace"):
        args, kw = calls[name]
        flags = dict(terminated=term, truncated=trunc)
        seq = J[name](*args, **kw, **flags, method="sequential")
        assoc = J[name](*args, **kw, **flags, method="associative")
        for s, a in zip(jax.tree.leaves(seq), jax.tree.leaves(assoc), strict=True):
            bound = scan.SCAN_RTOL * float(np.max(np.abs(s))) + scan.SCAN_ATOL
            assert float(np.max(np.abs(np.asarray(s) - np.asarray(a)))) <= bound, name


def test_auto_method_and_unroll_give_the_same_values(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    args = (d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"])
    want = J["gae"](*args, terminated=term, truncated=trunc, method="sequential")
    for kw in ({"method": "auto"}, {"unroll": 3}, {"unroll": True}):
        got = J["gae"](*args, terminated=term, truncated=trunc, **kw)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_eager_jit_and_vmap_agree(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    args = (d["r"], d["v_t"], d["v_tp1"], d["g"], d["lam"])
    eager = batched.gae(*args, terminated=term, truncated=trunc)
    jitted = jax.jit(batched.gae)(*args, terminated=term, truncated=trunc)
    np.testing.assert_allclose(eager, jitted, rtol=1e-6, atol=1e-6)
    # vmap over an extra leading axis of stacked rollouts.
    stacked = [np.stack([x, x[::-1]]) for x in args]
    flags = [np.stack([f, f[::-1]]) for f in (term, trunc)]
    out = jax.vmap(lambda r, vt, vn, g, lam, te, tr: batched.gae(
        r, vt, vn, g, lam, terminated=te, truncated=tr))(*stacked, *flags)  # fmt: skip
    np.testing.assert_allclose(out[0], eager, rtol=1e-6, atol=1e-6)
    second = batched.gae(*[x[::-1] for x in args], terminated=term[::-1], truncated=trunc[::-1])
    np.testing.assert_allclose(out[1], second, rtol=1e-6, atol=1e-6)


def test_scalar_and_per_step_parameters_agree(np_rng):
    d = make_data(np_rng, *_pattern("mixed"))
    full_g, full_l = np.full((T, B), 0.9, np.float32), np.full((T, B), 0.7, np.float32)
    for name in ("lambda_returns", "peng_q_lambda_returns"):
        second = d["v_tp1"] if name == "lambda_returns" else d["q_tp1"]
        a = J[name](d["r"], second, 0.9, 0.7, terminated=d["term"], truncated=d["trunc"])
        b = J[name](d["r"], second, full_g, full_l, terminated=d["term"], truncated=d["trunc"])
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_dtype_follows_inputs():
    r = jnp.ones((T, B), jnp.bfloat16)
    out = batched.lambda_returns(r, jnp.ones((T, B), jnp.bfloat16), 0.9, 0.5)
    assert out.dtype == jnp.bfloat16
    out = batched.gae(jnp.ones((T, B)), jnp.ones((T, B)), jnp.ones((T, B)), 1, 1)
    assert out.dtype == jnp.float32


# ----------------------------------------------------------------------------------------------
# Gradients.


def test_default_stops_gradients_through_targets(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    flags = dict(terminated=term, truncated=trunc)
    r, v_t, g, lam = d["r"], d["v_t"], d["g"], d["lam"]
    grads = {
        "lambda_returns": jax.grad(lambda v: J["lambda_returns"](r, v, g, lam, **flags).sum()),
        "discounted_returns": jax.grad(lambda v: J["discounted_returns"](r, v, g, **flags).sum()),
        "n_step_returns": jax.grad(lambda v: J["n_step_returns"](r, v, g, 2, lam, **flags).sum()),
        "gae": jax.grad(lambda v: J["gae"](r, v_t, v, g, lam, **flags).sum()),
        "td_lambda_errors": jax.grad(
            lambda v: J["td_lambda_errors"](r, v_t, v, g, lam, **flags).sum()
        ),
        "vtrace": jax.grad(
            lambda v: sum(x.sum() for x in J["vtrace"](v_t, v, r, g, d["rho"], **flags))
        ),
    }
    for name, grad in grads.items():
        np.testing.assert_array_equal(grad(d["v_tp1"]), 0.0, err_msg=name)
    q_grads = {
        "peng": jax.grad(lambda q: J["peng_q_lambda_returns"](r, q, g, lam, **flags).sum()),
        "watkins": jax.grad(
            lambda q: J["watkins_q_lambda_returns"](r, q, d["a_tp1"], g, lam, **flags).sum()
        ),
        "retrace": jax.grad(
            lambda q: J["retrace"](
                d["q_t"], q, d["a_t"], d["a_tp1"], r, g, d["pi"], d["mu"], lam, **flags
            ).sum()
        ),
    }
    for name, grad in q_grads.items():
        np.testing.assert_array_equal(grad(d["q_tp1"]), 0.0, err_msg=name)
    # The prediction still receives its gradient: d(sum(G - v_t)) / d v_t = -1.
    grad_v = jax.grad(lambda v: J["td_lambda_errors"](r, v, d["v_tp1"], g, lam, **flags).sum())
    np.testing.assert_array_equal(grad_v(v_t), -1.0)


@pytest.mark.x64
def test_unstopped_gradients_are_nonzero_and_match_finite_differences():
    rng = np.random.default_rng(3)
    term, trunc = _pattern("mixed")
    d = {
        k: (v.astype(np.float64) if v.dtype == np.float32 else v)
        for k, v in make_data(rng, term, trunc).items()
    }
    flags = dict(terminated=term, truncated=trunc, stop_target_gradients=False)
    r, v_t, g, lam = d["r"], d["v_t"], d["g"], d["lam"]
    fns = {
        "lambda_returns": lambda v: batched.lambda_returns(r, v, g, lam, **flags),
        "discounted_returns": lambda v: batched.discounted_returns(r, v, g, **flags),
        "n_step_returns": lambda v: batched.n_step_returns(r, v, g, 3, lam, **flags),
        "gae": lambda v: batched.gae(r, v_t, v, g, lam, **flags),
        "td_lambda_errors": lambda v: batched.td_lambda_errors(r, v_t, v, g, lam, **flags),
        "vtrace": lambda v: tuple(batched.vtrace(v_t, v, r, g, d["rho"], lambda_=lam, **flags)),
    }
    for name, fn in fns.items():
        fn = jax.jit(fn)
        grad = jax.grad(lambda v, fn=fn: sum(jnp.sum(x**2) for x in jax.tree.leaves(fn(v))))
        assert np.any(np.asarray(grad(d["v_tp1"])) != 0.0), name
        assert_grads_numerical(fn, (d["v_tp1"],), modes=("rev",), eps=1e-5, rtol=1e-5, atol=1e-7)
    q_fns = {
        "peng": lambda q: batched.peng_q_lambda_returns(r, q, g, lam, **flags),
        "retrace": lambda q: batched.retrace(
            d["q_t"], q, d["a_t"], d["a_tp1"], r, g, d["pi"], d["mu"], lam, **flags
        ),
    }
    for name, fn in q_fns.items():
        fn = jax.jit(fn)
        grad = jax.grad(lambda q, fn=fn: jnp.sum(fn(q) ** 2))
        assert np.any(np.asarray(grad(d["q_tp1"])) != 0.0), name
        assert_grads_numerical(fn, (d["q_tp1"],), modes=("rev",), eps=1e-5, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# Errors.


def _err(fn, *args, match, exc=ValueError, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_shape_errors_name_function_argument_and_shapes():
    r = jnp.zeros((T, B))
    v = jnp.zeros((T, B))
    _err(batched.gae, r, v, jnp.zeros((T + 1, B)), 0.9, 0.9,
         match=r"rlax_core\.batched\.gae: `v_tp1` must have leading shape \(6, 3\).*T 7 != 6")  # fmt: skip
    _err(batched.lambda_returns, r, jnp.zeros((T, B + 1)), 0.9,
         match=r"rlax_core\.batched\.lambda_returns: `v_tp1`.*B 4 != 3")  # fmt: skip
    _err(batched.lambda_returns, r, jnp.zeros((T,)), 0.9,
         match=r"rlax_core\.batched\.lambda_returns: `v_tp1` must have rank 2 \(\[T, B\]\), got shape \(6,\)")  # fmt: skip
    _err(
        batched.lambda_returns,
        jnp.zeros((T,)),
        jnp.zeros((T,)),
        0.9,
        match=r"`r_t` must have rank 2",
    )
    _err(batched.peng_q_lambda_returns, r, v, 0.9, 0.5,
         match=r"peng_q_lambda_returns: `q_tp1` must have rank 3 \(\[T, B, A\]\)")  # fmt: skip
    _err(batched.lambda_returns, r, v, jnp.zeros((T,)),
         match=r"`discount_t` must be a scalar or a per-step \[T, B\] array of shape \(6, 3\), got shape \(6,\)")  # fmt: skip
    _err(batched.lambda_returns, r, v, 0.9, jnp.zeros((B, T)),
         match=r"`lambda_` must have leading shape \(6, 3\)")  # fmt: skip
    _err(batched.gae, r, v, v, 0.9, 0.9, terminated=jnp.zeros((T, B + 1), bool),
         match=r"gae: `terminated` must have leading shape")  # fmt: skip
    _err(batched.retrace, jnp.zeros((T, B, A)), jnp.zeros((T, B, A + 1)), jnp.zeros((T, B), int),
         jnp.zeros((T, B), int), r, 0.9, jnp.zeros((T, B, A)), v, 1.0,
         match=r"retrace: `q_tp1` must have 4 actions")  # fmt: skip
    _err(
        batched.n_step_returns, r, v, 0.9, 0, match=r"n_step_returns: `n` must be a static int >= 1"
    )


@pytest.mark.parametrize("time_axis", [2, -3, 1.0, None, True])
def test_time_axis_out_of_range_raises(time_axis):
    r = jnp.zeros((T, B))
    _err(batched.gae, r, r, r, 0.9, 0.9, time_axis=time_axis,
         match=r"rlax_core\.batched\.gae: `time_axis`")  # fmt: skip


def test_batch_major_mismatch_message_uses_caller_layout():
    r = jnp.zeros((B, T))
    _err(batched.lambda_returns, r, jnp.zeros((T, B)), 0.9, time_axis=1,
         match=r"`v_tp1` must have leading shape \(3, 6\) like `r_t` \(\[B, T\] with time_axis=1\)")  # fmt: skip


@pytest.mark.parametrize("flag_name", ["terminated", "truncated"])
def test_non_boolean_flags_raise_boundary_flag_error(flag_name):
    r = jnp.zeros((T, B))
    flag = {flag_name: jnp.zeros((T, B), jnp.float32)}
    msg = rf"rlax_core\.batched\.gae: `{flag_name}` must be a boolean array \(or None\), got dtype float32"
    for exc in (batched.BoundaryFlagError, TypeError, ValueError):
        _err(batched.gae, r, r, r, 0.9, 0.9, match=msg, exc=exc, **flag)


def test_dtype_errors():
    r = jnp.zeros((T, B))
    _err(batched.gae, jnp.zeros((T, B), int), r, r, 0.9, 0.9, exc=TypeError,
         match=r"gae: `r_t` must have a floating-point dtype, got int32")  # fmt: skip
    _err(batched.watkins_q_lambda_returns, r, jnp.zeros((T, B, A)), r, 0.9, 0.5, exc=TypeError,
         match=r"`a_tp1` must have an integer dtype")  # fmt: skip
    _err(
        batched.lambda_returns,
        r,
        r,
        True,
        exc=TypeError,
        match=r"`discount_t` must be a real number",
    )


# ----------------------------------------------------------------------------------------------
# Namespace and docstrings.


def test_namespace_is_a_submodule_not_in_top_level_all():
    assert rlax_core.batched is batched
    assert "batched" not in rlax_core.__all__
    for name in batched.__all__:
        assert getattr(batched, name) is getattr(batched_src, name)
    assert batched.VTraceOutput is rlax_core.VTraceOutput


def test_every_public_function_documents_args_returns_and_an_example():
    # The examples themselves run in test_docstring_examples.py (rlax_core.batched.* entries).
    for name in batched.__all__:
        doc = getattr(batched, name).__doc__ or ""
        assert ">>>" in doc, name
        if callable(getattr(batched, name)) and name not in ("BoundaryFlagError", "VTraceOutput"):
            assert "Args:" in doc and "Returns:" in doc, name


def test_readme_section_runs_and_matches_reference(capsys):
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text()
    section = text.split("## Batched returns with terminated / truncated", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python example in the README's batched section"
    namespace: dict = {}
    exec(compile(match.group(1), str(readme), "exec"), namespace)
    assert capsys.readouterr().out.strip() == "True True"
    r, v_t, v_tp1 = (np.asarray(namespace[k]) for k in ("r", "v_t", "v_tp1"))
    term, trunc = np.asarray(namespace["terminated"]), np.asarray(namespace["truncated"])
    assert term.any() and trunc.any()
    full = lambda x: np.full(r.shape, x, np.float32)
    want = ref_gae(r, v_t, v_tp1, full(0.99), full(0.95), term, trunc)
    np.testing.assert_allclose(namespace["advantages"], want, rtol=RTOL, atol=ATOL)


def test_next_action_and_behaviour_probability_are_not_read_at_episode_ends(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    ends = term | trunc
    ends[-1] = True
    a_pad = np.where(ends, 10_000, d["a_tp1"]).astype(np.int32)  # out of range on purpose
    mu_pad = np.where(ends, np.nan, d["mu"]).astype(np.float32)
    flags = dict(terminated=term, truncated=trunc)
    args = (d["q_t"], d["q_tp1"], d["a_t"])
    want = J["retrace"](*args, d["a_tp1"], d["r"], d["g"], d["pi"], d["mu"], d["lam"], **flags)
    got = J["retrace"](*args, a_pad, d["r"], d["g"], d["pi"], mu_pad, d["lam"], **flags)
    np.testing.assert_array_equal(got, want)
    want = J["watkins_q_lambda_returns"](d["r"], d["q_tp1"], d["a_tp1"], d["g"], d["lam"], **flags)
    got = J["watkins_q_lambda_returns"](d["r"], d["q_tp1"], a_pad, d["g"], d["lam"], **flags)
    np.testing.assert_array_equal(got, want)


def test_bootstrap_values_of_terminated_steps_are_ignored(np_rng):
    term, trunc = _pattern("mixed")
    d = make_data(np_rng, term, trunc)
    nan_v = np.where(term, np.nan, d["v_tp1"]).astype(np.float32)
    nan_q = np.where(term[..., None], np.nan, d["q_tp1"]).astype(np.float32)
    nan_pi = np.where(term[..., None], np.nan, d["pi"]).astype(np.float32)
    clean, dirty = _calls(d), _calls({**d, "v_tp1": nan_v, "q_tp1": nan_q, "pi": nan_pi})
    clean["n_step_returns"] = ((d["r"], d["v_tp1"], d["g"], 3, d["lam"]), {})
    dirty["n_step_returns"] = ((d["r"], nan_v, d["g"], 3, d["lam"]), {})
    for name in clean:
        want = J[name](*clean[name][0], **clean[name][1], terminated=term, truncated=trunc)
        got = J[name](*dirty[name][0], **dirty[name][1], terminated=term, truncated=trunc)
        for g_leaf, w_leaf in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_array_equal(g_leaf, w_leaf, err_msg=name)
