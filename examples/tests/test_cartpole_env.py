"""The JAX CartPole matches gymnasium's CartPole-v1 step for step."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

import cartpole_env as env


def test_dynamics_match_gymnasium_step_for_step():
    g = gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    step = jax.jit(env.step)
    key = jax.random.PRNGKey(0)
    episodes = 0
    obs, _ = g.reset(seed=0)
    state = env.EnvState(jnp.asarray(obs, jnp.float32), jnp.zeros((), jnp.int32))
    for _ in range(400):
        action = int(rng.integers(2))
        g_obs, g_reward, g_term, g_trunc, _ = g.step(action)
        out = step(key, state, jnp.asarray(action))
        np.testing.assert_allclose(np.asarray(out.final_obs), g_obs, rtol=1e-4, atol=1e-5)
        assert float(out.reward) == g_reward
        assert bool(out.terminated) == g_term
        assert bool(out.truncated) == g_trunc
        if g_term or g_trunc:
            episodes += 1
            obs, _ = g.reset(seed=episodes)
            state = env.EnvState(jnp.asarray(obs, jnp.float32), jnp.zeros((), jnp.int32))
        else:
            # Continue from gymnasium's own float64 state to avoid drift.
            state = env.EnvState(jnp.asarray(g.unwrapped.state, jnp.float32), out.state.t)
    assert episodes > 5  # random actions end episodes quickly, so resets were exercised


def test_truncates_at_500_steps():
    state = env.EnvState(jnp.zeros(4), jnp.asarray(499, jnp.int32))
    out = env.step(jax.random.PRNGKey(1), state, jnp.asarray(0))
    assert bool(out.truncated) and not bool(out.terminated)
    assert int(out.state.t) == 0  # auto-reset
    assert np.all(np.abs(np.asarray(out.obs)) <= 0.05)
