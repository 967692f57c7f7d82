"""RL example, fully jitted: PQN (parallel Q-learning) on CartPole-v1 with haiku-core, rlax-core and optax.

PQN (Gallici et al., 2024, "Simplifying Deep Temporal Difference Learning",
https://arxiv.org/abs/2407.04811) trains a Q-network online from a batch of
vectorised environments, with no replay buffer and no target network:

* Q-network: ``hk.Linear`` -> ``hk.LayerNorm`` -> relu (twice) -> ``hk.Linear``; the
  LayerNorm is what keeps TD learning stable without a target network;
* exploration: ``rlax.epsilon_greedy`` with epsilon decaying linearly;
* targets: Peng's Q(lambda) returns over each ``[T, B]`` rollout from
  ``rlax.batched.peng_q_lambda_returns``, bootstrapping from ``max_a Q`` of the next
  observation. Terminated steps do not bootstrap; truncated ones (the 500-step limit)
  bootstrap from the final observation before the auto-reset and cut the trace;
* several epochs of shuffled minibatch regression on those targets (optax radam with
  gradient clipping and a learning rate decaying linearly to 0).

Everything (environment, rollouts, targets, updates, greedy evaluation) runs inside
``jax.jit``; Python only drives a progress bar between chunks of updates.

    python examples/pqn_cartpole.py --help
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from tqdm import tqdm

import cartpole_env as env
import common
import haiku_core as hk
import rlax_core as rlax


def q_network(obs: jax.Array, hidden: int = 128) -> jax.Array:
    """[..., 4] observations -> [..., 2] action values."""
    x = obs
    for i in range(2):
        x = hk.Linear(hidden, name=f"linear_{i}")(x)
        x = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True, name=f"norm_{i}")(x)
        x = jax.nn.relu(x)
    return hk.Linear(env.NUM_ACTIONS, name="q_head")(x)


class Config(NamedTuple):
    num_envs: int = 64
    num_steps: int = 32
    total_steps: int = 500_000
    epochs: int = 4
    minibatches: int = 16
    lr: float = 3e-4
    gamma: float = 0.99
    q_lambda: float = 0.65
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_decay_fraction: float = 0.2
    max_grad_norm: float = 10.0
    eval_envs: int = 32


class Runner(NamedTuple):
    params: Any
    opt_state: Any
    env_state: env.EnvState
    obs: jax.Array
    key: jax.Array
    update: jax.Array  # [] int32 number of updates done (drives the epsilon schedule)


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array  # observation the action led to, before any auto-reset


def make_train(cfg: Config):
    net = hk.without_apply_rng(hk.transform(q_network))
    updates_per_run = cfg.total_steps // (cfg.num_envs * cfg.num_steps)
    batch = cfg.num_envs * cfg.num_steps
    # The learning rate decays linearly to 0, which keeps the greedy policy from drifting
    # away from a solution late in training (there is no target network to anchor it).
    lr = optax.linear_schedule(cfg.lr, 0.0, updates_per_run * cfg.epochs * cfg.minibatches)
    opt = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.radam(lr))
    epsilon = optax.linear_schedule(
        cfg.eps_start, cfg.eps_end, max(1, int(cfg.eps_decay_fraction * updates_per_run))
    )
    env_step = jax.vmap(env.step)

    def init(key: jax.Array) -> Runner:
        k_net, k_env, key = jax.random.split(key, 3)
        params = net.init(k_net, jnp.zeros((env.OBS_SIZE,)))
        env_state, obs = jax.vmap(env.reset)(jax.random.split(k_env, cfg.num_envs))
        return Runner(params, opt.init(params), env_state, obs, key, jnp.zeros((), jnp.int32))

    def rollout_step(runner: Runner, _):
        key, k_act, k_env = jax.random.split(runner.key, 3)
        q = net.apply(runner.params, runner.obs)
        action = rlax.epsilon_greedy(epsilon(runner.update)).sample(k_act, q)
        out = env_step(jax.random.split(k_env, cfg.num_envs), runner.env_state, action)
        t = Transition(runner.obs, action, out.reward, out.terminated, out.truncated, out.final_obs)
        return runner._replace(env_state=out.state, obs=out.obs, key=key), t

    def loss_fn(params, obs, action, target):
        q = net.apply(params, obs)
        q_taken = jnp.take_along_axis(q, action[:, None], axis=-1)[:, 0]
        return 0.5 * jnp.mean((q_taken - target) ** 2)

    def update(runner: Runner, _):
        runner, traj = jax.lax.scan(rollout_step, runner, None, cfg.num_steps)  # [T, B]
        q_tp1 = net.apply(runner.params, traj.final_obs)  # [T, B, A]
        targets = rlax.batched.peng_q_lambda_returns(
            traj.reward,
            q_tp1,
            cfg.gamma,
            cfg.q_lambda,
            terminated=traj.terminated,
            truncated=traj.truncated,
        )
        flat = jax.tree.map(
            lambda x: x.reshape((batch, *x.shape[2:])), (traj.obs, traj.action, targets)
        )

        def epoch(carry, _):
            params, opt_state, key = carry
            key, k_perm = jax.random.split(key)
            perm = jax.random.permutation(k_perm, batch)
            shuffled = jax.tree.map(
                lambda x: x[perm].reshape((cfg.minibatches, -1, *x.shape[1:])), flat
            )

            def minibatch(carry, mb):
                params, opt_state = carry
                loss, grads = jax.value_and_grad(loss_fn)(params, *mb)
                updates, opt_state = opt.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), loss

            (params, opt_state), loss = jax.lax.scan(minibatch, (params, opt_state), shuffled)
            return (params, opt_state, key), loss

        (params, opt_state, key), loss = jax.lax.scan(
            epoch, (runner.params, runner.opt_state, runner.key), None, cfg.epochs
        )
        stats = dict(loss=jnp.mean(loss), epsilon=epsilon(runner.update))
        runner = runner._replace(
            params=params, opt_state=opt_state, key=key, update=runner.update + 1
        )
        return runner, stats

    def evaluate(params, key: jax.Array) -> jax.Array:
        """Mean undiscounted return of one greedy episode in each of ``eval_envs`` envs."""
        k_reset, key = jax.random.split(key)
        state, obs = jax.vmap(env.reset)(jax.random.split(k_reset, cfg.eval_envs))

        def body(carry, k):
            state, obs, ret, alive = carry
            action = jnp.argmax(net.apply(params, obs), -1)
            out = env_step(jax.random.split(k, cfg.eval_envs), state, action)
            ret = ret + alive * out.reward
            alive = alive * (1.0 - (out.terminated | out.truncated))
            return (out.state, out.obs, ret, alive), None

        init = (state, obs, jnp.zeros(cfg.eval_envs), jnp.ones(cfg.eval_envs))
        (_, _, ret, _), _ = jax.lax.scan(body, init, jax.random.split(key, env.MAX_STEPS))
        return ret.mean()

    return init, update, evaluate, updates_per_run


def evaluate_many(evaluate, params, key: jax.Array, repeats: int = 4) -> jax.Array:
    """Mean greedy return over ``repeats`` x ``eval_envs`` fresh episodes."""
    return jax.jit(
        lambda k: jax.vmap(lambda kk: evaluate(params, kk))(jax.random.split(k, repeats)).mean()
    )(key)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    defaults = Config._field_defaults
    parser.add_argument("--total-steps", type=int, default=defaults["total_steps"])
    parser.add_argument("--num-envs", type=int, default=defaults["num_envs"])
    parser.add_argument("--num-steps", type=int, default=defaults["num_steps"])
    parser.add_argument("--epochs", type=int, default=defaults["epochs"])
    parser.add_argument("--minibatches", type=int, default=defaults["minibatches"])
    parser.add_argument("--lr", type=float, default=defaults["lr"])
    parser.add_argument("--q-lambda", type=float, default=defaults["q_lambda"])
    parser.add_argument("--updates-per-chunk", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/pqn")
    args = parser.parse_args(argv)

    wall0 = time.perf_counter()
    cfg = Config(
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        total_steps=args.total_steps,
        epochs=args.epochs,
        minibatches=args.minibatches,
        lr=args.lr,
        q_lambda=args.q_lambda,
    )
    out = common.out_dir(args.out)
    init, update, evaluate, num_updates = make_train(cfg)
    chunk = max(1, min(args.updates_per_chunk, num_updates))

    @jax.jit
    def run_chunk(runner: Runner):
        runner, stats = jax.lax.scan(update, runner, None, chunk)
        key, k_eval = jax.random.split(runner.key)
        score = evaluate(runner.params, k_eval)
        return runner._replace(key=key), jax.tree.map(jnp.mean, stats), score

    runner = init(jax.random.PRNGKey(args.seed))
    t0 = time.perf_counter()
    compiled_chunk = run_chunk.lower(runner).compile()
    compile_s = time.perf_counter() - t0

    steps_per_chunk = chunk * cfg.num_envs * cfg.num_steps
    num_chunks = num_updates // chunk
    env_steps, scores = [], []
    start = time.perf_counter()
    bar = tqdm(range(num_chunks), desc="pqn", unit="chunk")
    for i in bar:
        runner, stats, score = compiled_chunk(runner)
        env_steps.append((i + 1) * steps_per_chunk)
        scores.append(float(score))
        bar.set_postfix(
            eval_return=f"{scores[-1]:.1f}",
            eps=f"{float(stats['epsilon']):.2f}",
            loss=f"{float(stats['loss']):.3f}",
        )
    train_s = time.perf_counter() - start
    final = float(evaluate_many(evaluate, runner.params, jax.random.PRNGKey(args.seed + 1)))

    common.plot_curves(
        out / "eval_return.png",
        env_steps,
        {f"greedy eval return ({cfg.eval_envs} episodes)": scores},
        xlabel="environment steps",
        ylabel="return",
        title="PQN on CartPole-v1 (haiku-core + rlax-core)",
        hline=475,
    )
    metrics = {
        "final_eval_return": final,
        "best_eval_return": max(scores),
        "env_steps": env_steps[-1],
        "env_steps_per_second": env_steps[-1] / train_s,
        "train_seconds": train_s,
        "compile_seconds": compile_s,
        "wall_seconds": time.perf_counter() - wall0,
    }
    common.write_json(
        out / "metrics.json",
        {**metrics, "config": cfg._asdict(), "curve": dict(steps=env_steps, eval=scores)},
    )
    common.print_summary("PQN CartPole-v1 (fully jitted)", {**metrics, "outputs": str(out)})
    return metrics


if __name__ == "__main__":
    main()
