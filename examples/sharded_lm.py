"""Sharded byte-level language model: FSDP x tensor parallelism on a 2-D mesh, with haiku-core.

A small decoder-only transformer (``hk.layer_stack`` over pre-norm blocks of causal
``hk.MultiHeadAttention`` and an MLP, tied ``hk.Embed`` input/output table) learns to
predict the next byte of the Python standard library's own ``.py`` sources (read from
``sysconfig.get_paths()["stdlib"]``; sorted file list, test folders skipped, every 20th
file held out). Nothing is downloaded.

Sharding is written with logical axis names: every parameter carries names such as
``("embed", "mlp")`` and activations are constrained to ``("batch", "length", "embed")``
inside the blocks. One rule table maps them onto a ``("data", "model")`` mesh:

* FSDP over ``data``: the batch and every parameter's ``embed`` dimension;
* tensor parallelism over ``model``: ``mlp``, ``heads`` and ``vocab``.

Parameters and the optax state are created directly sharded, and the train step is a
``jax.jit`` with explicit in/out shardings. Modes:

    python examples/sharded_lm.py --fake-devices 8 --mesh 4,2 --minutes 3
    python examples/sharded_lm.py --fake-devices 8 --check-meshes
    python examples/sharded_lm.py --fake-devices 8 --check-checkpoint
    python examples/sharded_lm_multiprocess.py   # 2 processes x 4 devices vs 1 x 8

``--fake-devices N`` asks XLA for N host (CPU) devices; it must be set before JAX starts,
so it only works when this file is run as a script (or in a fresh process).
"""

from __future__ import annotations

import os
import sys


def _request_host_devices(argv: list[str]) -> None:
    """Sets XLA_FLAGS for ``--fake-devices N`` before JAX is imported."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--fake-devices" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--fake-devices="):
            value = arg.split("=", 1)[1]
        if value is not None:
            flag = f"--xla_force_host_platform_device_count={int(value)}"
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()


if __name__ == "__main__":
    _request_host_devices(sys.argv[1:])

import argparse  # noqa: E402
import gzip  # noqa: E402
import lzma  # noqa: E402
import math  # noqa: E402
import pathlib  # noqa: E402
import sysconfig  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any, NamedTuple  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
from tqdm import tqdm  # noqa: E402

import common  # noqa: E402
import haiku_core as hk  # noqa: E402

VOCAB = 256  # bytes
MESH_AXES = ("data", "model")

# Logical axis name -> mesh axis. "embed" over "data" is what makes this FSDP: every
# weight matrix has an embed dimension, so each device holds 1/|data| of it, and the
# gathers happen inside the step. "mlp"/"heads"/"vocab" over "model" is Megatron-style
# tensor parallelism. Stacked layers and sequence positions stay whole.
RULES: list[tuple[str, str | None]] = [
    ("batch", "data"),
    ("embed", "data"),
    ("mlp", "model"),
    ("heads", "model"),
    ("vocab", "model"),
    ("length", None),
    ("layers", None),
]


class Config(NamedTuple):
    """Model and optimiser sizes."""

    num_layers: int = 4
    d_model: int = 128
    num_heads: int = 8
    mlp_size: int = 512
    context: int = 128
    batch: int = 32
    lr: float = 3e-3
    warmup: int = 20
    weight_decay: float = 0.1


TINY = Config(num_layers=2, d_model=32, num_heads=4, mlp_size=64, context=32, batch=16)


# --------------------------------------------------------------------------- corpus


class Corpus(NamedTuple):
    train: np.ndarray  # uint8 [N_train]
    heldout: np.ndarray  # uint8 [N_heldout]
    train_files: int
    heldout_files: int


def _is_skipped(rel: pathlib.Path) -> bool:
    skip = {"site-packages", "dist-packages", "__pycache__", "idle_test"}
    return any(part in skip or part.startswith("test") for part in rel.parts[:-1])


def load_corpus(holdout_every: int = 20, max_files: int | None = None) -> Corpus:
    """The standard library's ``.py`` files as bytes; every ``holdout_every``-th is held out.

    Args:
      holdout_every: file ``i`` (in sorted order) is held out when ``i % holdout_every == 0``.
      max_files: keep only the first ``max_files`` files (tiny runs).

    Returns:
      A ``Corpus`` of concatenated train and held-out bytes.
    """
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not _is_skipped(p.relative_to(root)))
    if max_files is not None:
        files = files[:max_files]
    train, heldout = [], []
    for i, path in enumerate(files):
        (heldout if i % holdout_every == 0 else train).append(path.read_bytes())
    return Corpus(
        np.frombuffer(b"".join(train), np.uint8),
        np.frombuffer(b"".join(heldout), np.uint8),
        len(train),
        len(heldout),
    )


def sample_batch(data: np.ndarray, cfg: Config, seed: int, step: int) -> np.ndarray:
    """Global batch ``[B, context + 1]`` int32 of random windows; same on every process."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(data) - cfg.context - 1, size=cfg.batch)
    idx = starts[:, None] + np.arange(cfg.context + 1)[None, :]
    return data[idx].astype(np.int32)


# --------------------------------------------------------------------------- model


class Mlp(hk.Module):
    """Two-layer GELU MLP with explicitly named weight axes."""

    def __init__(self, hidden: int, name: str | None = None):
        super().__init__(name=name)
        self.hidden = hidden

    def __call__(self, x: jax.Array) -> jax.Array:
        d = x.shape[-1]
        init = hk.initializers.VarianceScaling(1.0, "fan_in", "truncated_normal")
        w_in = hk.get_parameter("w_in", [d, self.hidden], x.dtype, init=init)
        hk.sharding.annotate("w_in", ("embed", "mlp"))
        b_in = hk.get_parameter("b_in", [self.hidden], x.dtype, init=jnp.zeros)
        hk.sharding.annotate("b_in", ("mlp",))
        w_out = hk.get_parameter("w_out", [self.hidden, d], x.dtype, init=init)
        hk.sharding.annotate("w_out", ("mlp", "embed"))
        b_out = hk.get_parameter("b_out", [d], x.dtype, init=jnp.zeros)
        hk.sharding.annotate("b_out", ("embed",))
        h = jnp.einsum("btd,dh->bth", x, w_in) + b_in[None, None, :]
        h = hk.sharding.constrain(h, ("batch", "length", "mlp"))
        h = jax.nn.gelu(h)
        return jnp.einsum("bth,hd->btd", h, w_out) + b_out[None, None, :]


class ByteLM(hk.Module):
    """Decoder-only transformer over bytes: ``[B, T]`` int32 -> ``[B, T, 256]`` logits."""

    def __init__(self, cfg: Config, name: str | None = None):
        super().__init__(name=name)
        self.cfg = cfg

    def __call__(self, tokens: jax.Array) -> jax.Array:
        cfg = self.cfg
        t = tokens.shape[-1]
        embed = hk.Embed(VOCAB, cfg.d_model, w_init=hk.initializers.TruncatedNormal(1.0))
        pos = hk.get_parameter(
            "pos_embed", [cfg.context, cfg.d_model], init=hk.initializers.TruncatedNormal(0.02)
        )
        hk.sharding.annotate("pos_embed", ("length", "embed"))
        x = embed(tokens) + pos[None, :t, :]
        x = hk.sharding.constrain(x, ("batch", "length", "embed"))
        causal = jnp.tril(jnp.ones((t, t), bool))[None, None, :, :]
        key_size = cfg.d_model // cfg.num_heads
        attn_init = hk.initializers.VarianceScaling(1.0 / cfg.num_layers)

        @hk.layer_stack(cfg.num_layers, name="blocks")
        def block(x: jax.Array) -> jax.Array:
            h = hk.LayerNorm(-1, create_scale=True, create_offset=True, name="ln_attn")(x)
            attn = hk.MultiHeadAttention(
                cfg.num_heads, key_size, w_init=attn_init, model_size=cfg.d_model, name="attn"
            )
            x = x + attn(h, h, h, mask=causal)
            x = hk.sharding.constrain(x, ("batch", "length", "embed"))
            h = hk.LayerNorm(-1, create_scale=True, create_offset=True, name="ln_mlp")(x)
            x = x + Mlp(cfg.mlp_size, name="mlp")(h)
            return hk.sharding.constrain(x, ("batch", "length", "embed"))

        x = block(x)
        x = hk.LayerNorm(-1, create_scale=True, create_offset=True, name="ln_final")(x)
        # Tied output projection, logits = x E^T / sqrt(D): the input table read backwards
        # (scaled so that unit-variance features and table give unit-variance logits).
        logits = jnp.einsum("btd,vd->btv", x, embed.embeddings) / math.sqrt(cfg.d_model)
        return hk.sharding.constrain(logits, ("batch", "length", "vocab"))


def make_net(cfg: Config) -> hk.Transformed:
    """``hk.transform`` of ``ByteLM``; apply needs no rng."""
    return hk.without_apply_rng(hk.transform(lambda tokens: ByteLM(cfg, name="lm")(tokens)))


# --------------------------------------------------------------------------- sharded training


def make_mesh(shape: Sequence[int], devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A ``("data", "model")`` mesh of ``shape`` over the first ``prod(shape)`` devices."""
    n = math.prod(shape)
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < n:
        raise SystemExit(
            f"sharded_lm: mesh {tuple(shape)} needs {n} devices, JAX sees {len(devices)}; "
            f"run with --fake-devices {n} (CPU) in a fresh process."
        )
    grid = np.array(devices[:n], dtype=object).reshape(tuple(shape))
    return Mesh(grid, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * len(MESH_AXES))


def make_optimizer(cfg: Config) -> optax.GradientTransformation:
    """AdamW with linear warm-up, global-norm clipping; no decay on biases/norms."""

    def schedule(step: jax.Array) -> jax.Array:
        return cfg.lr * jnp.minimum(1.0, (step + 1) / cfg.warmup)

    def decay_mask(params: Any) -> Any:
        return {
            m: {k: k in ("w", "w_in", "w_out", "embeddings") for k in b} for m, b in params.items()
        }

    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(schedule, b2=0.95, weight_decay=cfg.weight_decay, mask=decay_mask),
    )


class Setup(NamedTuple):
    """Everything that depends on (config, mesh): shardings and compiled functions."""

    mesh: Mesh
    net: hk.Transformed
    opt: optax.GradientTransformation
    param_specs: Any
    opt_specs: Any
    param_shardings: Any
    opt_shardings: Any
    batch_sharding: NamedSharding
    init: Callable[[jax.Array], tuple[Any, Any]]
    step: Callable[[Any, Any, jax.Array], tuple[Any, Any, jax.Array]]
    eval_loss: Callable[[Any, jax.Array], jax.Array]
    compile_seconds: float


def _abstract(shapes: Any, shardings: Any) -> Any:
    return jax.tree.map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), shapes, shardings
    )


def build(cfg: Config, mesh: Mesh) -> Setup:
    """Logical axes -> specs -> shardings, sharded init and the jitted train/eval steps."""
    net = make_net(cfg)
    opt = make_optimizer(cfg)
    dummy = jnp.zeros((1, cfg.context), jnp.int32)
    key0 = jax.random.PRNGKey(0)
    # Names come from hk.sharding.annotate calls and the built-in modules' defaults
    # (Embed, MultiHeadAttention, LayerNorm; hk.layer_stack prepends "layers").
    logical = hk.sharding.logical_axes(net.init, key0, dummy, strict=True)
    param_shapes = jax.eval_shape(net.init, key0, dummy)
    param_specs = hk.sharding.logical_to_specs(logical, RULES, mesh=mesh, shapes=param_shapes)
    # Adam's mu/nu mirror the params, so they take the params' specs; the count is replicated.
    opt_specs = hk.sharding.optimizer_state_specs(
        jax.eval_shape(opt.init, param_shapes), param_specs
    )
    param_shardings = hk.sharding.named_shardings(param_specs, mesh)
    opt_shardings = hk.sharding.named_shardings(opt_specs, mesh)
    batch_spec = hk.sharding.logical_to_specs(("batch", "length"), RULES, mesh=mesh)
    batch_sharding = NamedSharding(mesh, batch_spec)
    replicated = NamedSharding(mesh, P())

    def init(key: jax.Array) -> tuple[Any, Any]:
        params = hk.sharding.sharded_init(net.init, mesh, param_specs, key, dummy)
        opt_state = hk.sharding.sharded_init(opt.init, mesh, opt_specs, params)
        return params, opt_state

    def mean_nll(params: Any, batch: jax.Array) -> jax.Array:
        with hk.sharding.use_rules(RULES, mesh):
            logits = net.apply(params, batch[:, :-1])
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch[:, 1:]).mean()

    def train_step(params: Any, opt_state: Any, batch: jax.Array):
        loss, grads = jax.value_and_grad(mean_nll)(params, batch)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    step = jax.jit(
        train_step,
        in_shardings=(param_shardings, opt_shardings, batch_sharding),
        out_shardings=(param_shardings, opt_shardings, replicated),
        donate_argnums=(0, 1),
    )
    eval_loss = jax.jit(
        mean_nll, in_shardings=(param_shardings, batch_sharding), out_shardings=replicated
    )
    # Compile ahead of time from shapes and shardings, so time budgets exclude compilation.
    t0 = time.perf_counter()
    p_abs = _abstract(param_shapes, param_shardings)
    o_abs = _abstract(jax.eval_shape(opt.init, param_shapes), opt_shardings)
    b_abs = jax.ShapeDtypeStruct((cfg.batch, cfg.context + 1), jnp.int32, sharding=batch_sharding)
    step = step.lower(p_abs, o_abs, b_abs).compile()
    eval_loss = eval_loss.lower(p_abs, b_abs).compile()
    compile_seconds = time.perf_counter() - t0
    return Setup(
        mesh,
        net,
        opt,
        param_specs,
        opt_specs,
        param_shardings,
        opt_shardings,
        batch_sharding,
        init,
        step,
        eval_loss,
        compile_seconds,
    )


def put_global(batch: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host array every process holds in full (each keeps its part)."""
    return jax.make_array_from_callback(batch.shape, sharding, lambda idx: batch[idx])


def train_loop(
    setup: Setup,
    params: Any,
    opt_state: Any,
    data: np.ndarray,
    cfg: Config,
    *,
    seed: int,
    first_step: int,
    num_steps: int | None,
    seconds: float | None = None,
    desc: str = "train",
    show: bool = True,
) -> tuple[Any, Any, list[float]]:
    """Runs steps ``first_step, first_step + 1, ...`` until ``num_steps`` or ``seconds``."""
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(total=num_steps, desc=desc, unit="step", disable=not show, leave=False)
    step = first_step
    while True:
        if num_steps is not None and len(losses) >= num_steps:
            break
        if seconds is not None and time.perf_counter() - start >= seconds:
            break
        batch = put_global(sample_batch(data, cfg, seed, step), setup.batch_sharding)
        params, opt_state, loss = setup.step(params, opt_state, batch)
        losses.append(float(loss))
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    bar.close()
    return params, opt_state, losses


def heldout_bits_per_byte(
    setup: Setup, params: Any, heldout: np.ndarray, cfg: Config, num_bytes: int
) -> tuple[float, bytes]:
    """Mean held-out bits per predicted byte over consecutive ``context``-byte windows.

    Each window of ``context + 1`` bytes predicts its last ``context`` bytes (the first
    bytes of a window see little context). Returns (bits/byte, the predicted bytes).
    """
    t = cfg.context
    n = max(1, min(num_bytes, len(heldout) - 1) // t)
    n = max(cfg.batch, (n // cfg.batch) * cfg.batch)
    idx = np.arange(n)[:, None] * t + np.arange(t + 1)[None, :]
    windows = heldout[idx].astype(np.int32)
    total = 0.0
    for i in range(0, n, cfg.batch):
        batch = put_global(windows[i : i + cfg.batch], setup.batch_sharding)
        total += float(setup.eval_loss(params, batch))
    nats = total / (n // cfg.batch)
    return nats / math.log(2.0), heldout[1 : n * t + 1].tobytes()


def compressed_bits_per_byte(text: bytes) -> dict[str, float]:
    """gzip -9 and lzma (preset 9 | extreme) sizes of ``text`` in bits per byte."""
    return {
        "gzip9": 8.0 * len(gzip.compress(text, compresslevel=9)) / len(text),
        "lzma": 8.0 * len(lzma.compress(text, preset=9 | lzma.PRESET_EXTREME)) / len(text),
    }


def shard_report(params: Any, mesh: Mesh) -> tuple[dict[str, int], float]:
    """Per-device parameter bytes and the worst shard fraction over sharded parameters.

    A parameter whose spec splits it over ``k`` devices (the product of the mesh axes it
    names) may hold at most ``1/k`` of its bytes on any one device. Returns (bytes per
    device, the max over parameters of ``largest_piece_bytes * k / total_bytes``), so
    the check passes when the second value is <= 1.
    """
    per_device: dict[str, int] = {}
    worst = 0.0
    for x in jax.tree.leaves(params):
        k = 1
        for entry in x.sharding.spec:
            for axis in (entry,) if isinstance(entry, str) else (entry or ()):
                k *= mesh.shape[axis]
        largest = 0
        for s in x.addressable_shards:
            per_device[str(s.device)] = per_device.get(str(s.device), 0) + s.data.nbytes
            largest = max(largest, s.data.nbytes)
        if k > 1:
            worst = max(worst, largest * k / x.nbytes)
    return per_device, worst


# --------------------------------------------------------------------------- modes


def parse_mesh(text: str) -> tuple[int, int]:
    """``"4,2"`` -> ``(4, 2)`` (data, model)."""
    parts = tuple(int(p) for p in text.split(","))
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"--mesh wants DATA,MODEL (e.g. 4,2), got {text!r}")
    return parts  # type: ignore[return-value]


def max_rel_diff(a: Sequence[float], ref: Sequence[float]) -> float:
    """``max_i |a_i - ref_i| / |ref_i|`` over the common prefix."""
    a_, r_ = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    if len(a_) != len(r_):
        raise ValueError(f"loss curves differ in length: {len(a_)} vs {len(r_)}")
    return float(np.max(np.abs(a_ - r_) / np.abs(r_)))


def _bytes_table(title: str, rows: dict[str, dict[str, int]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("mesh (data,model)")
    table.add_column("devices", justify="right")
    table.add_column("param bytes / device (min..max)", justify="right")
    table.add_column("param bytes total", justify="right")
    for name, per_device in rows.items():
        v = list(per_device.values())
        table.add_row(name, str(len(v)), f"{min(v):,}..{max(v):,}", f"{sum(v):,}")
    Console().print(table)


def run_train(args: argparse.Namespace, cfg: Config, corpus: Corpus) -> dict[str, Any]:
    """Trains on ``--mesh`` for ``--steps`` or ``--minutes``; held-out bits/byte at the end."""
    mesh = make_mesh(args.mesh)
    lead = jax.process_index() == 0
    setup = build(cfg, mesh)
    t0 = time.perf_counter()
    params, opt_state = setup.init(jax.random.PRNGKey(args.seed))
    init_s = time.perf_counter() - t0
    per_device, worst = shard_report(params, mesh)
    if lead and not args.quiet:
        print(hk.sharding.summary(params, setup.param_specs))
    seconds = None if args.steps is not None else 60.0 * args.minutes
    t0 = time.perf_counter()
    params, opt_state, losses = train_loop(
        setup,
        params,
        opt_state,
        corpus.train,
        cfg,
        seed=args.seed,
        first_step=0,
        num_steps=args.steps,
        seconds=seconds,
        desc=f"sharded_lm {args.mesh}",
        show=lead and not args.quiet,
    )
    train_s = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "mesh": list(args.mesh),
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "devices": jax.device_count(),
        "steps": len(losses),
        "final_train_loss": losses[-1],
        "train_seconds": train_s,
        "init_seconds": init_s,
        "compile_seconds": setup.compile_seconds,
        "steps_per_second": len(losses) / train_s,
        "tokens_per_second": len(losses) * cfg.batch * cfg.context / train_s,
        "num_params": int(sum(x.size for x in jax.tree.leaves(params))),
        "param_bytes_per_device_max": max(per_device.values()),
        "worst_shard_fraction": worst,
        "train_bytes": len(corpus.train),
        "heldout_bytes": len(corpus.heldout),
        "config": cfg._asdict(),
    }
    if args.eval_bytes > 0:
        bpb, text = heldout_bits_per_byte(setup, params, corpus.heldout, cfg, args.eval_bytes)
        metrics["heldout_bits_per_byte"] = bpb
        metrics["heldout_eval_bytes"] = len(text)
        for name, v in compressed_bits_per_byte(text).items():
            metrics[f"{name}_bits_per_byte_same_bytes"] = v
        for name, v in compressed_bits_per_byte(corpus.heldout.tobytes()).items():
            metrics[f"{name}_bits_per_byte_all_heldout"] = v
    out = common.out_dir(args.out)
    if jax.process_count() > 1:
        common.write_json(
            out / f"process_{jax.process_index()}.json", {**metrics, "losses": losses}
        )
        return {**metrics, "losses": losses}
    common.write_json(out / "metrics.json", {**metrics, "losses": losses})
    common.plot_curves(
        out / "train_loss.png",
        range(1, len(losses) + 1),
        {"train loss (nats/byte)": losses},
        xlabel="step",
        ylabel="cross-entropy",
        title=f"byte LM on the stdlib, mesh {tuple(args.mesh)} (data, model)",
        hline=metrics.get("gzip9_bits_per_byte_same_bytes", 0) * math.log(2) or None,
    )
    if not args.quiet:
        rows = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}
        common.print_summary("sharded byte LM", {**rows, "outputs": str(out)})
    return {**metrics, "losses": losses}


def run_check_meshes(args: argparse.Namespace, cfg: Config, corpus: Corpus) -> dict[str, Any]:
    """Same seed and data on (8,1), (4,2), (2,4) and one device: loss curves must agree."""
    meshes = [(8, 1), (4, 2), (2, 4), (1, 1)]
    curves: dict[str, list[float]] = {}
    per_device_rows: dict[str, dict[str, int]] = {}
    worst: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for shape in meshes:
        name = f"{shape[0]},{shape[1]}"
        setup = build(cfg, make_mesh(shape))
        t0 = time.perf_counter()
        params, opt_state = setup.init(jax.random.PRNGKey(args.seed))
        per_device_rows[name], worst[name] = shard_report(params, setup.mesh)
        if shape == (4, 2) and not args.quiet:
            print(hk.sharding.summary(params, setup.param_specs))
        _, _, curves[name] = train_loop(
            setup,
            params,
            opt_state,
            corpus.train,
            cfg,
            seed=args.seed,
            first_step=0,
            num_steps=args.check_steps,
            desc=f"mesh {name}",
            show=not args.quiet,
        )
        seconds[name] = time.perf_counter() - t0
    ref = curves["1,1"]
    diffs = {name: max_rel_diff(c, ref) for name, c in curves.items() if name != "1,1"}
    _bytes_table("parameter bytes per device after sharded init", per_device_rows)
    for name, d in diffs.items():
        print(f"mesh ({name}) vs single device: max rel loss diff over {len(ref)} steps = {d:.3e}")
    metrics = {
        "check_steps": args.check_steps,
        "max_rel_diff_vs_single_device": diffs,
        "worst_shard_fraction": worst,
        "param_bytes_per_device": per_device_rows,
        "seconds_per_mesh": seconds,
        "curves": curves,
        "config": cfg._asdict(),
    }
    out = common.out_dir(args.out)
    common.write_json(out / "metrics.json", metrics)
    common.plot_curves(
        out / "mesh_losses.png",
        range(1, len(ref) + 1),
        {f"mesh ({k})": v for k, v in curves.items()},
        xlabel="step",
        ylabel="train loss (nats/byte)",
        title="same seed on four meshes",
    )
    bad = {k: d for k, d in diffs.items() if not d <= args.tol}
    if bad:
        raise SystemExit(f"sharded_lm --check-meshes: loss curves differ beyond {args.tol}: {bad}")
    over = {k: w for k, w in worst.items() if w > 1.0 + 1e-9}
    if over:
        raise SystemExit(f"sharded_lm --check-meshes: a device holds more than 1/N: {over}")
    return metrics


def run_check_checkpoint(args: argparse.Namespace, cfg: Config, corpus: Corpus) -> dict[str, Any]:
    """Save on mesh (4,2) with orbax; restore onto (2,4) and one device; resume identically."""
    import shutil

    import orbax.checkpoint as ocp

    out = common.out_dir(args.out)
    path = (out / "checkpoint").resolve()
    if path.exists():
        shutil.rmtree(path)
    k, more = args.check_steps, args.resume_steps
    src = build(cfg, make_mesh((4, 2)))
    params, opt_state = src.init(jax.random.PRNGKey(args.seed))
    params, opt_state, before = train_loop(
        src, params, opt_state, corpus.train, cfg, seed=args.seed, first_step=0,
        num_steps=k, desc="mesh 4,2", show=not args.quiet,
    )  # fmt: skip
    state = {"params": params, "opt_state": opt_state}
    shapes = jax.eval_shape(lambda s: s, state)
    saved = jax.device_get(state)
    t0 = time.perf_counter()
    ckptr = ocp.StandardCheckpointer()
    ckptr.save(path, state)
    ckptr.wait_until_finished()
    save_s = time.perf_counter() - t0
    _, _, ref = train_loop(
        src, params, opt_state, corpus.train, cfg, seed=args.seed, first_step=k,
        num_steps=more, desc="mesh 4,2 resumed", show=not args.quiet,
    )  # fmt: skip
    results: dict[str, Any] = {"4,2 (no restore)": ref}
    diffs: dict[str, float] = {}
    for shape in [(2, 4), (1, 1)]:
        name = f"{shape[0]},{shape[1]}"
        dst = build(cfg, make_mesh(shape))
        target = _abstract(shapes, {"params": dst.param_shardings, "opt_state": dst.opt_shardings})
        restored = ckptr.restore(path, target)
        same_values = all(
            np.array_equal(a, b)
            for a, b in zip(
                jax.tree.leaves(jax.device_get(restored)), jax.tree.leaves(saved), strict=True
            )
        )
        same_sharding = all(
            a.sharding.is_equivalent_to(t.sharding, a.ndim)
            for a, t in zip(jax.tree.leaves(restored), jax.tree.leaves(target), strict=True)
        )
        if not (same_values and same_sharding):
            raise SystemExit(
                f"sharded_lm --check-checkpoint: restore onto mesh ({name}) gave "
                f"values equal: {same_values}, target shardings: {same_sharding}"
            )
        _, _, curve = train_loop(
            dst, restored["params"], restored["opt_state"], corpus.train, cfg, seed=args.seed,
            first_step=k, num_steps=more, desc=f"mesh {name} restored", show=not args.quiet,
        )  # fmt: skip
        results[f"{name} (restored)"] = curve
        diffs[name] = max_rel_diff(curve, ref)
        print(
            f"restored onto mesh ({name}): next-step loss {curve[0]:.7f} vs {ref[0]:.7f} "
            f"on (4,2); max rel diff over {more} steps = {diffs[name]:.3e}"
        )
    ckptr.close()
    metrics = {
        "saved_after_steps": k,
        "resumed_steps": more,
        "losses_before_save": before,
        "resumed_losses": results,
        "max_rel_diff_vs_source_mesh": diffs,
        "save_seconds": save_s,
        "checkpoint": str(path),
        "config": cfg._asdict(),
    }
    common.write_json(out / "metrics.json", metrics)
    bad = {n: d for n, d in diffs.items() if not d <= args.tol}
    if bad:
        raise SystemExit(f"sharded_lm --check-checkpoint: resumed losses differ: {bad}")
    return metrics


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mesh", type=parse_mesh, default=(4, 2), help="DATA,MODEL")
    parser.add_argument("--fake-devices", type=int, default=None, help="host CPU devices")
    parser.add_argument("--steps", type=int, default=None, help="train steps (else --minutes)")
    parser.add_argument("--minutes", type=float, default=3.0, help="training time budget")
    parser.add_argument("--tiny", action="store_true", help="tiny model (tests, CI)")
    parser.add_argument("--max-files", type=int, default=None, help="corpus: first N files")
    parser.add_argument("--eval-bytes", type=int, default=131072, help="held-out bytes scored")
    parser.add_argument("--check-meshes", action="store_true")
    parser.add_argument("--check-checkpoint", action="store_true")
    parser.add_argument("--check-steps", type=int, default=30)
    parser.add_argument("--resume-steps", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-5, help="max relative loss difference")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--coordinator", default="localhost:12355")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--out", default="out/sharded_lm")
    args = parser.parse_args(argv)

    if args.num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            args.coordinator, num_processes=args.num_processes, process_id=args.process_id
        )
    cfg = TINY if args.tiny else Config()
    corpus = load_corpus(max_files=args.max_files)
    if args.check_meshes:
        return run_check_meshes(args, cfg, corpus)
    if args.check_checkpoint:
        return run_check_checkpoint(args, cfg, corpus)
    return run_train(args, cfg, corpus)


if __name__ == "__main__":
    main()
