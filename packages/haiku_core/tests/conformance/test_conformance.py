"""Every public module through every transform (the entries live in ``registry.py``).

For each registry entry: ``hk.transform``/``hk.transform_with_state`` (deterministic
init, finite outputs, stateless modules leave no state), ``jax.jit`` (equals eager),
``jax.vmap`` (equals a loop over examples), ``jax.grad`` (finite, same tree as the
params), ``jax.eval_shape``/``hk.eval_shape`` (equal the real shapes and dtypes),
bfloat16 (parameter/output/state dtypes follow the inputs; values match a float32 run
on the same values) and ``hk.remat`` (same params, outputs and grads).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk

from .registry import ENTRIES, EXEMPT, RESNET_PRESETS, Entry

_IDS = [e.name for e in ENTRIES]


class _Run:
    """One entry transformed; ``apply`` always returns ``(out, state)``."""

    def __init__(self, entry: Entry, wrap: Callable[[Any], Any] = lambda f: f) -> None:
        self.entry = entry

        def forward(*inputs: Any) -> Any:
            return wrap(entry.make())(*inputs)

        if entry.stateful:
            self.t = hk.transform_with_state(forward)
        else:
            self.t = hk.transform(forward)

    def init(self, key: jax.Array, *inputs: Any) -> tuple[Any, Any]:
        if self.entry.stateful:
            return self.t.init(key, *inputs)
        return self.t.init(key, *inputs), {}

    def apply(self, params: Any, state: Any, *inputs: Any) -> tuple[Any, Any]:
        if self.entry.stateful:
            return self.t.apply(params, state, None, *inputs)
        return self.t.apply(params, None, *inputs), state


def _inputs(entry: Entry, seed: int = 0) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    return jax.tree.map(jnp.asarray, entry.inputs(rng))


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def _cast_floats(tree: Any, dtype: Any) -> Any:
    return jax.tree.map(lambda x: x.astype(dtype) if _is_float(x) else x, tree)


def _assert_close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    assert jax.tree.structure(actual) == jax.tree.structure(expected), (
        f"tree structures differ:\n  got      {jax.tree.structure(actual)}\n"
        f"  expected {jax.tree.structure(expected)}"
    )
    paths = jax.tree_util.tree_flatten_with_path(expected)[0]
    for (path, e), a in zip(paths, jax.tree.leaves(actual), strict=True):
        where = jax.tree_util.keystr(path) or "<root>"
        assert a.shape == e.shape, f"{where}: shape {a.shape} != {e.shape}"
        assert a.dtype == e.dtype, f"{where}: dtype {a.dtype} != {e.dtype}"
        if _is_float(e):
            np.testing.assert_allclose(
                np.asarray(a, np.float32), np.asarray(e, np.float32), rtol, atol, err_msg=where
            )
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(e), err_msg=where)


def _specs(tree: Any) -> Any:
    return jax.tree.map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)), tree)


def _assert_finite(tree: Any, what: str) -> None:
    for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if _is_float(x):
            assert np.all(np.isfinite(np.asarray(x, np.float32))), (
                f"{what}{jax.tree_util.keystr(path)} has non-finite values"
            )


def _weights_for(out: Any) -> list[Any]:
    rng = np.random.default_rng(1)
    return [
        jnp.asarray(rng.normal(size=o.shape), jnp.float32) if _is_float(o) else None
        for o in jax.tree.leaves(out)
    ]


def _weighted_sum(out: Any, weights: list[Any]) -> jax.Array:
    total = jnp.zeros([], jnp.float32)
    for o, w in zip(jax.tree.leaves(out), weights, strict=True):
        if w is not None:
            total = total + jnp.sum(o.astype(jnp.float32) * w)
    return total


def _grads(run: _Run, params: Any, state: Any, inputs: tuple[Any, ...], weights: list[Any]) -> Any:
    return jax.grad(lambda p: _weighted_sum(run.apply(p, state, *inputs)[0], weights))(params)


@pytest.fixture(params=ENTRIES, ids=_IDS)
def entry(request: pytest.FixtureRequest) -> Entry:
    return request.param


# ----------------------------------------------------------------------------- transform


def test_transform(entry: Entry) -> None:
    run = _Run(entry)
    x = _inputs(entry)
    key = jax.random.PRNGKey(0)
    params, state = run.init(key, *x)
    for module_name, bundle in params.items():
        assert isinstance(module_name, str) and isinstance(bundle, dict), params
        assert all(isinstance(k, str) for k in bundle), params
    # Same key, same parameters; a module run without state creates none, which
    # transform_with_state makes visible.
    with_state = hk.transform_with_state(lambda *a: entry.make()(*a))
    params_again, state_again = with_state.init(key, *x)
    _assert_close(params_again, params, rtol=0, atol=0)
    _assert_close(state_again, state, rtol=0, atol=0)
    out, new_state = run.apply(params, state, *x)
    _assert_finite(out, "output")
    _assert_finite(new_state, "state")
    assert jax.tree.structure(new_state) == jax.tree.structure(state)


# ----------------------------------------------------------------------------- jax.jit


def test_jit_matches_eager(entry: Entry) -> None:
    run = _Run(entry)
    x = _inputs(entry)
    key = jax.random.PRNGKey(1)
    params, state = run.init(key, *x)
    eager = run.apply(params, state, *x)
    jitted = jax.jit(run.apply)(params, state, *x)
    # XLA fuses the jitted program differently from op-by-op dispatch, and float32 rounding
    # differences grow through deep stacks (MobileNetV1 on jax 0.12.1: 4e-5 relative).
    _assert_close(jitted, eager, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- jax.vmap


def test_vmap_matches_loop(entry: Entry) -> None:
    run = _Run(entry)
    examples = [_inputs(entry, seed) for seed in (0, 1)]
    params, state = run.init(jax.random.PRNGKey(2), *examples[0])
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *examples)
    n_inputs = len(examples[0])
    batched = jax.vmap(run.apply, in_axes=(None, None, *([0] * n_inputs)))(params, state, *stacked)
    looped = [run.apply(params, state, *ex) for ex in examples]
    _assert_close(batched, jax.tree.map(lambda *xs: jnp.stack(xs), *looped))


# ----------------------------------------------------------------------------- jax.grad


def test_grad_wrt_params(entry: Entry) -> None:
    run = _Run(entry)
    x = _inputs(entry)
    params, state = run.init(jax.random.PRNGKey(3), *x)
    weights = _weights_for(run.apply(params, state, *x)[0])
    grads = _grads(run, params, state, x, weights)
    assert jax.tree.structure(grads) == jax.tree.structure(params)
    assert _specs(grads) == _specs(params)
    _assert_finite(grads, "grad")
    if jax.tree.leaves(params):
        assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(grads)), (
            f"{entry.name}: every parameter gradient is zero"
        )


# ----------------------------------------------------------------------------- eval_shape


def test_eval_shape_matches_real(entry: Entry) -> None:
    run = _Run(entry)
    x = _inputs(entry)
    key = jax.random.PRNGKey(4)
    params, state = run.init(key, *x)
    real = run.apply(params, state, *x)
    assert _specs(jax.eval_shape(run.init, key, *x)) == _specs((params, state))
    assert _specs(jax.eval_shape(run.apply, params, state, *x)) == _specs(real)

    # hk.eval_shape inside the transform, before the module's first real call: what it
    # would create is discarded and the real call then creates everything.
    def forward(*inputs: Any) -> Any:
        module = entry.make()
        return hk.eval_shape(module, *inputs), module(*inputs)

    t = hk.transform_with_state(forward)
    assert _specs(jax.eval_shape(t.init, key, *x)) == _specs((params, state))
    (shapes, out), _ = t.apply(params, state, None, *x)
    assert _specs(out) == _specs(real[0])
    assert jax.tree.structure(shapes) == jax.tree.structure(out)
    assert _specs(shapes) == _specs(out)
    for s in jax.tree.leaves(shapes):
        assert isinstance(s, jax.ShapeDtypeStruct), type(s)


# ----------------------------------------------------------------------------- bfloat16


def _param_dtypes(params: Any) -> dict[str, Any]:
    return {
        f"{module}/{name}": jnp.dtype(value.dtype)
        for module, bundle in params.items()
        for name, value in bundle.items()
    }


def test_bfloat16(entry: Entry) -> None:
    run = _Run(entry)
    x32 = _inputs(entry)
    x16 = _cast_floats(x32, jnp.bfloat16)
    key = jax.random.PRNGKey(6)

    # Parameters are created in the dtype of the inputs, unless a constructor argument
    # fixes their dtype.
    abstract_params, _ = jax.eval_shape(run.init, key, *x16)
    for name, dtype in _param_dtypes(abstract_params).items():
        if name in entry.bf16_ctor_dtype_params:
            assert dtype == jnp.float32, f"{name}: {dtype}"
        else:
            assert dtype == jnp.bfloat16, f"{name}: created as {dtype} from bfloat16 inputs"

    params32, state32 = run.init(key, *x32)
    ctor = entry.bf16_ctor_dtype_params
    params16 = {
        m: {n: v if f"{m}/{n}" in ctor else v.astype(jnp.bfloat16) for n, v in b.items()}
        for m, b in params32.items()
    }
    state16 = _cast_floats(state32, jnp.bfloat16)
    out16, new_state16 = run.apply(params16, state16, *x16)
    for path, leaf in jax.tree_util.tree_flatten_with_path(out16)[0]:
        if _is_float(leaf):
            assert leaf.dtype == entry.bf16_out, (
                f"output{jax.tree_util.keystr(path)}: {leaf.dtype}, expected {entry.bf16_out}"
            )
    for path, leaf in jax.tree_util.tree_flatten_with_path(new_state16)[0]:
        if _is_float(leaf):
            assert leaf.dtype == jnp.bfloat16, f"state{jax.tree_util.keystr(path)}: {leaf.dtype}"
    _assert_finite(out16, "bfloat16 output")

    # The same values computed in float32.
    ref, _ = run.apply(
        _cast_floats(params16, jnp.float32),
        _cast_floats(state16, jnp.float32),
        *_cast_floats(x16, jnp.float32),
    )
    for path, (got, want) in zip(
        jax.tree_util.tree_flatten_with_path(ref)[0],
        zip(jax.tree.leaves(out16), jax.tree.leaves(ref), strict=True),
        strict=True,
    ):
        where = jax.tree_util.keystr(path[0])
        got32, want32 = np.asarray(got, np.float32), np.asarray(want, np.float32)
        if not _is_float(want):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=where)
            continue
        scale = max(1.0, float(np.max(np.abs(want32))) if want32.size else 1.0)
        np.testing.assert_allclose(
            got32, want32, rtol=entry.bf16_tol, atol=entry.bf16_tol * scale, err_msg=where
        )


# ----------------------------------------------------------------------------- hk.remat


def test_remat_matches_plain(entry: Entry) -> None:
    plain = _Run(entry)
    remat = _Run(entry, wrap=hk.remat)
    x = _inputs(entry)
    key = jax.random.PRNGKey(7)
    params, state = plain.init(key, *x)
    # hk.remat changes how XLA fuses init; BatchNorm statistics may move by one float32 ulp
    # (seen on jax 0.12.1), so "equal" here means equal to within a few ulps.
    _assert_close(remat.init(key, *x), (params, state), rtol=1e-6, atol=1e-7)
    out = plain.apply(params, state, *x)
    _assert_close(remat.apply(params, state, *x), out)
    weights = _weights_for(out[0])
    _assert_close(
        _grads(remat, params, state, x, weights), _grads(plain, params, state, x, weights)
    )


# ----------------------------------------------------------------------------- presets


@pytest.mark.parametrize("preset", list(RESNET_PRESETS), ids=[c.__name__ for c in RESNET_PRESETS])
def test_resnet_preset_is_resnet_with_its_config(preset: type) -> None:
    def build(make: Callable[[], Any]) -> Any:
        t = hk.transform_with_state(lambda x: make()(x, is_training=True))
        x = jnp.zeros([1, 4, 4, 3])
        return _specs(jax.eval_shape(t.init, jax.random.PRNGKey(0), x))

    config = RESNET_PRESETS[preset]
    got = build(lambda: preset(num_classes=5, name="net"))
    want = build(lambda: hk.nets.ResNet(num_classes=5, name="net", **config))
    assert got == want


# ----------------------------------------------------------------------------- coverage


def _public_namespaces() -> Iterator[tuple[str, types.ModuleType]]:
    yield "hk", hk
    yield "hk.nets", hk.nets
    yield "hk.experimental", hk.experimental


def _public_module_classes() -> dict[str, type]:
    """``{qualified name: class}`` for every public hk.Module subclass, nested ones included."""
    found: dict[str, type] = {}
    for ns_name, ns in _public_namespaces():
        names = set(getattr(ns, "__all__", ())) | {n for n in vars(ns) if not n.startswith("_")}
        for name in sorted(names):
            if name == "flax" or not hasattr(ns, name):
                continue
            obj = getattr(ns, name)
            if inspect.isclass(obj) and issubclass(obj, hk.Module):
                found[f"{ns_name}.{name}"] = obj
                for attr, nested in vars(obj).items():
                    if (
                        not attr.startswith("_")
                        and inspect.isclass(nested)
                        and issubclass(nested, hk.Module)
                    ):
                        found[f"{ns_name}.{name}.{attr}"] = nested
    return found


def test_registry_covers_every_public_module_class() -> None:
    public = _public_module_classes()
    assert "hk.Linear" in public and "hk.nets.ResNet.BlockV1" in public, sorted(public)
    covered = {e.covers for e in ENTRIES} | set(RESNET_PRESETS) | set(EXEMPT)
    missing = sorted(name for name, cls in public.items() if cls not in covered)
    assert not missing, f"public module classes without a conformance entry: {missing}"


def test_exemptions_are_abstract_bases() -> None:
    for cls, reason in EXEMPT.items():
        assert reason
        assert cls is hk.Module or (
            issubclass(cls, hk.Module) and "__call__" in getattr(cls, "__abstractmethods__", ())
        ), f"{cls.__name__} is exempt but is not an abstract base"
