"""Compatibility of haiku_core's core machinery with dm-haiku 0.0.17 (opt-in oracle).

Run only by ``nox -s compat`` (a venv with dm-haiku). For a catalogue of models built
from core features (nested modules, name_scope, methods calling each other, state,
hk.vmap/scan/cond/remat, lift, layer_stack, custom getters) it checks that both
libraries produce the same parameter/state trees (paths, names, shapes, dtypes, in
creation order) and that ``apply`` gives the same outputs given upstream's params.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

haiku = pytest.importorskip("haiku")
import haiku_core  # noqa: E402


def catalogue(hk):
    """Model functions written once against a Haiku-like namespace ``hk``."""

    class Dense(hk.Module):
        def __init__(self, out, name=None):
            super().__init__(name=name)
            self.out = out

        def __call__(self, x):
            w = hk.get_parameter(
                "w", [x.shape[-1], self.out], x.dtype, init=hk.initializers.RandomNormal()
            )
            b = hk.get_parameter("b", [self.out], x.dtype, init=jnp.zeros)
            return x @ w + b

    class Block(hk.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.proj = Dense(3)

        def __call__(self, x):
            x = self.proj(x)
            x = Dense(2)(x)
            x = Dense(2)(x)
            scale = hk.get_parameter("scale", [2], init=jnp.ones)
            return self.head(x) * scale

        def head(self, x):
            return Dense(2)(x)

    class Counter(hk.Module):
        def __call__(self, x):
            c = hk.get_state("count", [], jnp.int32, init=jnp.zeros)
            hk.set_state("count", c + 1)
            avg = hk.get_state("avg", x.shape[-1:], init=jnp.zeros)
            hk.set_state("avg", 0.9 * avg + 0.1 * x.mean(0))
            return x + avg

    def naming(x):
        a = Block()(x)
        b = Block()(x)
        c = Block(name="custom")(x)
        t = hk.get_parameter("top", [1], init=jnp.zeros)
        with hk.name_scope("scope"):
            s = Dense(1)(x)
        with hk.name_scope("scope"):
            s2 = Dense(1)(x)
        d1 = Dense(2, name="dense_1")(x)
        d2 = Dense(2)(x)
        d3 = Dense(2)(x)
        return a + b + c + t + s + s2 + d1 + d2 + d3

    def shared(x):
        m = Dense(4)
        return m(x) + m(x) + Dense(4, name="other")(x)

    def stateful(x):
        return Counter()(x) + Counter()(x)

    def vmapped(x):
        return hk.vmap(lambda y: Dense(3)(y), split_rng=False)(x)

    def scanned(x):
        cell = Dense(4, name="cell")

        def step(c, xt):
            c = jnp.tanh(cell(jnp.concatenate([c, xt], -1)))
            return c, c

        return hk.scan(step, jnp.zeros([4]), x)[1]

    def conditional(x):
        a, b = Dense(2, name="a"), Dense(2)
        if hk.running_init():
            a(x), b(x)
        return hk.cond(x.sum() > 0, a, b, x) + hk.switch(1, [b, a], x)

    def rematted(x):
        return hk.remat(lambda y: Dense(3)(Dense(3)(y)))(x)

    def lifted(x):
        inner = hk.transform(lambda y: Dense(2)(y))
        p = hk.lift(inner.init, name="inner")(hk.next_rng_key(), x)
        return inner.apply(p, None, x)

    def stacked(x):
        return hk.layer_stack(3)(lambda y: jnp.tanh(Dense(5)(y)))(x)

    def getter(x):
        def double(next_getter, value, context):
            return next_getter(value) * 2.0

        with hk.custom_getter(double):
            return Dense(2)(x)

    class RealBlock(hk.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.proj = hk.Linear(3)

        def __call__(self, x):
            x = self.proj(x)
            x = hk.Linear(2)(x)
            x = hk.Linear(2)(x)
            scale = hk.get_parameter("scale", [2], init=jnp.ones)
            return self.head(x) * scale

        def head(self, x):
            return hk.Linear(2)(x)

    def appendix_a(x):
        a = RealBlock(name="block")(x)
        b = RealBlock(name="block")(x)
        c = RealBlock(name="custom")(x)
        t = hk.get_parameter("top", [1], init=jnp.zeros)
        with hk.name_scope("scope"):
            s = hk.Linear(1)(x)
        m = hk.nets.MLP([4, 3])(x)
        return a + b + c + t + s.sum() + m.sum()

    def dropout_mlp(x):
        return hk.nets.MLP([8, 3])(x, dropout_rate=0.5, rng=hk.next_rng_key())

    def vmap_rng(x):
        mlp = hk.nets.MLP([4, 2])
        split = not hk.running_init()
        return hk.vmap(
            lambda y: mlp(y) + jax.random.normal(hk.next_rng_key(), (2,)), split_rng=split
        )(x)

    def scan_linear(x):
        lin = hk.Linear(4)

        def step(c, xt):
            c = jnp.tanh(lin(jnp.concatenate([c, xt], -1)))
            return c, c

        return hk.scan(step, jnp.zeros([4]), x)[1]

    def stack_linear(x):
        return hk.layer_stack(3, name="layers")(lambda y: jax.nn.relu(hk.Linear(5)(y)))(x)

    def lift_mlp(x):
        inner = hk.transform(lambda y: hk.nets.MLP([3, 2])(y))

        class Outer(hk.Module):
            def __call__(self, y):
                p = hk.lift(inner.init)(hk.next_rng_key(), y)
                return inner.apply(p, None, y)

        return Outer()(x)

    def scoped_methods(x):
        class Enc(hk.Module):
            def __call__(self, y):
                with hk.name_scope("pre"):
                    y = hk.Linear(3)(y)
                return self.project(y)

            def project(self, y):
                return hk.Linear(2, name="proj_1")(y) + hk.Linear(2, name="proj")(y)

            @hk.transparent
            def skip(self, y):
                return hk.Linear(2)(y)

        e = Enc()
        return e(x) + e.skip(x) + hk.to_module(lambda y: hk.Linear(2)(y))(name="fn")(x)

    def remat_stack(x):
        return hk.remat(lambda y: hk.nets.MLP([4, 4])(y))(x)

    def batchnorm_scan(x):
        bn = hk.BatchNorm(True, True, 0.9)
        lin = hk.Linear(5)

        def step(c, xt):
            y = bn(lin(xt[None]) + c, is_training=True)
            return y, y

        return hk.scan(step, jnp.zeros([1, 5]), x)[1]

    def fori_state(x):
        counter = Counter()
        return hk.fori_loop(0, 3, lambda i, v: counter(v) * 0.5, x)

    def vmap_block(x):
        return hk.vmap(lambda y: RealBlock()(y), split_rng=False)(x)

    def remat_block(x):
        return hk.remat(lambda y: RealBlock()(y))(x)

    class IndexMap:
        def stacked_to_flat(self, stacked_module_name, scan_idx):
            return f"{stacked_module_name}_{scan_idx}"

        def flat_to_stacked(self, unstacked_module_name):
            base_name, _, idx = unstacked_module_name.rpartition("_")
            if not base_name or not idx.isdigit():
                return None
            return base_name, int(idx)

    def transparent_stack(x):
        class Stack(hk.Module):
            def __call__(self, y):
                stack = hk.layer_stack(3, transparent=True, transparency_map=IndexMap())
                return stack(lambda v: jnp.tanh(hk.Linear(5)(v)))(y)

        return Stack()(x)

    return {
        "transparent_stack": (transparent_stack, (2, 5)),
        "vmap_block": (vmap_block, (3, 5)),
        "remat_block": (remat_block, (2, 5)),
        "batchnorm_scan": (batchnorm_scan, (4, 5)),
        "fori_state": (fori_state, (2, 5)),
        "appendix_a": (appendix_a, (2, 5)),
        "dropout_mlp": (dropout_mlp, (2, 5)),
        "vmap_rng": (vmap_rng, (3, 5)),
        "scan_linear": (scan_linear, (6, 3)),
        "stack_linear": (stack_linear, (2, 5)),
        "lift_mlp": (lift_mlp, (2, 5)),
        "scoped_methods": (scoped_methods, (2, 5)),
        "remat_stack": (remat_stack, (2, 5)),
        "naming": (naming, (2, 5)),
        "shared": (shared, (2, 5)),
        "stateful": (stateful, (2, 5)),
        "vmapped": (vmapped, (3, 5)),
        "scanned": (scanned, (6, 3)),
        "conditional": (conditional, (2, 5)),
        "rematted": (rematted, (2, 5)),
        "lifted": (lifted, (2, 5)),
        "stacked": (stacked, (2, 5)),
        "getter": (getter, (2, 5)),
    }


OURS = catalogue(haiku_core)
# Models whose init draws keys in the same order as upstream: identical init values.
SAME_INIT_VALUES = {
    "appendix_a",
    "dropout_mlp",
    "vmap_rng",
    "scan_linear",
    "lift_mlp",
    "scoped_methods",
    "remat_stack",
    "naming",
    "shared",
    "stateful",
    "vmapped",
    "scanned",
    "conditional",
    "rematted",
    "lifted",
    "getter",
}  # layer_stack: trees and apply outputs match; per-layer init keys differ after layer 0.
THEIRS = catalogue(haiku)


def _layout(tree):
    return [(m, n, tuple(v.shape), str(v.dtype)) for m, b in tree.items() for n, v in b.items()]


@pytest.mark.parametrize("name", sorted(OURS))
def test_same_trees_and_outputs(name):
    f_ours, shape = OURS[name]
    f_theirs, _ = THEIRS[name]
    x = jnp.asarray(np.random.default_rng(0).normal(size=shape), jnp.float32)
    t_ours = haiku_core.transform_with_state(f_ours)
    t_theirs = haiku.transform_with_state(f_theirs)
    key = jax.random.PRNGKey(1)
    p_theirs, s_theirs = t_theirs.init(key, x)
    p_ours, s_ours = t_ours.init(key, x)
    assert _layout(p_ours) == _layout(p_theirs)
    assert _layout(s_ours) == _layout(s_theirs)
    if name in SAME_INIT_VALUES:
        for m, b in p_theirs.items():
            for n, v in b.items():
                np.testing.assert_allclose(
                    np.asarray(p_ours[m][n]), np.asarray(v), rtol=1e-6, err_msg=f"{m}/{n}"
                )
    y_theirs, ns_theirs = t_theirs.apply(p_theirs, s_theirs, key, x)
    y_ours, ns_ours = t_ours.apply(p_theirs, s_theirs, key, x)
    np.testing.assert_allclose(np.asarray(y_ours), np.asarray(y_theirs), rtol=1e-5, atol=1e-6)
    assert _layout(ns_ours) == _layout(ns_theirs)
    for m, b in ns_theirs.items():
        for n, v in b.items():
            np.testing.assert_allclose(np.asarray(ns_ours[m][n]), np.asarray(v), rtol=1e-5)


def test_rng_streams_identical():
    def make(hk):
        def draws(x):
            a = hk.next_rng_key()
            b = hk.next_rng_keys(3)
            c = hk.vmap(lambda y: y + jax.random.normal(hk.next_rng_key(), ()), split_rng=True)(x)
            d = hk.maybe_next_rng_key()
            return a, b, c, d

        return draws

    x = jnp.zeros([4])
    key = jax.random.PRNGKey(3)
    ours = haiku_core.transform(make(haiku_core)).apply({}, key, x)
    theirs = haiku.transform(make(haiku)).apply({}, key, x)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    s_ours, s_theirs = haiku_core.PRNGSequence(7), haiku.PRNGSequence(7)
    s_ours.reserve(3)
    s_theirs.reserve(3)
    for _ in range(5):
        np.testing.assert_array_equal(np.asarray(next(s_ours)), np.asarray(next(s_theirs)))


def test_multi_transform_same_trees_and_outputs():
    def make(hk):
        def f():
            enc, dec = hk.Linear(3, name="enc"), hk.nets.MLP([4, 2], name="dec")

            def encode(x):
                return enc(x)

            def decode(z):
                return dec(z)

            return (lambda x: decode(encode(x))), (encode, decode)

        return f

    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 5)), jnp.float32)
    ours = haiku_core.multi_transform(make(haiku_core))
    theirs = haiku.multi_transform(make(haiku))
    key = jax.random.PRNGKey(0)
    p_theirs = theirs.init(key, x)
    p_ours = ours.init(key, x)
    assert _layout(p_ours) == _layout(p_theirs)
    z_t = theirs.apply[0](p_theirs, None, x)
    np.testing.assert_allclose(ours.apply[0](p_theirs, None, x), z_t, rtol=1e-6)
    np.testing.assert_allclose(
        ours.apply[1](p_theirs, None, z_t), theirs.apply[1](p_theirs, None, z_t), rtol=1e-6
    )
