"""Registry-driven checks over every part-2 function: jit(vmap(f)) equals a loop of eager f.

Part 2 is every public rlax_core callable not covered by ``test_part1_registry.py``: policy
gradients, distributions (each method of the returned distribution objects), exploration,
MPO ops, Pop-Art, policy targets, GVFs, model learning, interruptions, nested updates,
embedding, episodic memory, moving averages and tree utilities.

Each entry gives builders for one unbatched call's arguments (arrays or pytrees of arrays;
PRNG keys included). The tests stack two independent draws into a batch and check:

* ``jax.jit(jax.vmap(f))`` equals calling ``f`` eagerly on each draw;
* for entries with ``grad`` argument indices, the gradient of a fixed weighted sum of
  ``f``'s float outputs is finite, and ``jit(vmap(grad))`` equals the eager gradients;
  with ``fd=True`` the gradient is also compared with a central finite difference
  along a random direction (entries that stop gradients on purpose set ``fd=False``).

Coverage tests fail when a public rlax_core name is in neither registry (nor in the
explicit exemption lists), or when a distribution method has no entry.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax

sys.path.insert(0, str(Path(__file__).parent))
import test_part1_registry as part1

# conditional_update/periodic_update warn on every call (as rlax does); that warning is
# tested in test_nested_updates.py.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")

T, A, D, S = 4, 3, 2, 5


def _r(g, *s):
    return np.asarray(g.normal(size=s), np.float32)


def _u(g, *s):
    return np.asarray(g.uniform(0.1, 0.9, size=s), np.float32)


def _pos(g, *s):
    return np.asarray(g.uniform(0.5, 1.5, size=s), np.float32)


def _a(g, *s):
    return np.asarray(g.integers(0, A, size=s), np.int32)


def _p(g, *s):
    e = np.exp(g.normal(size=s))
    return np.asarray(e / e.sum(-1, keepdims=True), np.float32)


def _key(g):
    return jax.random.PRNGKey(int(g.integers(0, 2**31 - 1)))


def _mask(g, *s):
    return g.uniform(size=s) > 0.4


def _state(g, k=A):
    shift = _r(g, k)
    scale = _pos(g, k)
    return rlax.PopArtState(shift, scale, np.square(shift) + np.square(scale))


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registry entry: ``fn(*[b(g) for b in builders])`` is one unbatched call."""

    fn: Callable[..., Any]
    builders: Sequence[Callable[[np.random.Generator], Any]]
    grad: tuple[int, ...] = ()  # indices of float args to differentiate
    fd: bool = True  # compare the gradient with finite differences


class _Normal:
    """Minimal distribution object (``sample``/``log_prob``/``batch_shape``) for policy targets."""

    def __init__(self, loc, scale):
        self.loc, self.scale = jnp.asarray(loc), jnp.asarray(scale)
        self.batch_shape = self.loc.shape

    def sample(self, seed, sample_shape):
        # sample_shape: an int or a tuple of ints (as distrax accepts).
        sample_shape = (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)
        shape = (*sample_shape, *self.batch_shape)
        loc, scale = jnp.broadcast_to(self.loc, shape), jnp.broadcast_to(self.scale, shape)
        return loc + scale * jax.random.normal(seed, shape)

    def log_prob(self, x):
        x = jnp.asarray(x)
        loc, scale = jnp.broadcast_to(self.loc, x.shape), jnp.broadcast_to(self.scale, x.shape)
        z = (x - loc) / scale
        return -0.5 * jnp.square(z) - jnp.log(scale) - 0.5 * jnp.log(2 * jnp.pi)


_SOFTPLUS = jax.nn.softplus
_SPEC = (np.full(D, -2.0, np.float32), np.full(D, 3.0, np.float32))


class _Spec:
    """Bounded action spec (``minimum``/``maximum``) for the squashed Gaussian."""

    minimum, maximum = _SPEC


def _penalty(alpha, eps=0.1, per_dimension=False):
    return rlax.LagrangePenalty(alpha=alpha, epsilon=eps, per_dimension=per_dimension)


def _first_of_tree(tree):
    return jax.tree.leaves(tree)[0]


_EMA_INIT, _EMA_UPDATE = rlax.create_ema(decay=0.9)
_POPART_INIT, _POPART_UPDATE = rlax.popart(A, 0.1, 0.01, 100.0)

_SM = rlax.softmax(temperature=0.7)
_GR = rlax.greedy()
_EG = rlax.epsilon_greedy(epsilon=0.2)
_CES = rlax.clipped_entropy_softmax(temperature=1.0, entropy_clip=0.5)
_GD = rlax.gaussian_diagonal()
_SG = rlax.squashed_gaussian()

# name -> Entry. Dotted names are methods of the object the factory before the dot returns.
REGISTRY: dict[str, Entry] = {
    # Policy gradients.
    "policy_gradient_loss": Entry(
        rlax.policy_gradient_loss,
        [lambda g: _r(g, T, A), lambda g: _a(g, T), lambda g: _r(g, T), lambda g: _u(g, T)],
        grad=(0,),
    ),
    "entropy_loss": Entry(
        rlax.entropy_loss, [lambda g: _r(g, T, A), lambda g: _u(g, T)], grad=(0, 1)
    ),
    "qpg_loss": Entry(
        rlax.qpg_loss,
        [lambda g: _r(g, T, A), lambda g: _r(g, T, A)],
        grad=(0,),
        fd=False,  # the advantage (with its policy-dependent baseline) is gradient-stopped
    ),
    "rm_loss": Entry(
        rlax.rm_loss,
        [lambda g: _r(g, T, A), lambda g: _r(g, T, A)],
        grad=(0,),
        fd=False,  # the advantage (with its policy-dependent baseline) is gradient-stopped
    ),
    "rpg_loss": Entry(
        rlax.rpg_loss,
        [lambda g: _r(g, T, A), lambda g: _r(g, T, A)],
        grad=(0,),
        fd=False,  # the advantage (with its policy-dependent baseline) is gradient-stopped
    ),
    "clipped_surrogate_pg_loss": Entry(
        lambda r, adv: rlax.clipped_surrogate_pg_loss(r, adv, 0.2),
        [lambda g: _pos(g, T), lambda g: _r(g, T)],
        grad=(0,),
    ),
    "dpg_loss": Entry(
        lambda a, dqda: rlax.dpg_loss(a, dqda, dqda_clipping=1.0),
        [lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(0,),
        fd=False,  # the loss holds the target a + dq/da fixed (stop-gradient)
    ),
    # Distributions: free functions.
    "categorical_sample": Entry(rlax.categorical_sample, [_key, lambda g: _p(g, T, A)]),
    "categorical_importance_sampling_ratios": Entry(
        rlax.categorical_importance_sampling_ratios,
        [lambda g: _r(g, T, A), lambda g: _r(g, T, A), lambda g: _a(g, T)],
        grad=(0, 1),
    ),
    "categorical_cross_entropy": Entry(
        rlax.categorical_cross_entropy, [lambda g: _p(g, T, A), lambda g: _r(g, T, A)], grad=(0, 1)
    ),
    "categorical_kl_divergence": Entry(
        rlax.categorical_kl_divergence, [lambda g: _r(g, A), lambda g: _r(g, A)], grad=(0, 1)
    ),
    "multivariate_normal_kl_divergence": Entry(
        rlax.multivariate_normal_kl_divergence,
        [lambda g: _r(g, D), lambda g: _pos(g, D), lambda g: _r(g, D), lambda g: _pos(g, D)],
        grad=(0, 1, 2, 3),
    ),
    # Distributions: methods of the returned objects.
    "softmax.sample": Entry(_SM.sample, [_key, lambda g: _r(g, T, A)]),
    "softmax.probs": Entry(_SM.probs, [lambda g: _r(g, T, A)], grad=(0,)),
    "softmax.logprob": Entry(_SM.logprob, [lambda g: _a(g, T), lambda g: _r(g, T, A)], grad=(1,)),
    "softmax.entropy": Entry(_SM.entropy, [lambda g: _r(g, T, A)], grad=(0,)),
    "softmax.kl": Entry(_SM.kl, [lambda g: _r(g, T, A), lambda g: _r(g, T, A)], grad=(0, 1)),
    "greedy.sample": Entry(_GR.sample, [_key, lambda g: _r(g, T, A)]),
    "greedy.probs": Entry(_GR.probs, [lambda g: _r(g, T, A)], grad=(0,)),
    "greedy.logprob": Entry(_GR.logprob, [lambda g: _a(g, T), lambda g: _r(g, T, A)]),
    "greedy.entropy": Entry(_GR.entropy, [lambda g: _r(g, T, A)], grad=(0,)),
    "epsilon_greedy.sample": Entry(_EG.sample, [_key, lambda g: _r(g, T, A)]),
    "epsilon_greedy.probs": Entry(_EG.probs, [lambda g: _r(g, T, A)], grad=(0,)),
    "epsilon_greedy.logprob": Entry(_EG.logprob, [lambda g: _a(g, T), lambda g: _r(g, T, A)]),
    "epsilon_greedy.entropy": Entry(_EG.entropy, [lambda g: _r(g, T, A)], grad=(0,)),
    "clipped_entropy_softmax.sample": Entry(_CES.sample, [_key, lambda g: _r(g, T, A)]),
    "clipped_entropy_softmax.probs": Entry(_CES.probs, [lambda g: _r(g, T, A)], grad=(0,)),
    "clipped_entropy_softmax.logprob": Entry(
        _CES.logprob, [lambda g: _a(g, T), lambda g: _r(g, T, A)], grad=(1,)
    ),
    "clipped_entropy_softmax.entropy": Entry(_CES.entropy, [lambda g: _r(g, T, A)], grad=(0,)),
    "clipped_entropy_softmax.kl": Entry(
        _CES.kl, [lambda g: _r(g, T, A), lambda g: _r(g, T, A)], grad=(0, 1)
    ),
    "gaussian_diagonal.sample": Entry(
        _GD.sample, [_key, lambda g: _r(g, D), lambda g: _pos(g, D)], grad=(1, 2)
    ),
    "gaussian_diagonal.prob": Entry(
        _GD.prob, [lambda g: _r(g, D), lambda g: _r(g, D), lambda g: _pos(g, D)], grad=(0, 1, 2)
    ),
    "gaussian_diagonal.logprob": Entry(
        _GD.logprob, [lambda g: _r(g, D), lambda g: _r(g, D), lambda g: _pos(g, D)], grad=(0, 1, 2)
    ),
    "gaussian_diagonal.entropy": Entry(
        _GD.entropy, [lambda g: _r(g, D), lambda g: _pos(g, D)], grad=(1,)
    ),
    "gaussian_diagonal.kl_to_standard_normal": Entry(
        _GD.kl_to_standard_normal, [lambda g: _r(g, D), lambda g: _pos(g, D)], grad=(0, 1)
    ),
    "gaussian_diagonal.kl": Entry(
        _GD.kl,
        [lambda g: _r(g, D), lambda g: _pos(g, D), lambda g: _r(g, D), lambda g: _pos(g, D)],
        grad=(0, 1, 2, 3),
    ),
    "squashed_gaussian.sample": Entry(
        lambda k, mu, sigma: _SG.sample(k, mu, sigma, _Spec),
        [_key, lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(1, 2),
    ),
    "squashed_gaussian.prob": Entry(
        lambda x, mu, sigma: _SG.prob(x, mu, sigma, _Spec),
        [lambda g: _u(g, D), lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(0, 1, 2),
    ),
    "squashed_gaussian.logprob": Entry(
        lambda x, mu, sigma: _SG.logprob(x, mu, sigma, _Spec),
        [lambda g: _u(g, D), lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(0, 1, 2),
    ),
    "squashed_gaussian.entropy": Entry(
        _SG.entropy, [lambda g: _r(g, D), lambda g: _r(g, D)], grad=(0, 1)
    ),
    "squashed_gaussian.kl_to_standard_normal": Entry(
        _SG.kl_to_standard_normal, [lambda g: _r(g, D), lambda g: _r(g, D)], grad=(0, 1)
    ),
    "squashed_gaussian.kl": Entry(
        _SG.kl,
        [lambda g: _r(g, D), lambda g: _r(g, D), lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(0, 1, 2, 3),
    ),
    # Exploration.
    "add_gaussian_noise": Entry(
        lambda k, a: rlax.add_gaussian_noise(k, a, 0.3), [_key, lambda g: _r(g, D)], grad=(1,)
    ),
    "add_ornstein_uhlenbeck_noise": Entry(
        lambda k, a, n: rlax.add_ornstein_uhlenbeck_noise(k, a, n, 0.2, 0.3),
        [_key, lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(1, 2),
    ),
    "add_dirichlet_noise": Entry(
        lambda k, p: rlax.add_dirichlet_noise(k, p, 0.3, 0.25),
        [_key, lambda g: _p(g, 2, A)],
        grad=(1,),
    ),
    "episodic_memory_intrinsic_rewards": Entry(
        lambda e: rlax.episodic_memory_intrinsic_rewards(e, 2, 1.0, max_memory_size=8),
        [lambda g: _r(g, 3, D)],
        grad=(0,),
        fd=False,  # the kernel is clipped at the cluster distance (kinks)
    ),
    # MPO ops.
    "compute_parametric_kl_penalty_and_dual_loss": Entry(
        lambda kl, alpha: rlax.compute_parametric_kl_penalty_and_dual_loss(
            [(kl, _penalty(alpha))], _SOFTPLUS
        ),
        [lambda g: _pos(g, T), lambda g: _r(g)],
        grad=(0, 1),
        fd=False,  # penalty and dual loss stop gradients into each other's inputs
    ),
    "mpo_compute_weights_and_temperature_loss": Entry(
        lambda q, alpha: rlax.mpo_compute_weights_and_temperature_loss(
            q, _penalty(alpha), _SOFTPLUS
        ),
        [lambda g: _r(g, S, T), lambda g: _r(g)],
        grad=(1,),
        fd=False,  # the weights are gradient-stopped
    ),
    "mpo_loss": Entry(
        lambda lp, q, kl, a_t, a_kl: rlax.mpo_loss(
            lp, q, _penalty(a_t), [(kl, _penalty(a_kl))], _SOFTPLUS
        ),
        [
            lambda g: _r(g, S, T),
            lambda g: _r(g, S, T),
            lambda g: _pos(g, T),
            lambda g: _r(g),
            lambda g: _r(g),
        ],
        grad=(0, 2, 3, 4),
        fd=False,
    ),
    "vmpo_compute_weights_and_temperature_loss": Entry(
        lambda adv, rw, iw, alpha: rlax.vmpo_compute_weights_and_temperature_loss(
            adv, rw, iw, _penalty(alpha), _SOFTPLUS, 0.5
        ),
        [lambda g: _r(g, T, 2), lambda g: _pos(g, T, 2), lambda g: _pos(g, T, 2), lambda g: _r(g)],
        grad=(3,),
        fd=False,
    ),
    "vmpo_loss": Entry(
        lambda lp, adv, kl, a_t, a_kl: rlax.vmpo_loss(
            lp, adv, _penalty(a_t), [(kl, _penalty(a_kl))], _SOFTPLUS
        ),
        [
            lambda g: _r(g, T, 2),
            lambda g: _r(g, T, 2),
            lambda g: _pos(g, T, 2),
            lambda g: _r(g),
            lambda g: _r(g),
        ],
        grad=(0, 2, 3, 4),
        fd=False,
    ),
    # Policy targets.
    "constant_policy_targets": Entry(
        lambda k, loc: rlax.constant_policy_targets(_Normal(loc, 0.5), k, S, 0.3),
        [_key, lambda g: _r(g, D)],
        grad=(1,),
    ),
    "zero_policy_targets": Entry(
        lambda k, loc: rlax.zero_policy_targets(_Normal(loc, 0.5), k, S),
        [_key, lambda g: _r(g, D)],
        grad=(1,),
    ),
    "sampled_policy_distillation_loss": Entry(
        lambda loc, scale, actions, w: rlax.sampled_policy_distillation_loss(
            _Normal(loc, scale), rlax.PolicyTarget(actions=actions, weights=w)
        ),
        [lambda g: _r(g, D), lambda g: _pos(g, D), lambda g: _r(g, S, D), lambda g: _u(g, S, D)],
        grad=(0, 1),
    ),
    # Pop-Art.
    "art": Entry(
        lambda st, t, i: rlax.art(st, t, i, 0.1, 0.01, 100.0),
        [_state, lambda g: _r(g, T) * 3, lambda g: _a(g, T)],
        grad=(1,),
        fd=False,  # the new statistics are gradient-stopped: the gradient is 0
    ),
    "pop": Entry(
        lambda w, b, old, new: rlax.pop({"w": w, "b": b}, old, new),
        [lambda g: _r(g, D, A), lambda g: _r(g, A), _state, _state],
        grad=(0, 1, 2, 3),
    ),
    "popart.init": Entry(lambda x: (_POPART_INIT(), x), [lambda g: _r(g)]),
    "popart.update": Entry(
        lambda w, b, st, t, i: _POPART_UPDATE({"w": w, "b": b}, st, t, i),
        [
            lambda g: _r(g, D, A),
            lambda g: _r(g, A),
            _state,
            lambda g: _r(g, T) * 3,
            lambda g: _a(g, T),
        ],
        grad=(0, 1),
    ),
    "normalize": Entry(
        rlax.normalize, [_state, lambda g: _r(g, T), lambda g: _a(g, T)], grad=(0, 1)
    ),
    "unnormalize": Entry(
        rlax.unnormalize, [_state, lambda g: _r(g, T), lambda g: _a(g, T)], grad=(0, 1)
    ),
    "unnormalize_linear": Entry(
        rlax.unnormalize_linear, [_state, lambda g: _r(g, T, A), lambda g: _a(g, T)], grad=(0, 1)
    ),
    # General value functions.
    "pixel_control_rewards": Entry(
        lambda o: rlax.pixel_control_rewards(o, 2),
        [lambda g: _u(g, T + 1, 4, 4, 2)],
        grad=(0,),
        fd=False,  # |o[t+1] - o[t]| has kinks that a float32 step of 1e-2 crosses
    ),
    "feature_control_rewards": Entry(
        lambda f, d: rlax.feature_control_rewards(f, "potential", discount=d),
        [lambda g: _r(g, T + 1, D), _u],
        grad=(0, 1),
    ),
    # Model learning.
    "extract_subsequences": Entry(
        lambda tr, st: rlax.extract_subsequences(tr, st, 2, max_valid_start_idx=T - 1),
        [lambda g: _r(g, T + 1, 2, D), lambda g: np.asarray(g.integers(0, T, (2, 3)), np.int32)],
        grad=(0,),
    ),
    "sample_start_indices": Entry(lambda k: rlax.sample_start_indices(k, 2, 3, T), [_key]),
    # Interruptions, nested updates.
    "fix_step_type_on_interruptions": Entry(
        rlax.fix_step_type_on_interruptions,
        [lambda g: np.asarray(g.integers(0, 3, (T, 2)), np.int32)],
    ),
    "conditional_update": Entry(
        lambda new, old, c: rlax.conditional_update({"a": new}, {"a": old}, c),
        [lambda g: _r(g, D), lambda g: _r(g, D), lambda g: g.uniform() > 0.5],
        grad=(0, 1),
    ),
    "periodic_update": Entry(
        lambda new, old, step: rlax.periodic_update({"a": new}, {"a": old}, step, 2),
        [lambda g: _r(g, D), lambda g: _r(g, D), lambda g: np.int32(g.integers(0, 5))],
        grad=(0, 1),
    ),
    # Embedding, episodic memory.
    "embed_oar": Entry(
        lambda f, a, r: rlax.embed_oar(f, a, r, A),
        [lambda g: _r(g, 2, D), lambda g: _a(g, 2), lambda g: _r(g, 2)],
        grad=(0, 2),
    ),
    "knn_query": Entry(
        lambda data, q: rlax.knn_query(data, q, 2),
        [lambda g: _r(g, 6, D), lambda g: _r(g, 3, D)],
        grad=(0,),
        fd=False,  # the neighbour selection is piecewise constant
    ),
    # Moving averages.
    "create_ema.init_state": Entry(lambda x: _EMA_INIT({"x": x}), [lambda g: _r(g, D)]),
    "create_ema.update_moments": Entry(
        lambda x, mu, nu, dp: _EMA_UPDATE(
            {"x": x}, rlax.EmaState(mu={"x": mu}, nu={"x": nu}, decay_product=dp)
        ),
        [lambda g: _r(g, D), _r, lambda g: _pos(g), lambda g: np.float32(g.uniform(0.2, 0.8))],
        grad=(0, 1, 2, 3),
    ),
    "EmaState.debiased_moments": Entry(
        lambda mu, nu, dp: rlax.EmaState(mu=mu, nu=nu, decay_product=dp).debiased_moments(),
        [_r, lambda g: _pos(g) + 2.0, lambda g: np.float32(g.uniform(0.2, 0.8))],
        grad=(0, 1, 2),
    ),
    # Tree utilities.
    "tree_select": Entry(
        lambda p, x, y: rlax.tree_select(p, {"a": x}, {"a": y}),
        [lambda g: g.uniform() > 0.5, lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(1, 2),
    ),
    "tree_map_zipped": Entry(
        lambda x, y: rlax.tree_map_zipped(jnp.multiply, [{"a": x}, {"a": y}]),
        [lambda g: _r(g, D), lambda g: _r(g, D)],
        grad=(0, 1),
    ),
    "tree_fn": Entry(
        lambda x, y: rlax.tree_fn(jnp.sum, axis=0)({"a": x, "b": y}),
        [lambda g: _r(g, D, 3), lambda g: _r(g, 4)],
        grad=(0, 1),
    ),
    "tree_split_key": Entry(lambda k: rlax.tree_split_key(k, {"a": 0, "b": (0, 0)}), [_key]),
    "tree_split_leaves": Entry(
        lambda x, y: rlax.tree_split_leaves({"a": x, "b": y}, axis=0),
        [lambda g: _r(g, 3, D), lambda g: _r(g, 3)],
        grad=(0, 1),
    ),
    "tree_replace_masked": Entry(
        lambda x, rep, m: rlax.tree_replace_masked({"a": x}, {"a": rep}, m),
        [lambda g: _r(g, 3, D), lambda g: _r(g, 3, D), lambda g: _mask(g, 3)],
        grad=(0, 1),
    ),
    "transpose_last_axis_to_first": Entry(
        rlax.transpose_last_axis_to_first, [lambda g: _r(g, 2, 3, 4)], grad=(0,)
    ),
    "transpose_first_axis_to_last": Entry(
        rlax.transpose_first_axis_to_last, [lambda g: _r(g, 2, 3, 4)], grad=(0,)
    ),
}

# Factories whose returned object's methods are registered as "factory.method".
DISTRIBUTION_FACTORIES = {
    "softmax": _SM,
    "greedy": _GR,
    "epsilon_greedy": _EG,
    "clipped_entropy_softmax": _CES,
    "gaussian_diagonal": _GD,
    "squashed_gaussian": _SG,
}

# Public part-2 names that are not functions of arrays, with the reason.
EXEMPT = {
    "__version__": "version string",
    "PopArtState": "NamedTuple of statistics (built by the 'art'/'pop' entries' builders)",
    "LagrangePenalty": "NamedTuple of a multiplier and its constraint (used by the MPO entries)",
    "PolicyTarget": "container of target actions/weights (used by sampled_policy_distillation_loss)",
    "EmaMoments": "container of moments (returned by the create_ema entries)",
    "EmaState": "container of EMA state; its method has the 'EmaState.debiased_moments' entry",
    "sac_actor_loss": "tested in tests/test_actor_critic.py",
    "sac_discrete_actor_loss": "tested in tests/test_actor_critic.py",
    "sac_discrete_soft_value": "tested in tests/test_actor_critic.py",
    "sac_discrete_temperature_loss": "tested in tests/test_actor_critic.py",
    "sac_soft_q_target": "tested in tests/test_actor_critic.py",
    "sac_temperature_loss": "tested in tests/test_actor_critic.py",
    "td3_clipped_double_q_target": "tested in tests/test_actor_critic.py",
    "td3_target_policy_smoothing": "tested in tests/test_actor_critic.py",
    "PercentileNormalizerState": "NamedTuple state of the percentile normaliser; tested in tests/test_dreamer.py",
    "kl_balance_loss": "tested in tests/test_dreamer.py",
    "percentile_normalize": "tested in tests/test_dreamer.py",
    "percentile_normalizer_init": "tested in tests/test_dreamer.py",
    "percentile_normalizer_update": "tested in tests/test_dreamer.py",
    "symexp": "tested in tests/test_dreamer.py",
    "symlog": "tested in tests/test_dreamer.py",
    "twohot_bins": "tested in tests/test_dreamer.py",
    "twohot_cross_entropy_loss": "tested in tests/test_dreamer.py",
    "twohot_decode": "tested in tests/test_dreamer.py",
    "twohot_encode": "tested in tests/test_dreamer.py",
    "unimix_logits": "tested in tests/test_dreamer.py",
    "cql_continuous_regularizer": "tested in tests/test_offline.py",
    "cql_discrete_regularizer": "tested in tests/test_offline.py",
    "iql_awr_policy_loss": "tested in tests/test_offline.py",
    "iql_expectile_value_loss": "tested in tests/test_offline.py",
    "dpo_loss": "tested in tests/test_sequence_rl.py",
    "grpo_advantages": "tested in tests/test_sequence_rl.py",
    "grpo_loss": "tested in tests/test_sequence_rl.py",
    "adaptive_kl_coefficient": "tested in tests/test_policy_optimisation.py",
    "clipped_value_loss": "tested in tests/test_policy_optimisation.py",
    "dual_clip_ppo_loss": "tested in tests/test_policy_optimisation.py",
    "kl_k1": "tested in tests/test_policy_optimisation.py",
    "kl_k2": "tested in tests/test_policy_optimisation.py",
    "kl_k3": "tested in tests/test_policy_optimisation.py",
    "munchausen_q_learning": "tested in tests/test_munchausen.py",
    "normalize_advantages": "tested in tests/test_policy_optimisation.py",
}


def _public_names() -> set[str]:
    names = {n for n in rlax.__all__}
    # Names re-exported without being listed in __all__ (e.g. embed_oar) are public too.
    names |= {
        n for n in dir(rlax) if not n.startswith("_") and not inspect.ismodule(getattr(rlax, n))
    }
    return names | {"__version__"}


def test_every_public_name_is_in_a_registry_or_exempt():
    covered = set(part1.REGISTRY) | set(part1.NOT_ARRAY_FUNCTIONS) | set(EXEMPT)
    covered |= {name.split(".")[0] for name in REGISTRY}
    missing = sorted(_public_names() - covered)
    assert not missing, f"public rlax_core names in neither registry: {missing}"


def test_every_distribution_method_has_an_entry():
    missing = []
    for factory, dist in DISTRIBUTION_FACTORIES.items():
        for field, method in dist._asdict().items():
            if method is not None and f"{factory}.{field}" not in REGISTRY:
                missing.append(f"{factory}.{field}")
    assert not missing, f"distribution methods without a registry entry: {missing}"


def test_registry_names_refer_to_public_callables():
    for name in REGISTRY:
        head, _, method = name.partition(".")
        assert hasattr(rlax, head), name
        if method and head in DISTRIBUTION_FACTORIES:
            assert callable(getattr(DISTRIBUTION_FACTORIES[head], method)), name


def _examples(entry: Entry) -> list[tuple[Any, ...]]:
    out = []
    for seed in (0, 1):
        g = np.random.default_rng(seed)
        out.append(tuple(b(g) for b in entry.builders))
    return out


def _stack(examples: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(
        jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *[e[i] for e in examples])
        for i in range(len(examples[0]))
    )


def _assert_batched_equals_loop(name, batched_out, eager_outs):
    for i, expected in enumerate(eager_outs):
        got_i = jax.tree.map(lambda o, i=i: np.asarray(o)[i], batched_out)
        assert jax.tree.structure(got_i) == jax.tree.structure(expected), name
        jax.tree.map(
            lambda o, e, i=i: np.testing.assert_allclose(
                o, np.asarray(e), rtol=2e-5, atol=2e-6, err_msg=f"{name} example {i}"
            ),
            got_i,
            expected,
        )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_jit_vmap_matches_eager_loop(name):
    entry = REGISTRY[name]
    examples = _examples(entry)
    out = jax.jit(jax.vmap(entry.fn))(*_stack(examples))
    _assert_batched_equals_loop(name, out, [entry.fn(*ex) for ex in examples])


def _weights(x: jax.Array) -> jax.Array:
    # Fixed, non-uniform weights so that e.g. probabilities summing to 1 still have a
    # non-trivial weighted sum.
    n = int(np.prod(x.shape)) if x.ndim else 1
    return jnp.reshape(1.0 + 0.5 * jnp.sin(jnp.arange(n, dtype=jnp.float32) + 1.0), x.shape)


def _scalar(fn: Callable[..., Any]) -> Callable[..., jax.Array]:
    def scalar(*args):
        total = jnp.zeros([], jnp.float32)
        for leaf in jax.tree.leaves(fn(*args)):
            leaf = jnp.asarray(leaf)
            if jnp.issubdtype(leaf.dtype, jnp.floating):
                total = total + jnp.sum(leaf.astype(jnp.float32) * _weights(leaf))
        return total

    return scalar


GRAD_NAMES = sorted(n for n, e in REGISTRY.items() if e.grad)


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_grad_is_finite_batches_and_matches_finite_differences(name):
    entry = REGISTRY[name]
    grad_fn = jax.grad(_scalar(entry.fn), argnums=entry.grad)
    examples = _examples(entry)
    eager = [grad_fn(*ex) for ex in examples]
    for g in eager:
        for leaf in jax.tree.leaves(g):
            assert np.all(np.isfinite(np.asarray(leaf))), f"{name}: non-finite gradient"
    batched = jax.jit(jax.vmap(grad_fn))(*_stack(examples))
    _assert_batched_equals_loop(name, batched, eager)
    if not entry.fd:
        return
    # Central difference of the scalarised function along a random direction of the
    # differentiated arguments, against the gradient's directional derivative.
    ex = examples[0]
    rng = np.random.default_rng(7)
    directions = {
        i: jax.tree.map(lambda x: np.asarray(rng.normal(size=np.shape(x)), np.float32), ex[i])
        for i in entry.grad
    }
    eps = 1e-2

    def shifted(sign):
        args = list(ex)
        for i, d in directions.items():
            args[i] = jax.tree.map(
                lambda x, dx: np.asarray(x, np.float32) + sign * eps * dx, ex[i], d
            )
        return float(_scalar(entry.fn)(*args))

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    analytic = sum(
        float(
            sum(
                jnp.vdot(gl, dl)
                for gl, dl in zip(jax.tree.leaves(g), jax.tree.leaves(directions[i]), strict=True)
            )
        )
        for g, i in zip(eager[0], entry.grad, strict=True)
    )
    np.testing.assert_allclose(analytic, numeric, rtol=3e-2, atol=3e-2, err_msg=name)
