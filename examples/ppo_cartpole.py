"""RL example, fully jitted: PPO on CartPole-v1 with haiku-core, rlax-core and optax.

Everything — environment steps (``cartpole_env.py``, a JAX CartPole tested
step-for-step against gymnasium's), rollouts, GAE, minibatch epochs and
evaluation — runs inside ``jax.jit``; Python only drives a progress bar
between chunks of updates.

* actor and critic: ``hk.nets.MLP`` (tanh, 64-64) under ``hk.transform``;
* advantages: ``rlax.batched.gae`` (Schulman et al., 2016,
  https://arxiv.org/abs/1506.02438) over the whole ``[T, B]`` rollout;
* policy loss: ``rlax.clipped_surrogate_pg_loss`` and ``rlax.entropy_loss``
  (Schulman et al., 2017, "Proximal Policy Optimization Algorithms",
  https://arxiv.org/abs/1707.06347);
* terminated episodes do not bootstrap; truncated ones (the 500-step limit)
  bootstrap from the value of the final observation before the auto-reset.

    python examples/ppo_cartpole.py --help
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import cartpole_env as env
import common
import haiku_core as hk
import rlax_core as rlax


def actor_critic(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """[..., 4] observations -> ([..., 2] logits, [...] values)."""
    ortho = hk.initializers.Orthogonal
    torso = dict(activation=jnp.tanh)
    logits = hk.nets.MLP(
        [64, 64], w_init=ortho(np.sqrt(2)), activate_final=True, name="actor", **torso
    )(obs)
    logits = hk.Linear(env.NUM_ACTIONS, w_init=ortho(0.01), name="policy_head")(logits)
    value = hk.nets.MLP(
        [64, 64], w_init=ortho(np.sqrt(2)), activate_final=True, name="critic", **torso
    )(obs)
    value = hk.Linear(1, w_init=ortho(1.0), name="value_head")(value)
    return logits, value[..., 0]


class Config(NamedTuple):
    num_envs: int = 8
    num_steps: int = 128
    total_steps: int = 500_000
    epochs: int = 4
    minibatches: int = 4
    lr: float = 2.5e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    eval_envs: int = 32


class Runner(NamedTuple):
    params: Any
    opt_state: Any
    env_state: env.EnvState
    obs: jax.Array
    key: jax.Array


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    step: env.Step  # reward, terminated, truncated, final_obs (state dropped)


def make_train(cfg: Config):
    net = hk.without_apply_rng(hk.transform(actor_critic))
    updates_per_run = cfg.total_steps // (cfg.num_envs * cfg.num_steps)
    batch = cfg.num_envs * cfg.num_steps
    schedule = optax.linear_schedule(cfg.lr, 0.0, updates_per_run * cfg.epochs * cfg.minibatches)
    opt = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.adam(schedule, eps=1e-5))
    env_step = jax.vmap(env.step)

    def init(key: jax.Array) -> Runner:
        k_net, k_env, key = jax.random.split(key, 3)
        params = net.init(k_net, jnp.zeros((env.OBS_SIZE,)))
        env_state, obs = jax.vmap(env.reset)(jax.random.split(k_env, cfg.num_envs))
        return Runner(params, opt.init(params), env_state, obs, key)

    def rollout_step(runner: Runner, _):
        key, k_act, k_env = jax.random.split(runner.key, 3)
        logits, value = net.apply(runner.params, runner.obs)
        action = jax.random.categorical(k_act, logits)
        logp = jax.nn.log_softmax(logits)[jnp.arange(cfg.num_envs), action]
        out = env_step(jax.random.split(k_env, cfg.num_envs), runner.env_state, action)
        t = Transition(runner.obs, action, logp, value, out._replace(state=None))
        return runner._replace(env_state=out.state, obs=out.obs, key=key), t

    def loss_fn(params, mb: Transition, advantages, returns):
        logits, values = net.apply(params, mb.obs)
        logp = jax.nn.log_softmax(logits)[jnp.arange(mb.action.shape[0]), mb.action]
        ratios = jnp.exp(logp - mb.logp)
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        pg = rlax.clipped_surrogate_pg_loss(ratios, adv, cfg.clip_eps)
        ent = rlax.entropy_loss(logits, jnp.ones_like(adv))
        v_loss = 0.5 * jnp.mean((returns - values) ** 2)
        return pg + cfg.value_coef * v_loss + cfg.entropy_coef * ent, (pg, v_loss, -ent)

    def update(runner: Runner, _):
        runner, traj = jax.lax.scan(rollout_step, runner, None, cfg.num_steps)  # [T, E]
        s = traj.step
        _, v_tp1 = net.apply(runner.params, s.final_obs)  # final_obs: before any auto-reset
        ends = dict(terminated=s.terminated, truncated=s.truncated)
        advantages = rlax.batched.gae(
            s.reward, traj.value, v_tp1, cfg.gamma, cfg.gae_lambda, **ends
        )
        returns = advantages + traj.value
        flat = jax.tree.map(lambda x: x.reshape((batch, *x.shape[2:])), (traj, advantages, returns))

        def epoch(carry, _):
            params, opt_state, key = carry
            key, k_perm = jax.random.split(key)
            perm = jax.random.permutation(k_perm, batch)
            shuffled = jax.tree.map(
                lambda x: x[perm].reshape((cfg.minibatches, -1, *x.shape[1:])), flat
            )

            def minibatch(carry, mb):
                params, opt_state = carry
                (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *mb)
                updates, opt_state = opt.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), (loss, *aux)

            (params, opt_state), stats = jax.lax.scan(minibatch, (params, opt_state), shuffled)
            return (params, opt_state, key), stats

        (params, opt_state, key), stats = jax.lax.scan(
            epoch, (runner.params, runner.opt_state, runner.key), None, cfg.epochs
        )
        runner = runner._replace(params=params, opt_state=opt_state, key=key)
        loss, pg, v_loss, entropy = (jnp.mean(s) for s in stats)
        return runner, dict(loss=loss, pg=pg, value_loss=v_loss, entropy=entropy)

    def evaluate(params, key: jax.Array) -> jax.Array:
        """Mean undiscounted return of one greedy episode in each of ``eval_envs`` envs."""
        k_reset, key = jax.random.split(key)
        state, obs = jax.vmap(env.reset)(jax.random.split(k_reset, cfg.eval_envs))

        def body(carry, k):
            state, obs, ret, alive = carry
            logits, _ = net.apply(params, obs)
            out = env_step(jax.random.split(k, cfg.eval_envs), state, jnp.argmax(logits, -1))
            ret = ret + alive * out.reward
            alive = alive * (1.0 - (out.terminated | out.truncated))
            return (out.state, out.obs, ret, alive), None

        init = (state, obs, jnp.zeros(cfg.eval_envs), jnp.ones(cfg.eval_envs))
        (_, _, ret, _), _ = jax.lax.scan(body, init, jax.random.split(key, env.MAX_STEPS))
        return ret.mean()

    return init, update, evaluate, updates_per_run


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total-steps", type=int, default=Config._field_defaults["total_steps"])
    parser.add_argument("--num-envs", type=int, default=Config._field_defaults["num_envs"])
    parser.add_argument("--num-steps", type=int, default=Config._field_defaults["num_steps"])
    parser.add_argument("--updates-per-chunk", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/ppo")
    args = parser.parse_args(argv)

    cfg = Config(num_envs=args.num_envs, num_steps=args.num_steps, total_steps=args.total_steps)
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
    bar = tqdm(range(num_chunks), desc="ppo", unit="chunk")
    for i in bar:
        runner, stats, score = compiled_chunk(runner)
        env_steps.append((i + 1) * steps_per_chunk)
        scores.append(float(score))
        bar.set_postfix(eval_return=f"{scores[-1]:.1f}", entropy=f"{float(stats['entropy']):.3f}")
    train_s = time.perf_counter() - start
    final = float(evaluate_many(evaluate, runner.params, jax.random.PRNGKey(args.seed + 1)))

    common.plot_curves(
        out / "eval_return.png",
        env_steps,
        {"greedy eval return (32 episodes)": scores},
        xlabel="environment steps",
        ylabel="return",
        title="PPO on CartPole-v1 (haiku-core + rlax-core)",
        hline=475,
    )
    metrics = {
        "final_eval_return": final,
        "best_eval_return": max(scores),
        "env_steps": env_steps[-1],
        "env_steps_per_second": env_steps[-1] / train_s,
        "train_seconds": train_s,
        "compile_seconds": compile_s,
    }
    common.write_json(
        out / "metrics.json", {**metrics, "curve": dict(steps=env_steps, eval=scores)}
    )
    common.print_summary("PPO CartPole-v1 (fully jitted)", {**metrics, "outputs": str(out)})
    return metrics


def evaluate_many(evaluate, params, key: jax.Array, repeats: int = 4) -> jax.Array:
    """Mean greedy return over ``repeats`` x 32 fresh episodes."""
    return jax.jit(
        lambda k: jax.vmap(lambda kk: evaluate(params, kk))(jax.random.split(k, repeats)).mean()
    )(key)


if __name__ == "__main__":
    main()
