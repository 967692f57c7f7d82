"""RL example, classic loop: SAC with a learned temperature on gymnasium's Pendulum-v1.

Soft Actor-Critic (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and
Applications", https://arxiv.org/abs/1812.05905) with haiku-core networks,
rlax-core losses and optax Adam:

* actor: ``hk.nets.MLP`` (256-256) giving the mean and log-std of a Gaussian whose
  reparameterised sample is squashed by ``tanh`` and rescaled to the action bounds;
  the Gaussian part uses ``rlax.gaussian_diagonal`` and the log-density is corrected
  for the squashing (the ``log(1 - tanh(u)^2)`` term, written in a stable form);
* twin critics Q1, Q2 (``hk.nets.MLP``, 256-256) regressed on
  ``rlax.sac_soft_q_target`` computed with Polyak-averaged target critics
  (``optax.incremental_update``, tau = 0.005);
* actor loss ``rlax.sac_actor_loss``; temperature learned with
  ``rlax.sac_temperature_loss`` against the target entropy ``-action_dim``.

The environment is gymnasium's real Python ``Pendulum-v1``. Transitions go to a
NumPy ring buffer; the 200-step time limit is a truncation, so its transitions
keep their discount and the target bootstraps from the next state (only
``terminated`` zeroes the discount). Action selection is jitted; every
``--updates-per-call`` environment steps one jitted call runs that many
gradient updates (``lax.scan`` over minibatches sampled from the buffer), so
the update-to-data ratio stays one.

    python examples/sac_pendulum.py --help
"""

from __future__ import annotations

import argparse
import math
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

ENV_ID = "Pendulum-v1"
TARGET_RETURN = -250.0
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
GAUSSIAN = rlax.gaussian_diagonal()


class Config(NamedTuple):
    """Hyper-parameters (the defaults are the standard SAC ones, with 2k random warm-up steps)."""

    total_steps: int = 20_000
    warmup_steps: int = 2_000
    batch_size: int = 256
    hidden: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    init_alpha: float = 1.0
    updates_per_call: int = 10
    buffer_size: int = 100_000


def make_networks(action_dim: int, hidden: int) -> tuple[hk.Transformed, hk.Transformed]:
    """Returns the (actor, twin critic) haiku transforms.

    The actor maps ``[..., O]`` observations to ``([..., A] mean, [..., A] log-std)`` of the
    pre-squash Gaussian; the critic maps ``([..., O], [..., A])`` to two ``[...]`` Q-values.
    """

    def actor(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = hk.nets.MLP([hidden, hidden], activate_final=True, name="actor_torso")(obs)
        mu = hk.Linear(action_dim, name="mu")(h)
        raw = hk.Linear(action_dim, name="log_std")(h)
        # Smoothly bound the log-std to [LOG_STD_MIN, LOG_STD_MAX].
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw) + 1.0)
        return mu, log_std

    def critic(obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = jnp.concatenate([obs, action], axis=-1)
        q1 = hk.nets.MLP([hidden, hidden, 1], name="q1")(x)
        q2 = hk.nets.MLP([hidden, hidden, 1], name="q2")(x)
        return q1[..., 0], q2[..., 0]

    return (
        hk.without_apply_rng(hk.transform(actor)),
        hk.without_apply_rng(hk.transform(critic)),
    )


class ActionScale(NamedTuple):
    """Affine map from ``[-1, 1]`` to the environment's box: ``a = bias + scale * y``."""

    scale: np.ndarray
    bias: np.ndarray


def squashed_sample(
    key: jax.Array, mu: jax.Array, log_std: jax.Array, bounds: ActionScale
) -> tuple[jax.Array, jax.Array]:
    """Reparameterised tanh-Gaussian sample and its log-density in action space.

    Args:
      key: PRNG key.
      mu: ``[..., A]`` pre-squash means.
      log_std: ``[..., A]`` pre-squash log standard deviations.
      bounds: the affine map from ``[-1, 1]`` to the action box.

    Returns:
      ``([..., A] action, [...] log pi(action))``.
    """
    sigma = jnp.exp(log_std)
    u = GAUSSIAN.sample(key, mu, sigma)
    # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), finite for large |u|.
    log_dtanh = 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u))
    scale = jnp.broadcast_to(jnp.asarray(bounds.scale), u.shape)
    bias = jnp.broadcast_to(jnp.asarray(bounds.bias), u.shape)
    log_det = jnp.sum(log_dtanh + jnp.log(scale), axis=-1)
    action = bias + scale * jnp.tanh(u)
    return action, GAUSSIAN.logprob(u, mu, sigma) - log_det


class Batch(NamedTuple):
    """Transitions ``(s, a, r, discount, s')``; ``discount`` is ``gamma * (1 - terminated)``."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    discount: jax.Array
    next_obs: jax.Array


class ReplayBuffer:
    """A fixed-size ring buffer of transitions held in NumPy arrays."""

    def __init__(self, capacity: int, obs_size: int, action_size: int, seed: int) -> None:
        self.obs = np.zeros((capacity, obs_size), np.float32)
        self.action = np.zeros((capacity, action_size), np.float32)
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

    def sample(self, num_batches: int, batch_size: int) -> Batch:
        """``num_batches`` independent uniform minibatches, stacked: ``[K, B, ...]``."""
        idx = self.rng.integers(0, self.size, (num_batches, batch_size))
        return Batch(
            self.obs[idx],
            self.action[idx],
            self.reward[idx],
            self.discount[idx],
            self.next_obs[idx],
        )


class Learner(NamedTuple):
    """Parameters, target critics, log-temperature, optimiser states and the update key."""

    actor_params: Any
    critic_params: Any
    target_critic_params: Any
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any
    key: jax.Array


def make_agent(cfg: Config, obs_size: int, bounds: ActionScale) -> tuple[Any, Any, Any, Any]:
    """Builds ``init(key)``, jitted ``update(learner, batches)``, ``act`` and ``act_greedy``."""
    action_dim = bounds.scale.shape[0]
    actor, critic = make_networks(action_dim, cfg.hidden)
    opt = optax.adam(cfg.lr)
    target_entropy = -float(action_dim)

    def init(key: jax.Array) -> Learner:
        k_actor, k_critic, key = jax.random.split(key, 3)
        obs, action = jnp.zeros((1, obs_size)), jnp.zeros((1, action_dim))
        actor_params = actor.init(k_actor, obs)
        critic_params = critic.init(k_critic, obs, action)
        log_alpha = jnp.asarray(math.log(cfg.init_alpha), jnp.float32)
        return Learner(
            actor_params,
            critic_params,
            critic_params,
            log_alpha,
            opt.init(actor_params),
            opt.init(critic_params),
            opt.init(log_alpha),
            key,
        )

    def policy(params, key: jax.Array, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        mu, log_std = actor.apply(params, obs)
        return squashed_sample(key, mu, log_std, bounds)

    def critic_loss(critic_params, target: jax.Array, b: Batch):
        q1, q2 = critic.apply(critic_params, b.obs, b.action)
        loss = 0.5 * jnp.mean(jnp.square(q1 - target)) + 0.5 * jnp.mean(jnp.square(q2 - target))
        return loss, jnp.mean(q1)

    def actor_loss(actor_params, critic_params, alpha: jax.Array, key: jax.Array, obs):
        action, log_pi = policy(actor_params, key, obs)
        q1, q2 = critic.apply(critic_params, obs, action)
        return jnp.mean(rlax.sac_actor_loss(q1, q2, log_pi, alpha)), log_pi

    def alpha_loss(log_alpha: jax.Array, log_pi: jax.Array) -> jax.Array:
        return jnp.mean(rlax.sac_temperature_loss(log_alpha, log_pi, target_entropy))

    def update_step(learner: Learner, b: Batch):
        key, k_next, k_pi = jax.random.split(learner.key, 3)
        alpha = jnp.exp(learner.log_alpha)

        # Critics: regress both on the soft target built from the target critics.
        next_action, next_log_pi = policy(learner.actor_params, k_next, b.next_obs)
        q1_t, q2_t = critic.apply(learner.target_critic_params, b.next_obs, next_action)
        target = rlax.sac_soft_q_target(b.reward, b.discount, q1_t, q2_t, next_log_pi, alpha)
        (c_loss, q_mean), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(
            learner.critic_params, target, b
        )
        c_updates, critic_opt = opt.update(c_grads, learner.critic_opt)
        critic_params = optax.apply_updates(learner.critic_params, c_updates)

        # Actor: maximise min(Q1, Q2) - alpha * log pi through the reparameterised sample.
        (a_loss, log_pi), a_grads = jax.value_and_grad(actor_loss, has_aux=True)(
            learner.actor_params, critic_params, alpha, k_pi, b.obs
        )
        a_updates, actor_opt = opt.update(a_grads, learner.actor_opt)
        actor_params = optax.apply_updates(learner.actor_params, a_updates)

        # Temperature: push the policy entropy towards the target entropy.
        t_loss, t_grad = jax.value_and_grad(alpha_loss)(learner.log_alpha, log_pi)
        t_update, alpha_opt = opt.update(t_grad, learner.alpha_opt)
        log_alpha = optax.apply_updates(learner.log_alpha, t_update)

        target_critic_params = optax.incremental_update(
            critic_params, learner.target_critic_params, cfg.tau
        )
        learner = Learner(
            actor_params,
            critic_params,
            target_critic_params,
            log_alpha,
            actor_opt,
            critic_opt,
            alpha_opt,
            key,
        )
        stats = dict(
            critic_loss=c_loss,
            actor_loss=a_loss,
            alpha=alpha,
            entropy=-jnp.mean(log_pi),
            q=q_mean,
            temperature_loss=t_loss,
        )
        return learner, stats

    @jax.jit
    def update(learner: Learner, batches: Batch) -> tuple[Learner, dict[str, jax.Array]]:
        """One gradient step per leading index of ``batches`` (``[K, B, ...]``)."""
        learner, stats = jax.lax.scan(update_step, learner, batches)
        return learner, jax.tree.map(lambda s: s[-1], stats)

    @jax.jit
    def act(actor_params, key: jax.Array, step: jax.Array, obs: jax.Array) -> jax.Array:
        """A sampled action for ``[O]`` observations (the key is folded with the step)."""
        action, _ = policy(actor_params, jax.random.fold_in(key, step), obs)
        return action

    @jax.jit
    def act_greedy(actor_params, obs: jax.Array) -> jax.Array:
        """The deterministic action ``bias + scale * tanh(mean)`` for ``[..., O]`` observations."""
        mu, _ = actor.apply(actor_params, obs)
        scale = jnp.broadcast_to(jnp.asarray(bounds.scale), mu.shape)
        bias = jnp.broadcast_to(jnp.asarray(bounds.bias), mu.shape)
        return bias + scale * jnp.tanh(mu)

    return init, update, act, act_greedy


def evaluate(act_greedy, actor_params, episodes: int, seed: int) -> float:
    """Mean undiscounted return of ``episodes`` deterministic episodes, run in lockstep."""
    envs = [gym.make(ENV_ID) for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns = np.zeros(episodes)
    alive = np.ones(episodes, bool)
    while alive.any():
        actions = np.asarray(act_greedy(actor_params, jnp.asarray(obs)))
        for i, env in enumerate(envs):
            if not alive[i]:
                continue
            obs[i], reward, term, trunc, _ = env.step(actions[i])
            returns[i] += reward
            alive[i] = not (term or trunc)
    for env in envs:
        env.close()
    return float(returns.mean())


def action_bounds(space: gym.spaces.Box) -> ActionScale:
    """The affine map from ``[-1, 1]`` to a gymnasium ``Box`` action space."""
    low, high = space.low, space.high
    return ActionScale(
        scale=((high - low) / 2.0).astype(np.float32), bias=((high + low) / 2.0).astype(np.float32)
    )


def train_one_seed(
    cfg: Config, agent: tuple[Any, ...], seed: int, eval_every: int, eval_episodes: int
) -> dict[str, Any]:
    """Trains SAC for ``cfg.total_steps`` environment steps and returns its metrics and curve.

    ``agent`` is what ``make_agent`` returns; the seeds share it, so it compiles once.
    """
    init, update, act, act_greedy = agent
    env = gym.make(ENV_ID)
    low, high = env.action_space.low, env.action_space.high
    obs_size, action_dim = env.observation_space.shape[0], low.shape[0]
    key, k_act = jax.random.split(jax.random.PRNGKey(seed))
    learner = init(key)
    buffer = ReplayBuffer(cfg.buffer_size, obs_size, action_dim, seed)
    np_rng = np.random.default_rng(seed)

    obs, _ = env.reset(seed=seed)
    episode_return, episode_returns, stats = 0.0, [], {}
    eval_steps, eval_scores = [], []
    start = time.perf_counter()
    bar = tqdm(range(1, cfg.total_steps + 1), desc=f"sac seed {seed}", unit="step", mininterval=1.0)
    for t in bar:
        if t <= cfg.warmup_steps:
            action = np_rng.uniform(low, high).astype(np.float32)
        else:
            action = np.asarray(act(learner.actor_params, k_act, t, jnp.asarray(obs)))
        next_obs, reward, term, trunc, _ = env.step(action)
        # Only termination ends the bootstrap; a time-limit truncation keeps it.
        buffer.add(obs, action, reward, 0.0 if term else cfg.gamma, next_obs)
        obs, episode_return = next_obs, episode_return + float(reward)
        if term or trunc:
            episode_returns.append(episode_return)
            obs, episode_return = env.reset()[0], 0.0
        if t >= cfg.warmup_steps and t % cfg.updates_per_call == 0:
            learner, stats = update(learner, buffer.sample(cfg.updates_per_call, cfg.batch_size))
        if t % eval_every == 0 or t == cfg.total_steps:
            score = evaluate(act_greedy, learner.actor_params, eval_episodes, 10_000 + 1_000 * seed)
            eval_steps.append(t)
            eval_scores.append(score)
            post = dict(eval_return=f"{score:.1f}")
            if stats:
                post.update(alpha=f"{float(stats['alpha']):.3f}", q=f"{float(stats['q']):.1f}")
            bar.set_postfix(post)
    wall_s = time.perf_counter() - start
    env.close()
    reached = [s for s, r in zip(eval_steps, eval_scores, strict=True) if r >= TARGET_RETURN]
    return dict(
        final_eval_return=eval_scores[-1],
        env_steps=cfg.total_steps,
        wall_seconds=wall_s,
        env_steps_per_second=cfg.total_steps / wall_s,
        first_step_at_target=reached[0] if reached else None,
        training_episodes=len(episode_returns),
        final_alpha=float(stats["alpha"]) if stats else cfg.init_alpha,
        curve=dict(steps=eval_steps, eval=eval_scores),
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    defaults = Config._field_defaults
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total-steps", type=int, default=defaults["total_steps"])
    parser.add_argument("--warmup-steps", type=int, default=defaults["warmup_steps"])
    parser.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    parser.add_argument("--hidden", type=int, default=defaults["hidden"])
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument(
        "--updates-per-call",
        type=int,
        default=defaults["updates_per_call"],
        help="env steps between jitted update calls; each call runs this many updates",
    )
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="out/sac")
    args = parser.parse_args(argv)

    cfg = Config(
        total_steps=args.total_steps,
        warmup_steps=args.warmup_steps,
        batch_size=args.batch_size,
        hidden=args.hidden,
        lr=args.lr,
        updates_per_call=args.updates_per_call,
    )
    out = common.out_dir(args.out)
    probe = gym.make(ENV_ID)
    agent = make_agent(cfg, probe.observation_space.shape[0], action_bounds(probe.action_space))
    probe.close()
    per_seed = {}
    for seed in args.seeds:
        per_seed[str(seed)] = train_one_seed(cfg, agent, seed, args.eval_every, args.eval_episodes)

    finals = [m["final_eval_return"] for m in per_seed.values()]
    total_wall = sum(m["wall_seconds"] for m in per_seed.values())
    total_steps = cfg.total_steps * len(per_seed)
    metrics = {
        "min_final_eval_return": min(finals),
        "mean_final_eval_return": float(np.mean(finals)),
        "all_seeds_met": all(r >= TARGET_RETURN for r in finals),
        "target_return": TARGET_RETURN,
        "env_steps_per_seed": cfg.total_steps,
        "env_steps_per_second": total_steps / total_wall,
        "wall_seconds": total_wall,
    }
    common.write_json(
        out / "metrics.json",
        {
            **metrics,
            "seeds": per_seed,
            "config": cfg._asdict(),
            "eval_episodes": args.eval_episodes,
        },
    )
    first = next(iter(per_seed.values()))
    common.plot_curves(
        out / "eval_return.png",
        first["curve"]["steps"],
        {f"seed {s}": m["curve"]["eval"] for s, m in per_seed.items()},
        xlabel="environment steps",
        ylabel=f"mean return ({args.eval_episodes} deterministic episodes)",
        title="SAC on gymnasium Pendulum-v1 (haiku-core + rlax-core)",
        hline=TARGET_RETURN,
    )
    rows = {f"seed {s}: final eval return": m["final_eval_return"] for s, m in per_seed.items()}
    rows.update({f"seed {s}: wall seconds": m["wall_seconds"] for s, m in per_seed.items()})
    common.print_summary(
        "SAC Pendulum-v1 (gymnasium loop)", {**rows, **metrics, "outputs": str(out)}
    )
    return metrics


if __name__ == "__main__":
    main()
