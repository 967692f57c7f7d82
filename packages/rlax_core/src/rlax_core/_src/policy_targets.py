"""Sampled policy targets and their distillation loss.

``distribution`` arguments are duck-typed: any object with ``sample(seed=...,
sample_shape=...)``, ``log_prob(x)`` and ``batch_shape`` works (distrax and TFP
distributions qualify); rlax-core itself depends on neither.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import multistep
from rlax_core._src.tree_util import MappingMixin, ShapeAssertionError, mappable_dataclass


@mappable_dataclass(frozen=True)
class PolicyTarget(MappingMixin):
    """A sampled policy target.

    Attributes:
      actions: [S, ...] sampled actions.
      weights: ``[S, *batch_shape]`` weight of each sample.
    """

    actions: jax.Array
    weights: jax.Array


def constant_policy_targets(
    distribution: Any, rng_key: ArrayLike, num_samples: int, weights_scale: float = 1.0
) -> PolicyTarget:
    """Samples ``num_samples`` actions and gives every sample weight ``weights_scale``.

    Args:
      distribution: distribution object (``sample``/``log_prob``/``batch_shape``).
      rng_key: PRNG key passed as ``seed``.
      num_samples: S, number of samples.
      weights_scale: the constant weight.

    Returns:
      ``PolicyTarget(actions [S, ...], weights [S, *batch_shape])``.

    Examples:
      >>> import types
      >>> dist = types.SimpleNamespace(batch_shape=(), sample=lambda seed, sample_shape: jnp.zeros(sample_shape))
      >>> print(constant_policy_targets(dist, jax.random.PRNGKey(0), 3, 0.5).weights)
      [0.5 0.5 0.5]
    """
    actions = distribution.sample(seed=rng_key, sample_shape=(num_samples,))
    shape = (num_samples, *tuple(distribution.batch_shape))
    weights = weights_scale * jnp.ones(shape)
    return PolicyTarget(actions=actions, weights=weights)


zero_policy_targets: functools.partial[PolicyTarget] = functools.partial(
    constant_policy_targets, weights_scale=0.0
)


def sampled_policy_distillation_loss(
    distribution: Any, policy_targets: PolicyTarget, stop_target_gradients: bool = True
) -> jax.Array:
    """Weighted negative log-likelihood of target actions under a predicted distribution.

    ``-mean(weights * distribution.log_prob(actions))``, averaged over samples, batch and
    (for vector actions) action dimensions. Log-probabilities of ``-inf`` (masked or
    impossible actions) are raised to the dtype's smallest finite value first, so a
    zero weight on such an action contributes 0 rather than NaN.

    Args:
      distribution: predicted distribution (``log_prob``).
      policy_targets: ``PolicyTarget`` with actions [S, ...] and weights [S, ...].
      stop_target_gradients: stop gradients through the target actions and weights; a
        Python bool or a traced boolean scalar.

    Returns:
      [] loss.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if ``weights`` and the
        log-probabilities have different shapes.

    References:
      Rusu et al. (2016), Policy Distillation, https://arxiv.org/abs/1511.06295.

    Examples:
      >>> import types
      >>> dist = types.SimpleNamespace(log_prob=lambda a: -jnp.abs(a))
      >>> print(sampled_policy_distillation_loss(dist, PolicyTarget(jnp.array([1.0, 3.0]), jnp.ones(2))))
      2.0
    """
    actions = multistep.maybe_stop_gradient(policy_targets.actions, stop_target_gradients)
    weights = multistep.maybe_stop_gradient(policy_targets.weights, stop_target_gradients)
    log_probs = jnp.asarray(distribution.log_prob(actions))
    if weights.shape != log_probs.shape:
        raise ShapeAssertionError(
            "rlax_core.sampled_policy_distillation_loss: `policy_targets.weights` must have "
            f"the shape of the log-probabilities of `policy_targets.actions`, got "
            f"{weights.shape} vs {log_probs.shape}."
        )
    floor = jnp.finfo(log_probs.dtype).min
    return -jnp.mean(weights * jnp.maximum(log_probs, floor))
