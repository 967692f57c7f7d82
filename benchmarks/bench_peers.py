"""Peers users would pick instead of Haiku, on the same MLP: Flax NNX and Equinox.

MLP of width 32 (depth 8 and 48 linear layers, relu between, none after the last), batch 8.

* eager apply: ``hk.transform(...).apply`` (haiku_core, dm-haiku), ``model(x)`` (NNX),
  ``jax.vmap(model)(x)`` (``eqx.nn.MLP`` is per-example), hand-written pure JAX;
* jitted call (dispatch overhead dominates at this size): ``jax.jit(apply)``, ``nnx.jit``,
  NNX ``split`` once + ``jax.jit`` of a function that ``merge``\\s, ``eqx.filter_jit``.

Every contender is timed against the hand-written pure-JAX MLP (the floor) and haiku_core
against each peer, from interleaved rounds in one process.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
from flax import nnx

from benchmarks import bench_haiku as bh
from benchmarks.harness import Row, compare, interleaved

PURE = bh.PURE
OURS, THEIRS = bh.OURS, bh.THEIRS
NNX_JIT, NNX_SPLIT, EQX = (
    "flax nnx.jit",
    "flax split/merge+jax.jit",
    "equinox filter_jit",
)
NNX_EAGER, EQX_EAGER = "flax nnx", "equinox"


class NnxMLP(nnx.Module):
    def __init__(self, depth: int, width: int, rngs: nnx.Rngs):
        self.layers = nnx.List(
            [nnx.Linear(width, width, rngs=rngs) for _ in range(depth)]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return self.layers[-1](x)


def _contenders(depth: int):
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (bh.MLP_BATCH, bh.MLP_WIDTH))
    eager, jitted = {}, {}
    for name, lib in bh.LIBS.items():
        t = bh.mlp(lib, depth)
        params = t.init(key, x)
        eager[name] = functools.partial(lambda t, p: t.apply(p, x), t, params)
        jitted[name] = functools.partial(lambda f, p: f(p, x), jax.jit(t.apply), params)
    pure_params = bh.pure_mlp_init(key, depth)
    eager[PURE] = lambda: bh.pure_mlp_apply(pure_params, x)
    pure_jit = jax.jit(bh.pure_mlp_apply)
    jitted[PURE] = lambda: pure_jit(pure_params, x)

    model = NnxMLP(depth, bh.MLP_WIDTH, nnx.Rngs(0))
    eager[NNX_EAGER] = lambda: model(x)
    nnx_call = nnx.jit(lambda m, x: m(x))
    jitted[NNX_JIT] = lambda: nnx_call(model, x)
    graphdef, state = nnx.split(model)
    split_call = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    jitted[NNX_SPLIT] = lambda: split_call(state, x)

    emodel = eqx.nn.MLP(
        bh.MLP_WIDTH,
        bh.MLP_WIDTH,
        bh.MLP_WIDTH,
        depth - 1,
        activation=jax.nn.relu,
        key=key,
    )
    eager[EQX_EAGER] = lambda: jax.vmap(emodel)(x)
    eqx_call = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))
    jitted[EQX] = lambda: eqx_call(emodel, x)

    def blocking(fns):
        return {
            k: functools.partial(lambda f: jax.block_until_ready(f()), f)
            for k, f in fns.items()
        }

    return blocking(eager), blocking(jitted)


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    for depth in (8, 48):
        eager, jitted = _contenders(depth)
        case = f"MLP d={depth} w={bh.MLP_WIDTH} b={bh.MLP_BATCH}"
        groups = [("peers eager", eager, (NNX_EAGER, EQX_EAGER))]
        if depth == 8:
            groups.append(("peers jit", jitted, (NNX_JIT, NNX_SPLIT, EQX)))
        for group, fns, peers in groups:
            s = interleaved(fns, 9 if quick else 41, target_s=1e-3)
            for k in fns:
                if k != PURE:
                    rows.append(
                        compare(group, f"{case} {group.split()[1]}", s, k, PURE)
                    )
            for k in peers:
                rows.append(compare(group, f"{case} {group.split()[1]}", s, OURS, k))
    return rows
