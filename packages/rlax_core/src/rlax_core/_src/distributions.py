"""Action distributions as namedtuples of pure functions (no distribution objects).

Each factory (``softmax``, ``greedy``, ``epsilon_greedy``, ``clipped_entropy_softmax``,
``gaussian_diagonal``, ``squashed_gaussian``) returns a ``DiscreteDistribution`` or a
``ContinuousDistribution`` whose fields are plain functions of arrays. Sampling uses
the same ``jax.random`` calls as the reference implementation, so a given key yields
the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src.tree_util import ShapeTypeError

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class DiscreteDistribution(NamedTuple):
    """Functions of a discrete action distribution.

    Fields:
      sample: ``sample(key, logits_or_preferences, ...) -> [...]`` integer actions.
      probs: ``probs(logits, ...) -> [..., A]`` probabilities.
      logprob: ``logprob(sample, logits, ...) -> [...]`` log-probabilities of actions.
      entropy: ``entropy(logits, ...) -> [...]``.
      kl: ``kl(p_logits, q_logits) -> [...]`` or ``None`` when not defined.
    """

    sample: Callable[..., jax.Array]
    probs: Callable[..., jax.Array]
    logprob: Callable[..., jax.Array]
    entropy: Callable[..., jax.Array]
    kl: Callable[..., jax.Array] | None


class ContinuousDistribution(NamedTuple):
    """Functions of a continuous (diagonal Gaussian based) action distribution.

    Fields:
      sample, prob, logprob, entropy, kl_to_standard_normal, kl: plain functions;
      see the factory that built the tuple for their arguments.
    """

    sample: Callable[..., jax.Array]
    prob: Callable[..., jax.Array]
    logprob: Callable[..., jax.Array]
    entropy: Callable[..., jax.Array]
    kl_to_standard_normal: Callable[..., jax.Array]
    kl: Callable[..., jax.Array]


def _check_rank_at_least(fn: str, name: str, x: Any, rank: int) -> None:
    if jnp.ndim(x) < rank:
        raise ValueError(f"{fn}: `{name}` must have rank >= {rank}, got shape {jnp.shape(x)}.")


def _broadcast_pair(
    fn: str, a: jax.Array, b: jax.Array, names: tuple[str, str] = ("inputs", "inputs")
) -> tuple[jax.Array, jax.Array]:
    """Broadcasts two arrays explicitly to their common shape (no implicit rank promotion)."""
    try:
        shape = jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{fn}: `{names[0]}` and `{names[1]}` must broadcast together, got shapes "
            f"{a.shape} and {b.shape}."
        ) from None
    return jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)


# Categorical helpers. Every categorical distribution here is described by its
# normalised log-probabilities `log_p` ([..., A]) and probabilities `p`. Terms whose
# probability is exactly zero (masked `-inf` logits, zero labels) contribute zero to
# sums, so masks never turn results into NaN.


def _weighted_by_probs(values: jax.Array, log_p: jax.Array) -> jax.Array:
    """``values * exp(log_p)`` with the product set to 0 wherever ``exp(log_p) == 0``."""
    p = jnp.exp(log_p)
    return jnp.where(p == 0, jnp.zeros((), values.dtype), values) * p


def _categorical_entropy_from_log_p(log_p: jax.Array) -> jax.Array:
    return -jnp.sum(_weighted_by_probs(log_p, log_p), axis=-1)


def _categorical_kl_from_log_p(
    fn: str, log_p: jax.Array, log_q: jax.Array, names: tuple[str, str]
) -> jax.Array:
    if log_p.shape[-1:] != log_q.shape[-1:]:
        raise ValueError(
            f"{fn}: `{names[0]}` and `{names[1]}` must have the same number of categories "
            f"(last axis), got shapes {log_p.shape} and {log_q.shape}."
        )
    log_p, log_q = _broadcast_pair(fn, log_p, log_q, names)
    # Re-normalising keeps the KL exact when `log_p`/`log_q` come from unnormalised inputs.
    log_p = jax.nn.log_softmax(log_p, axis=-1)
    log_q = jax.nn.log_softmax(log_q, axis=-1)
    return jnp.sum(_weighted_by_probs(log_p - log_q, log_p), axis=-1)


def _categorical_logprob(
    fn: str, log_p: jax.Array, sample: ArrayLike, names: tuple[str, str] = ("sample", "logits")
) -> jax.Array:
    """``log_p[..., sample]``; ``-inf`` for samples outside ``[0, A)``.

    ``sample`` may be integer or float (float values select through a one-hot
    comparison, so non-integral values select nothing) and broadcasts against the
    batch shape ``log_p.shape[:-1]``.
    """
    sample = jnp.asarray(sample)
    num = log_p.shape[-1]
    categories = jnp.reshape(jnp.arange(num), (1,) * sample.ndim + (num,))
    selector = (sample[..., None] == categories).astype(log_p.dtype)
    try:
        jnp.broadcast_shapes(sample.shape, log_p.shape[:-1])
    except ValueError:
        raise ValueError(
            f"{fn}: `{names[0]}` of shape {sample.shape} must broadcast against the batch "
            f"shape {log_p.shape[:-1]} of `{names[1]}` {log_p.shape}."
        ) from None
    selector, log_p = _broadcast_pair(fn, selector, log_p, names)
    picked = jnp.sum(
        jnp.where(selector == 0, jnp.zeros((), log_p.dtype), log_p * selector), axis=-1
    )
    outside = jnp.logical_or(sample < 0, sample > num - 1)
    outside = jnp.broadcast_to(outside, picked.shape)
    return jnp.where(outside, -jnp.inf, picked)


def _categorical_draw(key: ArrayLike, log_p: jax.Array, p: jax.Array) -> jax.Array:
    """One Gumbel-max draw per batch entry; ``-1`` where ``p`` is not a valid distribution.

    A row is invalid when any probability is negative, NaN or infinite.
    """
    batch_shape = log_p.shape[:-1]
    valid = jnp.logical_and(jnp.all(jnp.isfinite(p), axis=-1), jnp.all(p >= 0, axis=-1))
    draws = jax.random.categorical(key, log_p, axis=-1, shape=(1, *batch_shape))
    draws = jnp.reshape(draws, batch_shape)
    return jnp.where(valid, draws, jnp.full_like(draws, -1))


def _log_p_from_logits(logits: ArrayLike, temperature: Any = 1.0) -> jax.Array:
    return jax.nn.log_softmax(jnp.asarray(logits) / temperature, axis=-1)


def _normalise_probs(probs: ArrayLike) -> jax.Array:
    probs = jnp.asarray(probs)
    return probs / jnp.sum(probs, axis=-1, keepdims=True)


def categorical_sample(key: ArrayLike, probs: ArrayLike) -> jax.Array:
    """Samples an index from explicit probabilities over the last axis.

    ``probs`` is normalised to sum to one first; Gumbel-max sampling on the log of the
    normalised probabilities (``jax.random.categorical``). Rows that are not valid
    probability vectors (any negative, NaN or infinite entry, or all zeros) give ``-1``.

    Args:
      key: PRNG key.
      probs: [..., A] non-negative weights (zeros are never drawn).

    Returns:
      [...] sampled indices (default integer dtype: int32, or int64 with x64); ``-1``
      marks an invalid row.

    Raises:
      ValueError: if ``probs`` is a scalar.

    Examples:
      >>> print(categorical_sample(jax.random.PRNGKey(0), jnp.array([0.0, 1.0, 0.0])))
      1
      >>> print(categorical_sample(jax.random.PRNGKey(0), jnp.array([0.0, 0.0])))
      -1
    """
    fn = "rlax_core.categorical_sample"
    _check_rank_at_least(fn, "probs", probs, 1)
    p = _normalise_probs(probs)
    return _categorical_draw(key, jnp.log(p), p)


def softmax(temperature: float = 1.0) -> DiscreteDistribution:
    """Tempered softmax (Boltzmann) policy over logits.

    ``pi(a) = exp(l_a / temperature) / sum_b exp(l_b / temperature)``.

    Masked actions (``-inf`` logits) have probability 0 and add nothing to entropies and
    KLs, so those stay finite. ``logprob`` is ``-inf`` for actions outside ``[0, A)``;
    ``sample`` returns ``-1`` for rows whose probabilities are not finite (NaN logits).

    Args:
      temperature: positive temperature.

    Returns:
      ``DiscreteDistribution`` with ``sample(key, logits)``, ``probs(logits)``,
      ``logprob(sample, logits)``, ``entropy(logits)``, ``kl(p_logits, q_logits)``;
      logits are ``[..., A]``.

    Examples:
      >>> print(softmax().probs(jnp.array([0.0, jnp.log(3.0)])))
      [0.25       0.75000006]
    """

    def sample_fn(key: ArrayLike, logits: ArrayLike) -> jax.Array:
        _check_rank_at_least("rlax_core.softmax.sample", "logits", logits, 1)
        log_p = _log_p_from_logits(logits, temperature)
        return _categorical_draw(key, log_p, jax.nn.softmax(log_p, axis=-1))

    def probs_fn(logits: ArrayLike) -> jax.Array:
        return jax.nn.softmax(_log_p_from_logits(logits, temperature), axis=-1)

    def logprob_fn(sample: ArrayLike, logits: ArrayLike) -> jax.Array:
        log_p = _log_p_from_logits(logits, temperature)
        return _categorical_logprob("rlax_core.softmax.logprob", log_p, sample)

    def entropy_fn(logits: ArrayLike) -> jax.Array:
        _check_rank_at_least("rlax_core.softmax.entropy", "logits", logits, 1)
        return _categorical_entropy_from_log_p(_log_p_from_logits(logits, temperature))

    def kl_fn(p_logits: ArrayLike, q_logits: ArrayLike) -> jax.Array:
        return categorical_kl_divergence(p_logits, q_logits, temperature)

    return DiscreteDistribution(sample_fn, probs_fn, logprob_fn, entropy_fn, kl_fn)


def _greedy_weights(preferences: jax.Array) -> jax.Array:
    """Uniform weights over the arg-max set (ties share); default float dtype.

    A row without a maximum (NaN preferences) gets all-zero weights.
    """
    is_max = preferences == jnp.max(preferences, axis=-1, keepdims=True)
    return is_max / jnp.sum(is_max, axis=-1, keepdims=True)


def _probs_distribution(probs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(normalised probabilities, their log) of a categorical given by weights."""
    p = _normalise_probs(probs)
    return p, jnp.log(p)


def greedy() -> DiscreteDistribution:
    """Greedy policy: uniform over the actions with maximal preference.

    Probabilities, log-probabilities and entropies are in the default float dtype
    (float32, or float64 with x64) whatever the preference dtype.

    Returns:
      ``DiscreteDistribution`` with ``sample(key, preferences)``, ``probs(preferences)``,
      ``logprob(sample, preferences)``, ``entropy(preferences)`` and ``kl=None``;
      preferences are ``[..., A]``.

    Examples:
      >>> print(greedy().probs(jnp.array([1.0, 3.0, 3.0])))
      [0.  0.5 0.5]
    """

    def sample_fn(key: ArrayLike, preferences: ArrayLike) -> jax.Array:
        _check_rank_at_least("rlax_core.greedy.sample", "preferences", preferences, 1)
        p, log_p = _probs_distribution(_greedy_weights(jnp.asarray(preferences)))
        return _categorical_draw(key, log_p, p)

    def probs_fn(preferences: ArrayLike) -> jax.Array:
        return _probs_distribution(_greedy_weights(jnp.asarray(preferences)))[0]

    def logprob_fn(sample: ArrayLike, preferences: ArrayLike) -> jax.Array:
        _, log_p = _probs_distribution(_greedy_weights(jnp.asarray(preferences)))
        return _categorical_logprob("rlax_core.greedy.logprob", log_p, sample)

    def entropy_fn(preferences: ArrayLike) -> jax.Array:
        _, log_p = _probs_distribution(_greedy_weights(jnp.asarray(preferences)))
        return _categorical_entropy_from_log_p(log_p)

    return DiscreteDistribution(sample_fn, probs_fn, logprob_fn, entropy_fn, None)


def _epsilon_greedy_probs(preferences: jax.Array, epsilon: Any) -> tuple[jax.Array, jax.Array]:
    """(normalised probabilities, their log) of the epsilon-greedy mixture."""
    if epsilon is None:
        raise ShapeTypeError(
            "rlax_core.epsilon_greedy: `epsilon` is None; pass it to epsilon_greedy(epsilon) "
            "or to each function call."
        )
    greedy_weights = _greedy_weights(preferences)
    num_actions = greedy_weights.shape[-1]
    uniform = jnp.ones_like(greedy_weights) / num_actions
    return _probs_distribution((1 - epsilon) * greedy_weights + epsilon * uniform)


def epsilon_greedy(epsilon: ArrayLike | None = None) -> DiscreteDistribution:
    """Epsilon-greedy policy: greedy w.p. ``1 - epsilon``, uniform w.p. ``epsilon``.

    Args:
      epsilon: exploration rate in [0, 1]; if ``None`` it must be passed to each call.

    Returns:
      ``DiscreteDistribution`` with ``sample(key, preferences, epsilon=epsilon)``,
      ``probs(preferences, epsilon=epsilon)``, ``logprob(sample, preferences, epsilon=epsilon)``,
      ``entropy(preferences, epsilon=epsilon)`` and ``kl=None``; preferences are ``[..., A]``.

    References:
      Sutton & Barto (2018), Reinforcement Learning: An Introduction, 2nd ed., ch. 2.

    Examples:
      >>> print(epsilon_greedy(0.1).probs(jnp.array([1.0, 3.0])))
      [0.05 0.95]
    """
    default_epsilon = epsilon

    def sample_fn(key: ArrayLike, preferences: ArrayLike, epsilon=default_epsilon) -> jax.Array:
        _check_rank_at_least("rlax_core.epsilon_greedy.sample", "preferences", preferences, 1)
        p, log_p = _epsilon_greedy_probs(jnp.asarray(preferences), epsilon)
        return _categorical_draw(key, log_p, p)

    def probs_fn(preferences: ArrayLike, epsilon=default_epsilon) -> jax.Array:
        return _epsilon_greedy_probs(jnp.asarray(preferences), epsilon)[0]

    def logprob_fn(sample: ArrayLike, preferences: ArrayLike, epsilon=default_epsilon) -> jax.Array:
        _, log_p = _epsilon_greedy_probs(jnp.asarray(preferences), epsilon)
        return _categorical_logprob("rlax_core.epsilon_greedy.logprob", log_p, sample)

    def entropy_fn(preferences: ArrayLike, epsilon=default_epsilon) -> jax.Array:
        _, log_p = _epsilon_greedy_probs(jnp.asarray(preferences), epsilon)
        return _categorical_entropy_from_log_p(log_p)

    return DiscreteDistribution(sample_fn, probs_fn, logprob_fn, entropy_fn, None)


def clipped_entropy_softmax(
    temperature: float = 1.0, entropy_clip: float = 1.0
) -> DiscreteDistribution:
    """Softmax policy whose entropy is capped at ``entropy_clip * log(A)``.

    Useful as an entropy bonus that stops pushing once the policy is close to uniform.

    Args:
      temperature: positive softmax temperature.
      entropy_clip: fraction of the maximal entropy ``log(A)`` at which to cap.

    Returns:
      ``DiscreteDistribution`` with ``sample(key, logits, action_spec=None)``,
      ``probs(logits, action_spec=None)``, ``logprob(sample, logits, action_spec=None)``,
      ``entropy(logits)`` and ``kl(p_logits, q_logits)``; logits are ``[..., A]``.

    Examples:
      >>> print(clipped_entropy_softmax(entropy_clip=0.5).entropy(jnp.zeros(4)) / jnp.log(4.0))
      0.5
    """
    base = softmax(temperature)

    def sample_fn(key: ArrayLike, logits: ArrayLike, action_spec=None) -> jax.Array:
        del action_spec
        return base.sample(key, logits)

    def probs_fn(logits: ArrayLike, action_spec=None) -> jax.Array:
        del action_spec
        return base.probs(logits)

    def logprob_fn(sample: ArrayLike, logits: ArrayLike, action_spec=None) -> jax.Array:
        del action_spec
        return base.logprob(sample, logits)

    def entropy_fn(logits: ArrayLike) -> jax.Array:
        _check_rank_at_least("rlax_core.clipped_entropy_softmax.entropy", "logits", logits, 1)
        logits = jnp.asarray(logits)
        cap = entropy_clip * jnp.log(logits.shape[-1])
        return jnp.minimum(base.entropy(logits), cap)

    return DiscreteDistribution(sample_fn, probs_fn, logprob_fn, entropy_fn, base.kl)


def _broadcast(*arrays: ArrayLike) -> list[jax.Array]:
    """Broadcasts explicitly to a common shape (e.g. a [D] sigma against [B, D] means)."""
    arrays_ = [jnp.asarray(a) for a in arrays]
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays_))
    return [jnp.broadcast_to(a, shape) for a in arrays_]


def _gaussian_logprob(sample: jax.Array, mu: jax.Array, sigma: jax.Array) -> jax.Array:
    sample, mu, sigma = _broadcast(sample, mu, sigma)
    z = (sample - mu) / sigma
    return jnp.sum(-0.5 * jnp.square(z) - jnp.log(sigma) - _HALF_LOG_2PI, axis=-1)


def _gaussian_entropy(mu: jax.Array, sigma: jax.Array) -> jax.Array:
    ent = 0.5 + _HALF_LOG_2PI + jnp.log(sigma)
    return jnp.sum(jnp.broadcast_to(ent, jnp.broadcast_shapes(mu.shape, sigma.shape)), axis=-1)


def multivariate_normal_kl_divergence(
    mu_0: ArrayLike, sigma_0: ArrayLike, mu_1: ArrayLike, sigma_1: ArrayLike
) -> jax.Array:
    """KL(N(mu_0, diag(sigma_0^2)) || N(mu_1, diag(sigma_1^2))), summed over the last axis.

    Args:
      mu_0: [..., D] means of the first Gaussian.
      sigma_0: [..., D] standard deviations of the first Gaussian.
      mu_1: [..., D] means of the second Gaussian.
      sigma_1: [..., D] standard deviations of the second Gaussian.

    Returns:
      [...] KL divergence.

    Examples:
      >>> print(multivariate_normal_kl_divergence(jnp.zeros(2), jnp.ones(2), jnp.ones(2), jnp.ones(2)))
      1.0
    """
    mu_0, sigma_0, mu_1, sigma_1 = _broadcast(mu_0, sigma_0, mu_1, sigma_1)
    ratio = sigma_0 / sigma_1
    diff = (mu_0 - mu_1) / sigma_1
    per_dim = 0.5 * (jnp.square(ratio) + jnp.square(diff) - 1.0) - jnp.log(ratio)
    return jnp.sum(per_dim, axis=-1)


def _require_sigma(fn: str, sigma: Any) -> jax.Array:
    if sigma is None:
        raise ShapeTypeError(
            f"{fn}: `sigma` is None; pass it to gaussian_diagonal(sigma) or to each call."
        )
    return jnp.asarray(sigma)


def gaussian_diagonal(sigma: ArrayLike | None = None) -> ContinuousDistribution:
    """Diagonal Gaussian policy ``N(mu, diag(sigma^2))`` over the last axis.

    Args:
      sigma: default standard deviations ``[..., D]`` (or a scalar); may be given per call.

    Returns:
      ``ContinuousDistribution`` with ``sample(key, mu, sigma=sigma)``,
      ``prob(sample, mu, sigma=sigma)``, ``logprob(sample, mu, sigma=sigma)``,
      ``entropy(mu, sigma=sigma)``, ``kl_to_standard_normal(mu, sigma=sigma)`` and
      ``kl(mu_0, sigma_0, mu_1, sigma_1)``; ``mu`` is ``[..., D]``. Densities and entropies
      sum over ``D``.

    Examples:
      >>> print(gaussian_diagonal().kl_to_standard_normal(jnp.zeros(2), jnp.ones(2)))
      0.0
    """
    default_sigma = sigma

    def sample_fn(
        key: ArrayLike, mu: ArrayLike, sigma: ArrayLike | None = default_sigma
    ) -> jax.Array:
        sigma = _require_sigma("rlax_core.gaussian_diagonal.sample", sigma)
        mu, sigma = _broadcast(mu, sigma)
        shape = mu.shape
        # One draw of shape [1, ...] (the reference draws `sample_shape + batch`), reshaped.
        noise = jnp.reshape(jax.random.normal(key, shape=(1, *shape), dtype=mu.dtype), shape)
        return mu + sigma * noise

    def logprob_fn(
        sample: ArrayLike, mu: ArrayLike, sigma: ArrayLike | None = default_sigma
    ) -> jax.Array:
        sigma = _require_sigma("rlax_core.gaussian_diagonal.logprob", sigma)
        return _gaussian_logprob(jnp.asarray(sample), jnp.asarray(mu), sigma)

    def prob_fn(
        sample: ArrayLike, mu: ArrayLike, sigma: ArrayLike | None = default_sigma
    ) -> jax.Array:
        return jnp.exp(logprob_fn(sample, mu, sigma))

    def entropy_fn(mu: ArrayLike, sigma: ArrayLike | None = default_sigma) -> jax.Array:
        sigma = _require_sigma("rlax_core.gaussian_diagonal.entropy", sigma)
        return _gaussian_entropy(jnp.asarray(mu), sigma)

    def kl_to_standard_normal_fn(
        mu: ArrayLike, sigma: ArrayLike | None = default_sigma
    ) -> jax.Array:
        sigma = _require_sigma("rlax_core.gaussian_diagonal.kl_to_standard_normal", sigma)
        mu = jnp.asarray(mu)
        return multivariate_normal_kl_divergence(mu, sigma, jnp.zeros_like(mu), jnp.ones_like(mu))

    def kl_fn(
        mu_0: ArrayLike, sigma_0: ArrayLike, mu_1: ArrayLike, sigma_1: ArrayLike
    ) -> jax.Array:
        return multivariate_normal_kl_divergence(mu_0, sigma_0, mu_1, sigma_1)

    return ContinuousDistribution(
        sample_fn, prob_fn, logprob_fn, entropy_fn, kl_to_standard_normal_fn, kl_fn
    )


def squashed_gaussian(sigma_min: float = -4, sigma_max: float = 0.0) -> ContinuousDistribution:
    """Tanh-squashed diagonal Gaussian, rescaled to a bounded action spec.

    ``mu`` goes through ``tanh``; ``sigma`` through
    ``exp(sigma_min + (sigma_max - sigma_min) * (tanh(sigma) + 1) / 2)``; a sample
    ``x ~ N(mu, sigma)`` becomes ``min + (max - min) * (tanh(x) + 1) / 2``.

    Args:
      sigma_min: log of the smallest standard deviation.
      sigma_max: log of the largest standard deviation.

    Returns:
      ``ContinuousDistribution`` with ``sample(key, mu, sigma, action_spec)``,
      ``prob(sample, mu, sigma, action_spec)``, ``logprob(sample, mu, sigma, action_spec)``,
      ``entropy(mu, sigma)``, ``kl_to_standard_normal(mu, sigma)`` and
      ``kl(mu_0, sigma_0, mu_1, sigma_1)``; ``mu, sigma`` are ``[..., D]`` pre-activations and
      ``action_spec`` has ``minimum``/``maximum`` broadcastable to ``[D]``. Entropy and KLs are
      those of the underlying (unsquashed) Gaussian.

    References:
      Haarnoja et al. (2018), Soft Actor-Critic, https://arxiv.org/abs/1801.01290.

    Examples:
      >>> import collections
      >>> Spec = collections.namedtuple("Spec", "minimum maximum")
      >>> a = squashed_gaussian().sample(jax.random.PRNGKey(0), jnp.zeros(1), jnp.zeros(1), Spec(0.0, 2.0))
      >>> print(a.shape, bool(0.0 <= a[0] <= 2.0))
      (1,) True
    """

    def sigma_activation(sigma: ArrayLike) -> jax.Array:
        sigma = jnp.asarray(sigma)
        return jnp.exp(sigma_min + 0.5 * (sigma_max - sigma_min) * (jnp.tanh(sigma) + 1.0))

    def mu_activation(mu: ArrayLike) -> jax.Array:
        return jnp.tanh(jnp.asarray(mu))

    def bounds(a: jax.Array, action_spec: Any) -> tuple[jax.Array, jax.Array]:
        # The spec's [D] bounds apply to every leading index of `a` ([..., D]); they keep
        # their own dtype, so float32 bounds promote a bfloat16 `a`.
        lo = jnp.asarray(action_spec.minimum)
        hi = jnp.asarray(action_spec.maximum)
        shape = jnp.broadcast_shapes(a.shape, lo.shape, hi.shape)
        return jnp.broadcast_to(lo, shape), jnp.broadcast_to(hi, shape)

    def transform(a: jax.Array, action_spec: Any) -> jax.Array:
        if action_spec is None:
            return a
        lo, hi = bounds(a, action_spec)
        a = jnp.broadcast_to(a, lo.shape)
        return lo + (hi - lo) * (a + 1.0) / 2.0

    def inverse_transform(a: jax.Array, action_spec: Any) -> jax.Array:
        if action_spec is None:
            return a
        lo, hi = bounds(a, action_spec)
        a = jnp.broadcast_to(a, lo.shape)
        return 2.0 * (a - lo) / (hi - lo) - 1.0

    def log_scale(y: jax.Array, action_spec: Any) -> jax.Array:
        """Per-dimension log-Jacobian of the affine map from [-1, 1] to the spec bounds."""
        if action_spec is None:
            return jnp.zeros_like(y)
        lo, hi = bounds(y, action_spec)
        return jnp.log((hi - lo) / 2.0)

    def sample_fn(key: ArrayLike, mu: ArrayLike, sigma: ArrayLike, action_spec=None) -> jax.Array:
        mu, sigma = _broadcast(mu_activation(mu), sigma_activation(sigma))
        shape = mu.shape
        noise = jnp.reshape(jax.random.normal(key, shape=(1, *shape), dtype=mu.dtype), shape)
        x = mu + sigma * noise
        return transform(jnp.tanh(x), action_spec)

    def logprob_fn(
        sample: ArrayLike, mu: ArrayLike, sigma: ArrayLike, action_spec=None
    ) -> jax.Array:
        mu, sigma = mu_activation(mu), sigma_activation(sigma)
        y = inverse_transform(jnp.asarray(sample), action_spec)
        x = jnp.arctanh(y)
        # log|det| of x -> tanh(x) -> (optional) affine rescaling to [lo, hi].
        # log(1 - tanh(x)^2) written in terms of x stays finite near the bounds.
        log_dtanh = 2.0 * (math.log(2.0) - x - jax.nn.softplus(-2.0 * x))
        log_det = jnp.sum(log_dtanh + log_scale(y, action_spec), axis=-1)
        return _gaussian_logprob(x, mu, sigma) - log_det

    def prob_fn(sample: ArrayLike, mu: ArrayLike, sigma: ArrayLike, action_spec=None) -> jax.Array:
        return jnp.exp(logprob_fn(sample, mu, sigma, action_spec))

    def entropy_fn(mu: ArrayLike, sigma: ArrayLike) -> jax.Array:
        return _gaussian_entropy(mu_activation(mu), sigma_activation(sigma))

    def kl_to_standard_normal_fn(mu: ArrayLike, sigma: ArrayLike) -> jax.Array:
        mu, sigma = mu_activation(mu), sigma_activation(sigma)
        return multivariate_normal_kl_divergence(mu, sigma, jnp.zeros_like(mu), jnp.ones_like(mu))

    def kl_fn(
        mu_0: ArrayLike, sigma_0: ArrayLike, mu_1: ArrayLike, sigma_1: ArrayLike
    ) -> jax.Array:
        return multivariate_normal_kl_divergence(
            mu_activation(mu_0),
            sigma_activation(sigma_0),
            mu_activation(mu_1),
            sigma_activation(sigma_1),
        )

    return ContinuousDistribution(
        sample_fn, prob_fn, logprob_fn, entropy_fn, kl_to_standard_normal_fn, kl_fn
    )


def categorical_importance_sampling_ratios(
    pi_logits_t: ArrayLike, mu_logits_t: ArrayLike, a_t: ArrayLike
) -> jax.Array:
    """Importance ratios ``pi(a_t) / mu(a_t)`` from target and behaviour logits.

    The three inputs broadcast against each other's batch shapes. Actions may be
    integer or float (a float action selects the category it equals); actions outside
    ``[0, A)`` give NaN (both log-probabilities are ``-inf``).

    Args:
      pi_logits_t: [..., A] target-policy logits (typically ``[T, A]``).
      mu_logits_t: [..., A] behaviour-policy logits.
      a_t: [...] actions taken.

    Returns:
      [...] ratios (the broadcast batch shape).

    Raises:
      ValueError: if a logits input is a scalar or the shapes do not broadcast.

    Examples:
      >>> print(categorical_importance_sampling_ratios(jnp.array([[0.0, 0.0]]), jnp.array([[0.0, jnp.log(3.0)]]), jnp.array([0])))
      [2.]
    """
    fn = "rlax_core.categorical_importance_sampling_ratios"
    _check_rank_at_least(fn, "pi_logits_t", pi_logits_t, 1)
    _check_rank_at_least(fn, "mu_logits_t", mu_logits_t, 1)
    log_pi = _categorical_logprob(fn, _log_p_from_logits(pi_logits_t), a_t, ("a_t", "pi_logits_t"))
    log_mu = _categorical_logprob(fn, _log_p_from_logits(mu_logits_t), a_t, ("a_t", "mu_logits_t"))
    log_pi, log_mu = _broadcast_pair(fn, log_pi, log_mu, ("pi_logits_t", "mu_logits_t"))
    return jnp.exp(log_pi - log_mu)


def categorical_cross_entropy(labels: ArrayLike, logits: ArrayLike) -> jax.Array:
    """Cross-entropy ``-sum_a p_a * log softmax(logits)_a`` over the last axis.

    ``p`` is ``labels`` normalised to sum to one. Categories with ``p_a == 0`` add
    nothing, even where the logit is ``-inf`` (masked actions).

    Args:
      labels: [..., A] target probabilities (non-negative weights).
      logits: [..., A] predicted logits; broadcasts against ``labels``.

    Returns:
      [...] cross-entropy.

    Raises:
      ValueError: if the number of categories differs or the shapes do not broadcast.

    Examples:
      >>> print(categorical_cross_entropy(jnp.array([1.0, 0.0]), jnp.zeros(2)))
      0.6931472
    """
    fn = "rlax_core.categorical_cross_entropy"
    _check_rank_at_least(fn, "labels", labels, 1)
    _check_rank_at_least(fn, "logits", logits, 1)
    log_p = jnp.log(_normalise_probs(labels))
    entropy = _categorical_entropy_from_log_p(log_p)
    kl = _categorical_kl_from_log_p(fn, log_p, _log_p_from_logits(logits), ("labels", "logits"))
    entropy, kl = _broadcast_pair(fn, entropy, kl, ("labels", "logits"))
    return kl + entropy


def categorical_kl_divergence(
    p_logits: ArrayLike, q_logits: ArrayLike, temperature: float = 1.0
) -> jax.Array:
    """KL(p || q) between two tempered softmax distributions over the last axis.

    Categories that ``p`` masks (``-inf`` logits) add nothing.

    Args:
      p_logits: [..., A] logits of p.
      q_logits: [..., A] logits of q; broadcasts against ``p_logits``.
      temperature: softmax temperature applied to both.

    Returns:
      [...] KL divergence.

    Raises:
      ValueError: if the number of categories differs or the shapes do not broadcast.

    Examples:
      >>> print(categorical_kl_divergence(jnp.zeros(3), jnp.zeros(3)))
      0.0
    """
    fn = "rlax_core.categorical_kl_divergence"
    _check_rank_at_least(fn, "p_logits", p_logits, 1)
    _check_rank_at_least(fn, "q_logits", q_logits, 1)
    return _categorical_kl_from_log_p(
        fn,
        _log_p_from_logits(p_logits, temperature),
        _log_p_from_logits(q_logits, temperature),
        ("p_logits", "q_logits"),
    )
