"""haiku-core vs dm-haiku vs hand-written JAX: init, eager apply, jitted train step, program size.

Every model is written once against a Haiku-like module ``hk`` and instantiated for both
``haiku_core`` and ``haiku`` (dm-haiku), so both libraries run exactly the same user code.

* (a) eager ``init`` (steady-state Python/dispatch overhead, after one warm-up) and jitted
  ``init`` including trace + lower + compile + first run (fresh ``transform`` each repeat), for
  ResNet-50 (input 1x64x64x3) and a 6-layer pre-LN transformer (d=128, 4 heads, MLP 512,
  input 8x32x128);
* (b) un-jitted ``apply`` of an MLP (width 32, depth 8 and 48, batch 8), also against a
  hand-written pure-JAX MLP;
* (c) jitted train step (``value_and_grad`` + ``optax.adam``) for the MLP (depth 8) and the
  transformer, plus the jitted forward call of the MLP, against dm-haiku and pure JAX;
* (d) program size: jaxpr equations (recursive, including sub-jaxprs), lowered StableHLO and
  optimised HLO text length.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import haiku as dm_hk
import haiku_core as hk_core
import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.harness import Row, compare, interleaved, size_row

LIBS = {"haiku_core": hk_core, "dm-haiku": dm_hk}
OURS, THEIRS, PURE = "haiku_core", "dm-haiku", "pure JAX"

EAGER_VS_HAIKU, EAGER_VS_PURE = 0.7, 1.5
JIT_VS_HAIKU, JIT_VS_PURE = 1.0, 1.03

MLP_WIDTH, MLP_BATCH = 32, 8
TF_LAYERS, TF_D, TF_HEADS, TF_MLP, TF_BATCH, TF_SEQ = 6, 128, 4, 512, 8, 32


# ----------------------------------------------------------------------------- models


def resnet50(hk: Any) -> Any:
    def f(x: jax.Array) -> jax.Array:
        return hk.nets.ResNet50(num_classes=10)(x, is_training=True)

    return hk.transform_with_state(f)


def transformer(hk: Any) -> Any:
    def f(x: jax.Array) -> jax.Array:
        for _ in range(TF_LAYERS):
            h = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)
            h = hk.MultiHeadAttention(
                num_heads=TF_HEADS,
                key_size=TF_D // TF_HEADS,
                w_init=hk.initializers.VarianceScaling(1.0),
            )(h, h, h)
            x = x + h
            h = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)
            h = hk.Linear(TF_MLP)(h)
            h = hk.Linear(TF_D)(jax.nn.gelu(h))
            x = x + h
        return hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)

    return hk.without_apply_rng(hk.transform(f))


def mlp(hk: Any, depth: int) -> Any:
    def f(x: jax.Array) -> jax.Array:
        return hk.nets.MLP([MLP_WIDTH] * depth)(x)

    return hk.without_apply_rng(hk.transform(f))


def pure_mlp_init(key: jax.Array, depth: int, width: int = MLP_WIDTH) -> list:
    params = []
    for k in jax.random.split(key, depth):
        w = jax.random.truncated_normal(k, -2.0, 2.0, (width, width)) / np.sqrt(width)
        params.append((w, jnp.zeros((width,))))
    return params


def pure_mlp_apply(params: list, x: jax.Array) -> jax.Array:
    """The floor: what a user would write by hand (Linear -> relu, no final activation)."""
    for w, b in params[:-1]:
        x = jax.nn.relu(jnp.dot(x, w) + b)
    w, b = params[-1]
    return jnp.dot(x, w) + b


def train_step(apply: Callable, opt: optax.GradientTransformation) -> Callable:
    def loss(params, x, y):
        return jnp.mean(jnp.square(apply(params, x) - y))

    @jax.jit
    def step(params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


# ----------------------------------------------------------------------------- helpers


def _block(tree: Any) -> Any:
    return jax.block_until_ready(tree)


def count_eqns(jaxpr: Any) -> int:
    """Equations of a (closed) jaxpr, including every nested sub-jaxpr."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        for v in eqn.params.values():
            for sub in v if isinstance(v, (tuple, list)) else (v,):
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                    n += count_eqns(sub)
    return n


def program_sizes(fn: Callable, *args: Any) -> dict[str, int]:
    jaxpr = jax.make_jaxpr(fn)(*args)
    lowered = jax.jit(fn).lower(*args)
    return {
        "jaxpr eqns": count_eqns(jaxpr),
        "StableHLO chars": len(lowered.as_text()),
        "optimised HLO chars": len(lowered.compile().as_text()),
    }


def size_rows(
    group: str, case: str, ours: dict[str, int], theirs: dict[str, int], name: str
):
    return [
        size_row(group, f"{case}: {k}", OURS, ours[k], name, theirs[k], "count")
        for k in ours
    ]


# ----------------------------------------------------------------------------- benches


def bench_init(quick: bool) -> list[Row]:
    """(a) eager init, trace and jitted init of ResNet-50 / transformer; (d) init sizes."""
    rows: list[Row] = []
    key = jax.random.PRNGKey(0)
    cases = {
        "ResNet-50 1x64x64x3": (resnet50, (jnp.ones((1, 64, 64, 3)),)),
        "transformer 6x128": (transformer, (jnp.ones((TF_BATCH, TF_SEQ, TF_D)),)),
    }
    for case, (make, args) in cases.items():
        heavy = case.startswith("ResNet")
        sizes: dict[str, dict[str, int]] = {n: {} for n in LIBS}

        def eager_init(lib, make=make, args=args):
            return _block(make(lib).init(key, *args))

        def trace_init(name, make=make, args=args, sizes=sizes):
            # A fresh transform each time: Python tracing cost only (no XLA).
            jaxpr = jax.make_jaxpr(make(LIBS[name]).init)(key, *args)
            sizes[name]["jaxpr eqns"] = count_eqns(jaxpr)

        def jit_init(name, make=make, args=args, sizes=sizes):
            # Fresh transform: nothing cached; trace + lower + compile + first run.
            lowered = jax.jit(make(LIBS[name]).init).lower(key, *args)
            compiled = lowered.compile()
            out = _block(compiled(key, *args))
            sizes[name]["StableHLO chars"] = len(lowered.as_text())
            sizes[name]["optimised HLO chars"] = len(compiled.as_text())
            return out

        parts = [
            (
                "eager init",
                eager_init,
                1 if quick else (3 if heavy else 5),
                EAGER_VS_HAIKU,
            ),
            ("trace init (make_jaxpr)", trace_init, 1 if quick else 3, EAGER_VS_HAIKU),
            ("jit(init) incl. compile", jit_init, 1 if quick else 2, JIT_VS_HAIKU),
        ]
        for label, fn, rounds, target in parts:
            arg = (lambda n: LIBS[n]) if fn is eager_init else (lambda n: n)
            fns = {n: functools.partial(fn, arg(n)) for n in LIBS}
            s = interleaved(fns, rounds, inner=1, warmup=fn is eager_init)
            rows.append(
                compare("haiku init", f"{case} {label}", s, OURS, THEIRS, target=target)
            )
        rows += size_rows(
            "haiku size", f"{case} init", sizes[OURS], sizes[THEIRS], THEIRS
        )
    return rows


def bench_apply(quick: bool) -> list[Row]:
    """(b) un-jitted apply of the MLP at depth 8 and 48 vs dm-haiku and pure JAX."""
    rows: list[Row] = []
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (MLP_BATCH, MLP_WIDTH))
    for depth in (8, 48):
        fns = {}
        for name, lib in LIBS.items():
            t = mlp(lib, depth)
            params = t.init(key, x)
            fns[name] = functools.partial(lambda t, p: _block(t.apply(p, x)), t, params)
        pure_params = pure_mlp_init(key, depth)
        fns[PURE] = lambda p=pure_params: _block(pure_mlp_apply(p, x))
        s = interleaved(fns, 9 if quick else 41)
        case = f"MLP d={depth} w={MLP_WIDTH} b={MLP_BATCH} eager apply"
        rows.append(
            compare("haiku apply", case, s, OURS, THEIRS, target=EAGER_VS_HAIKU)
        )
        rows.append(compare("haiku apply", case, s, OURS, PURE, target=EAGER_VS_PURE))
        rows.append(compare("haiku apply", case, s, THEIRS, PURE))
    return rows


def bench_train(quick: bool) -> list[Row]:
    """(c) jitted forward call and train step; (d) train-step program sizes."""
    rows: list[Row] = []
    key = jax.random.PRNGKey(0)
    opt = optax.adam(1e-3)
    depth = 8
    x = jax.random.normal(key, (MLP_BATCH, MLP_WIDTH))
    y = jax.random.normal(jax.random.PRNGKey(1), (MLP_BATCH, MLP_WIDTH))

    fwd, step, state, sizes = {}, {}, {}, {}
    for name, lib in LIBS.items():
        t = mlp(lib, depth)
        params = t.init(key, x)
        state[name] = [params, opt.init(params)]
        fwd[name] = jax.jit(t.apply)
        step[name] = train_step(t.apply, opt)
    pure_params = pure_mlp_init(key, depth)
    state[PURE] = [pure_params, opt.init(pure_params)]
    fwd[PURE] = jax.jit(pure_mlp_apply)
    step[PURE] = train_step(pure_mlp_apply, opt)

    def call_fwd(name):
        return _block(fwd[name](state[name][0], x))

    def call_step(name):
        p, o, _ = step[name](state[name][0], state[name][1], x, y)
        state[name][0], state[name][1] = p, o
        return _block(p)

    rounds = 9 if quick else 41
    case = f"MLP d={depth} w={MLP_WIDTH} b={MLP_BATCH}"
    s = interleaved({n: functools.partial(call_fwd, n) for n in fwd}, rounds)
    rows.append(
        compare(
            "haiku jit", f"{case} jitted apply", s, OURS, THEIRS, target=JIT_VS_HAIKU
        )
    )
    rows.append(
        compare("haiku jit", f"{case} jitted apply", s, OURS, PURE, target=JIT_VS_PURE)
    )
    s = interleaved({n: functools.partial(call_step, n) for n in step}, rounds)
    rows.append(
        compare("haiku jit", f"{case} train step", s, OURS, THEIRS, target=JIT_VS_HAIKU)
    )
    rows.append(
        compare("haiku jit", f"{case} train step", s, OURS, PURE, target=JIT_VS_PURE)
    )
    for name, fn in step.items():
        sizes[name] = program_sizes(fn, state[name][0], state[name][1], x, y)
    rows += size_rows(
        "haiku size", f"{case} train step", sizes[OURS], sizes[THEIRS], THEIRS
    )
    rows += size_rows(
        "haiku size", f"{case} train step", sizes[OURS], sizes[PURE], PURE
    )

    # Transformer train step.
    xt = jax.random.normal(key, (TF_BATCH, TF_SEQ, TF_D))
    yt = jax.random.normal(jax.random.PRNGKey(1), (TF_BATCH, TF_SEQ, TF_D))
    tstep, tstate, tsizes = {}, {}, {}
    for name, lib in LIBS.items():
        t = transformer(lib)
        params = t.init(key, xt)
        tstate[name] = [params, opt.init(params)]
        tstep[name] = train_step(t.apply, opt)

    def call_tstep(name):
        p, o, _ = tstep[name](tstate[name][0], tstate[name][1], xt, yt)
        tstate[name][0], tstate[name][1] = p, o
        return _block(p)

    s = interleaved(
        {n: functools.partial(call_tstep, n) for n in tstep},
        5 if quick else 15,
        target_s=0,
    )
    rows.append(
        compare(
            "haiku jit",
            "transformer 6x128 train step",
            s,
            OURS,
            THEIRS,
            target=JIT_VS_HAIKU,
        )
    )
    for name, fn in tstep.items():
        tsizes[name] = program_sizes(fn, tstate[name][0], tstate[name][1], xt, yt)
    rows += size_rows(
        "haiku size",
        "transformer 6x128 train step",
        tsizes[OURS],
        tsizes[THEIRS],
        THEIRS,
    )
    return rows


def run(
    quick: bool = False, on_rows: Callable[[list[Row]], None] | None = None
) -> list[Row]:
    """Runs every part; ``on_rows`` gets each part's rows as soon as they exist."""
    rows: list[Row] = []
    for part in (bench_apply, bench_train, bench_init):
        t0 = time.perf_counter()
        new = part(quick)
        print(
            f"[bench]   {part.__name__}: {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
        if on_rows is not None:
            on_rows(new)
        rows += new
    return rows
