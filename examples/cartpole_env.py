"""CartPole-v1 written in pure JAX, step-for-step equal to gymnasium's CartPole-v1.

The dynamics are the classic cart-pole equations (Barto, Sutton & Anderson, 1983,
"Neuronlike adaptive elements that can solve difficult learning control problems",
with the corrected pole equations of Florian, 2007) integrated with explicit
Euler steps of 0.02 s, exactly as gymnasium does. Episodes terminate when the
cart leaves [-2.4, 2.4] or the pole leans more than 12 degrees, and are
truncated after 500 steps. Every step pays reward 1.

Because everything is a pure function of ``(state, action, key)``, thousands
of environments run inside one ``jax.jit``-compiled training step (see
``ppo_cartpole.py``). ``tests/test_cartpole_env.py`` checks these dynamics
against ``gymnasium.make("CartPole-v1")`` step by step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_POLE_LENGTH = 0.5
POLE_MASS_LENGTH = MASS_POLE * HALF_POLE_LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_LIMIT = 12 * 2 * jnp.pi / 360
X_LIMIT = 2.4
MAX_STEPS = 500
OBS_SIZE = 4
NUM_ACTIONS = 2


class EnvState(NamedTuple):
    """State of one CartPole environment.

    Attributes:
      physics: [4] float32 (x, x_dot, theta, theta_dot).
      t: [] int32 steps taken in the current episode.
    """

    physics: jax.Array
    t: jax.Array


def reset(key: jax.Array) -> tuple[EnvState, jax.Array]:
    """Starts an episode: each state variable uniform in [-0.05, 0.05] (as gymnasium).

    Returns:
      (state, observation [4]).
    """
    physics = jax.random.uniform(key, (4,), minval=-0.05, maxval=0.05)
    return EnvState(physics, jnp.zeros((), jnp.int32)), physics


def dynamics(physics: jax.Array, action: jax.Array) -> jax.Array:
    """One Euler step of the cart-pole equations; ``action`` 1 pushes right, 0 left."""
    x, x_dot, theta, theta_dot = physics[0], physics[1], physics[2], physics[3]
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLE_MASS_LENGTH * theta_dot**2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (
        HALF_POLE_LENGTH * (4.0 / 3.0 - MASS_POLE * cos**2 / TOTAL_MASS)
    )
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return jnp.stack(
        [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ]
    )


def terminated(physics: jax.Array) -> jax.Array:
    """True when the cart is out of bounds or the pole has fallen past 12 degrees."""
    x, theta = physics[0], physics[2]
    return (jnp.abs(x) > X_LIMIT) | (jnp.abs(theta) > THETA_LIMIT)


class Step(NamedTuple):
    """What ``step`` returns for one environment."""

    state: EnvState
    obs: jax.Array  # [4] observation after the step (of the NEW episode if it auto-reset)
    reward: jax.Array  # [] float32
    terminated: jax.Array  # [] bool: the pole fell or the cart left the track
    truncated: jax.Array  # [] bool: the 500-step limit was reached
    final_obs: jax.Array  # [4] observation reached by the action, before any auto-reset


def step(key: jax.Array, state: EnvState, action: jax.Array) -> Step:
    """Applies ``action`` and auto-resets a finished episode with ``key``."""
    physics = dynamics(state.physics, action)
    t = state.t + 1
    term = terminated(physics)
    trunc = jnp.logical_and(~term, t >= MAX_STEPS)
    done = term | trunc
    reset_state, reset_obs = reset(key)
    new_state = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_state, EnvState(physics, t))
    obs = jnp.where(done, reset_obs, physics)
    return Step(new_state, obs, jnp.ones((), jnp.float32), term, trunc, physics)
