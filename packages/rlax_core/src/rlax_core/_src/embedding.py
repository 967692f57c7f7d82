"""Embedding of (observation, action, reward) inputs for recurrent agents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks
from rlax_core._src.tree_util import ShapeTypeError, checks_raise_assertion_errors


def embed_oar(
    features: ArrayLike, action: ArrayLike, reward: ArrayLike, num_actions: int
) -> jax.Array:
    """Concatenates features, one-hot previous actions and tanh-squashed rewards.

    Args:
      features: [B, D] observation features.
      action: [B] integer previous actions.
      reward: [B] previous rewards (squashed with ``tanh``).
      num_actions: A, number of discrete actions.

    Returns:
      [B, D + A + 1] embedding; its dtype is the promotion of ``features``' dtype with the
      default float dtype (the one-hot actions and squashed rewards use it).

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) on rank mismatches.
      ShapeTypeError: (a ``ValueError``/``TypeError``) on batch-size mismatches.

    References:
      Kapturowski et al. (2019), Recurrent Experience Replay in Distributed RL (R2D2).

    Examples:
      >>> print(embed_oar(jnp.zeros((1, 1)), jnp.array([1]), jnp.array([0.0]), 2))
      [[0. 0. 1. 0.]]
    """
    fn = "rlax_core.embed_oar"
    with checks_raise_assertion_errors():
        checks.check_rank(fn, features=(features, 2), action=(action, 1), reward=(reward, 1))
    try:
        checks.check_leading_dims(fn, 1, features=features, action=action, reward=reward)
    except ValueError as e:
        raise ShapeTypeError(str(e)) from None
    action_one_hot = jax.nn.one_hot(action, num_actions)  # [B, A], default float dtype
    squashed_reward = jnp.reshape(jnp.tanh(reward), (-1, 1))  # [B, 1]
    return jnp.concatenate([jnp.asarray(features), action_one_hot, squashed_reward], axis=-1)
