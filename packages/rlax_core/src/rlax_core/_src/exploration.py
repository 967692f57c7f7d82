"""Exploration noise and episodic novelty bonuses."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, episodic_memory
from rlax_core._src.tree_util import MappingMixin, ShapeTypeError, mappable_dataclass


def add_gaussian_noise(key: ArrayLike, action: ArrayLike, stddev: float) -> jax.Array:
    """Adds i.i.d. zero-mean Gaussian noise to a continuous action.

    Args:
      key: PRNG key.
      action: action array of any shape (e.g. [D]).
      stddev: noise standard deviation.

    Returns:
      ``action + stddev * N(0, I)``, same shape as ``action``.

    References:
      Fujimoto et al. (2018), Addressing Function Approximation Error in Actor-Critic
      Methods (TD3), https://arxiv.org/abs/1802.09477.

    Examples:
      >>> print(add_gaussian_noise(jax.random.PRNGKey(0), jnp.ones(2), 0.0))
      [1. 1.]
    """
    checks.check_type("rlax_core.add_gaussian_noise", action=(action, "float"))
    action = jnp.asarray(action)
    # The noise is drawn in the default float dtype and promotes low-precision actions.
    return action + jax.random.normal(key, shape=action.shape) * stddev


def add_ornstein_uhlenbeck_noise(
    key: ArrayLike, action: ArrayLike, noise_tm1: ArrayLike, damping: float, stddev: float
) -> jax.Array:
    """Adds temporally correlated Ornstein-Uhlenbeck noise to a continuous action.

    ``noise_t = (1 - damping) * noise_tm1 + stddev * N(0, I)``; returns ``action + noise_t``.
    Keep ``noise_t = result - action`` to carry the noise to the next step.

    Args:
      key: PRNG key.
      action: [D] action.
      noise_tm1: [D] previous noise.
      damping: mean-reversion rate in [0, 1].
      stddev: innovation standard deviation.

    Returns:
      [D] noisy action.

    Raises:
      ValueError: on rank or shape mismatches.

    References:
      Uhlenbeck & Ornstein (1930), On the theory of the Brownian motion. Lillicrap et al.
      (2016), Continuous control with deep reinforcement learning (DDPG),
      https://arxiv.org/abs/1509.02971.

    Examples:
      >>> print(add_ornstein_uhlenbeck_noise(jax.random.PRNGKey(0), jnp.zeros(2), jnp.ones(2), 0.5, 0.0))
      [0.5 0.5]
    """
    fn = "rlax_core.add_ornstein_uhlenbeck_noise"
    checks.check_rank(fn, action=(action, 1), noise_tm1=(noise_tm1, 1))
    checks.check_type(fn, action=(action, "float"), noise_tm1=(noise_tm1, "float"))
    action = jnp.asarray(action)
    noise_tm1 = jnp.asarray(noise_tm1)
    checks.broadcast_arrays(fn, action=action, noise_tm1=noise_tm1)
    # The noise is drawn in the default float dtype and promotes low-precision inputs.
    noise = jax.random.normal(key, shape=action.shape)
    noise_t = (1.0 - damping) * noise_tm1 + noise * stddev
    action, noise_t = checks.broadcast_arrays(fn, action=action, noise_tm1=noise_t)
    return action + noise_t


def add_dirichlet_noise(
    key: ArrayLike, prior: ArrayLike, dirichlet_alpha: float, dirichlet_fraction: float
) -> jax.Array:
    """Mixes a batch of action priors with symmetric Dirichlet noise.

    ``(1 - fraction) * prior + fraction * Dir(alpha)``, as in AlphaZero's root exploration.

    Args:
      key: PRNG key.
      prior: [B, A] action probabilities.
      dirichlet_alpha: concentration of the symmetric Dirichlet.
      dirichlet_fraction: mixing weight of the noise in [0, 1].

    Returns:
      [B, A] noisy priors.

    Raises:
      ValueError: if ``prior`` is not rank 2.

    References:
      Silver et al. (2017), Mastering the game of Go without human knowledge, Nature 550.

    Examples:
      >>> print(add_dirichlet_noise(jax.random.PRNGKey(0), jnp.full((1, 2), 0.5), 0.3, 0.0))
      [[0.5 0.5]]
    """
    fn = "rlax_core.add_dirichlet_noise"
    checks.check_rank(fn, prior=(prior, 2))
    checks.check_type(
        fn,
        dirichlet_alpha=(dirichlet_alpha, "float"),
        dirichlet_fraction=(dirichlet_fraction, "float"),
    )
    prior = jnp.asarray(prior)
    batch_size, num_actions = prior.shape
    # Noise in the default float dtype (it promotes a low-precision prior).
    alpha = jnp.full((num_actions,), dirichlet_alpha)
    noise = jax.random.dirichlet(key, alpha=alpha, shape=(batch_size,))
    return (1 - dirichlet_fraction) * prior + dirichlet_fraction * noise


@mappable_dataclass
class IntrinsicRewardState(MappingMixin):
    """State of ``episodic_memory_intrinsic_rewards``.

    Attributes:
      memory: [max_memory_size, D] stored embeddings (a ring buffer).
      next_memory_index: where the next write starts (taken modulo the memory size).
      distance_sum: running sum of (negated) neighbour distances.
      distance_count: number of distances summed.
    """

    memory: jax.Array
    next_memory_index: Any = 0
    distance_sum: Any = 0
    distance_count: Any = 0


def episodic_memory_intrinsic_rewards(
    embeddings: ArrayLike,
    num_neighbors: int,
    reward_scale: float,
    intrinsic_reward_state: IntrinsicRewardState | None = None,
    constant: float = 0.001,
    epsilon: float = 0.0001,
    cluster_distance: float = 0.008,
    max_similarity: float = 8.0,
    max_memory_size: int = 30000,
) -> tuple[jax.Array, IntrinsicRewardState]:
    """Never-Give-Up episodic novelty rewards from a kNN memory of embeddings.

    For every embedding: find its K nearest memory entries (squared Euclidean, memory
    *before* this call's writes), normalise the distances by their running mean, apply
    the clustered inverse kernel ``epsilon / (max(d - cluster_distance, 0) + epsilon)``,
    and reward ``reward_scale / (sqrt(sum kernel) + constant)`` unless that similarity
    exceeds ``max_similarity`` (reward 0). The embeddings are then written into the ring
    buffer.

    Args:
      embeddings: [M, D] controllable-state embeddings of this step's observations.
      num_neighbors: K, a static Python int.
      reward_scale: multiplier of the rewards.
      intrinsic_reward_state: previous state; ``None`` starts an empty memory (queried as
        zeros, stored as ``inf`` until written).
      constant: pseudo-count constant ``c`` (also added to the running mean distance).
      epsilon: kernel constant.
      cluster_distance: distances below this (after normalisation) count as identical.
      max_similarity: similarity above which the reward is zero.
      max_memory_size: ring-buffer capacity used when the state is ``None``.

    Returns:
      ``(rewards [M], new_state)``.

    Raises:
      ValueError: if ``embeddings`` is not rank 2.

    References:
      Badia et al. (2020), Never Give Up: Learning Directed Exploration Strategies,
      https://arxiv.org/abs/2002.06038.

    Examples:
      >>> rewards, state = episodic_memory_intrinsic_rewards(jnp.zeros((1, 2)), 1, 1.0, max_memory_size=4)
      >>> print(rewards, state.next_memory_index)
      [0.99900097] 1
    """
    fn = "rlax_core.episodic_memory_intrinsic_rewards"
    if jnp.ndim(embeddings) != 2:
        raise ShapeTypeError(
            f"{fn}: `embeddings` must have rank 2 ([M, D]), got shape {jnp.shape(embeddings)}."
        )
    embeddings = jnp.asarray(embeddings)
    num_embeddings, dim = embeddings.shape
    if intrinsic_reward_state is None:
        query_memory = jnp.zeros((max_memory_size, dim), dtype=embeddings.dtype)
        intrinsic_reward_state = IntrinsicRewardState(
            memory=jnp.full((max_memory_size, dim), jnp.inf, dtype=embeddings.dtype)
        )
    else:
        query_memory = jnp.asarray(intrinsic_reward_state.memory)
    state: IntrinsicRewardState = intrinsic_reward_state
    memory_size = query_memory.shape[0]

    knn = episodic_memory.knn_query(query_memory, embeddings, num_neighbors)
    neg_distances = knn.neighbor_neg_distances
    distance_sum = state.distance_sum + jnp.sum(neg_distances)
    distance_count = state.distance_count + neg_distances.size
    mean_neg_distance = distance_sum / distance_count
    distances = neg_distances / (mean_neg_distance + constant)
    distances = jnp.maximum(distances - cluster_distance, 0.0)
    kernel = epsilon / (distances + epsilon)
    similarity = jnp.sqrt(jnp.sum(kernel, axis=-1)) + constant
    rewards = jnp.where(similarity > max_similarity, 0.0, 1.0 / similarity) * reward_scale

    start = state.next_memory_index % memory_size
    write_idx = (start + jnp.arange(num_embeddings)) % memory_size
    memory = jnp.asarray(state.memory).at[write_idx].set(embeddings)
    new_state = IntrinsicRewardState(
        memory=memory,
        next_memory_index=start + num_embeddings,
        distance_sum=distance_sum,
        distance_count=distance_count,
    )
    return rewards, new_state
