"""RL example, classic loop: double DQN on gymnasium's CartPole-v1 with haiku-core, rlax-core and optax.

The environment is gymnasium's real Python ``CartPole-v1``; transitions go to a
NumPy replay buffer, and a jitted update trains the online Q-network with
``rlax.double_q_learning`` (van Hasselt, Guez & Silver, 2016, "Deep
Reinforcement Learning with Double Q-learning", https://arxiv.org/abs/1509.06461)
against a target network refreshed by ``rlax.periodic_update`` (Mnih et al.,
2015, "Human-level control through deep reinforcement learning").
Exploration is epsilon-greedy through ``rlax.epsilon_greedy``. Truncation at
500 steps is not treated as termination (the target still bootstraps).

    python examples/dqn_cartpole.py --help
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import common
import haiku_core as hk
import rlax_core as rlax


def q_network(obs: jax.Array) -> jax.Array:
    """[..., 4] observations -> [..., 2] action values."""
    return hk.nets.MLP([128, 128, 2])(obs)


class ReplayBuffer:
    """A fixed-size ring buffer of transitions held in NumPy arrays."""

    def __init__(self, capacity: int, obs_size: int, seed: int) -> None:
        self.obs = np.zeros((capacity, obs_size), np.float32)
        self.action = np.zeros((capacity,), np.int32)
        self.reward = np.zeros((capacity,), np.float32)
        self.discount = np.zeros((capacity,), np.float32)
        self.next_obs = np.zeros((capacity, obs_size), np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs, action, reward, discount, next_obs) -> None:
        i = self.pos
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.discount[i], self.next_obs[i] = discount, next_obs
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple[np.ndarray, ...]:
        idx = self.rng.integers(0, self.size, batch_size)
        return (
            self.obs[idx],
            self.action[idx],
            self.reward[idx],
            self.discount[idx],
            self.next_obs[idx],
        )


class Learner(NamedTuple):
    params: Any
    target_params: Any
    opt_state: Any
    steps: jax.Array


def make_agent(lr: float, gamma: float, target_period: int):
    net = hk.without_apply_rng(hk.transform(q_network))
    opt = optax.adam(lr)

    def init(key: jax.Array) -> Learner:
        params = net.init(key, jnp.zeros((4,)))
        return Learner(params, params, opt.init(params), jnp.zeros((), jnp.int32))

    def loss_fn(params, target_params, obs, action, reward, discount, next_obs):
        q_tm1 = net.apply(params, obs)
        q_t_value = net.apply(target_params, next_obs)
        q_t_selector = net.apply(params, next_obs)
        td = jax.vmap(rlax.double_q_learning)(
            q_tm1, action, reward, gamma * discount, q_t_value, q_t_selector
        )
        return jnp.mean(rlax.huber_loss(td, 1.0))

    @jax.jit
    def update(learner: Learner, batch) -> tuple[Learner, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(learner.params, learner.target_params, *batch)
        updates, opt_state = opt.update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        steps = learner.steps + 1
        target = rlax.periodic_update(params, learner.target_params, steps, target_period)
        return Learner(params, target, opt_state, steps), loss

    @jax.jit
    def act(params, key: jax.Array, obs: jax.Array, epsilon: jax.Array) -> jax.Array:
        q = net.apply(params, obs)
        return rlax.epsilon_greedy(epsilon).sample(key, q)

    return init, update, act


def evaluate(act, params, episodes: int, seed: int) -> float:
    """Mean return of greedy episodes in a fresh CartPole-v1."""
    env = gym.make("CartPole-v1")
    key = jax.random.PRNGKey(seed)
    total = 0.0
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done = False
        while not done:
            action = int(act(params, key, jnp.asarray(obs), 0.0))
            obs, reward, term, trunc, _ = env.step(action)
            total += reward
            done = term or trunc
    return total / episodes


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total-steps", type=int, default=40_000)
    parser.add_argument("--learning-starts", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--target-period", type=int, default=250)
    parser.add_argument("--epsilon-decay-steps", type=int, default=5_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/dqn")
    args = parser.parse_args(argv)

    out = common.out_dir(args.out)
    init, update, act = make_agent(args.lr, args.gamma, args.target_period)
    key = jax.random.PRNGKey(args.seed)
    key, k_init = jax.random.split(key)
    learner = init(k_init)
    buffer = ReplayBuffer(50_000, 4, args.seed)
    epsilon = optax.linear_schedule(1.0, 0.05, args.epsilon_decay_steps)

    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=args.seed)
    episode_return, returns, eval_steps, eval_scores = 0.0, [], [], []
    best_params, best_score = learner.params, -1.0
    start = time.perf_counter()
    bar = tqdm(range(1, args.total_steps + 1), desc="dqn", unit="step", mininterval=1.0)
    for t in bar:
        key, k_act = jax.random.split(key)
        action = int(act(learner.params, k_act, jnp.asarray(obs), float(epsilon(t))))
        next_obs, reward, term, trunc, _ = env.step(action)
        buffer.add(obs, action, reward, 0.0 if term else 1.0, next_obs)
        obs, episode_return = next_obs, episode_return + reward
        if term or trunc:
            returns.append(episode_return)
            obs, episode_return = env.reset()[0], 0.0
        if t >= args.learning_starts:
            learner, _ = update(learner, buffer.sample(args.batch_size))
        if t % args.eval_every == 0:
            score = evaluate(act, learner.params, args.eval_episodes, seed=10_000 + t)
            eval_steps.append(t)
            eval_scores.append(score)
            if score >= best_score:
                best_params, best_score = learner.params, score
            bar.set_postfix(eval_return=f"{score:.1f}", episodes=len(returns))
    train_s = time.perf_counter() - start
    final = evaluate(act, learner.params, 20, seed=99_999)
    best = evaluate(act, best_params, 20, seed=99_999)

    common.plot_curves(
        out / "eval_return.png",
        eval_steps,
        {f"greedy eval return ({args.eval_episodes} episodes)": eval_scores},
        xlabel="environment steps",
        ylabel="return",
        title="Double DQN on gymnasium CartPole-v1 (haiku-core + rlax-core)",
        hline=475,
    )
    metrics = {
        "final_eval_return_20_episodes": final,
        "best_checkpoint_eval_return_20_episodes": best,
        "training_episodes": len(returns),
        "env_steps": args.total_steps,
        "env_steps_per_second": args.total_steps / train_s,
        "train_seconds": train_s,
    }
    common.write_json(
        out / "metrics.json",
        {**metrics, "curve": dict(steps=eval_steps, eval=eval_scores)},
    )
    common.print_summary(
        "Double DQN CartPole-v1 (gymnasium loop)", {**metrics, "outputs": str(out)}
    )
    return metrics


if __name__ == "__main__":
    main()
