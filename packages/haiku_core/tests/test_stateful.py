"""State-threading JAX wrappers (hk.vmap, hk.scan, ...) and raw-transform misuse detection."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src.errors import JaxUsageError


class Dense(hk.Module):
    def __init__(self, out, name=None):
        super().__init__(name=name)
        self.out = out

    def __call__(self, x):
        w = hk.get_parameter(
            "w",
            [x.shape[-1], self.out],
            x.dtype,
            init=lambda s, d: jax.random.normal(hk.next_rng_key(), s, d),
        )
        return x @ w


class Counter(hk.Module):
    def __call__(self, x):
        c = hk.get_state("count", [], jnp.int32, init=jnp.zeros)
        hk.set_state("count", c + 1)
        return x


XS = np.arange(12, dtype=np.float32).reshape(4, 3) / 10


def _w(params, name="dense"):
    return np.asarray(params[name]["w"])


def test_vmap_maps_inputs_not_params():
    t = hk.transform(lambda x: hk.vmap(lambda y: Dense(2)(y), split_rng=False)(x))
    params = t.init(jax.random.PRNGKey(0), XS)
    assert params["dense"]["w"].shape == (3, 2)
    out = t.apply(params, None, XS)
    np.testing.assert_allclose(out, np.stack([row @ _w(params) for row in XS]), rtol=1e-5)


def test_vmap_split_rng_false_shares_keys_true_gives_distinct_keys():
    def f(x, split):
        return hk.vmap(lambda y: y + jax.random.normal(hk.next_rng_key(), ()), split_rng=split)(x)

    key = jax.random.PRNGKey(1)
    x = jnp.zeros([3])
    same = hk.transform(lambda x: f(x, False)).apply({}, key, x)
    diff = hk.transform(lambda x: f(x, True)).apply({}, key, x)
    nk = jax.random.split(key)[1]
    np.testing.assert_allclose(same, np.full([3], float(jax.random.normal(nk, ()))), rtol=1e-6)
    keys = jax.random.split(key, 4)[1:]
    expected = [float(jax.random.normal(jax.random.split(k)[1], ())) for k in keys]
    np.testing.assert_allclose(diff, expected, rtol=1e-6)


def test_vmap_split_rng_true_in_init_raises():
    t = hk.transform(lambda x: hk.vmap(lambda y: Dense(2)(y), split_rng=True)(x))
    with pytest.raises(ValueError, match=r"split_rng=True.*not hk.running_init"):
        t.init(jax.random.PRNGKey(0), XS)


def test_vmap_requires_split_rng_keyword():
    with pytest.raises(TypeError):
        hk.vmap(lambda x: x)  # type: ignore[call-arg]


def test_scan_matches_python_loop_and_threads_state():
    def f(xs):
        cell = Dense(3, name="cell")
        counter = Counter()

        def step(c, x):
            counter(x)
            c = jnp.tanh(cell(c + x))
            return c, c

        return hk.scan(step, jnp.zeros([3]), xs)

    t = hk.transform_with_state(f)
    params, state = t.init(jax.random.PRNGKey(0), XS)
    (final, ys), new_state = t.apply(params, state, None, XS)
    w = _w(params, "cell")
    c = np.zeros(3, np.float32)
    outs = []
    for x in XS:
        c = np.tanh((c + x) @ w)
        outs.append(c)
    np.testing.assert_allclose(ys, np.stack(outs), rtol=1e-5)
    np.testing.assert_allclose(final, outs[-1], rtol=1e-5)
    assert int(new_state["counter"]["count"]) == int(state["counter"]["count"]) + 4


def test_scan_draws_fresh_key_each_step():
    def f(xs):
        return hk.scan(lambda c, x: (c, jax.random.normal(hk.next_rng_key(), ())), 0, xs)[1]

    out = hk.transform(f).apply({}, jax.random.PRNGKey(0), XS)
    assert len(set(np.asarray(out).tolist())) == 4


def test_map_fori_loop_while_loop():
    def f(xs):
        d = Dense(3)
        ys = hk.map(d, xs)
        v = hk.fori_loop(0, 3, lambda i, v: d(v), xs[0])
        if not hk.running_init():
            w = hk.while_loop(lambda v: v.sum() < 100.0, lambda v: v * 2.0, jnp.ones([3]))
        else:
            w = jnp.ones([3])
        return ys, v, w

    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), XS)
    ys, v, w = t.apply(params, None, XS)
    wm = _w(params)
    np.testing.assert_allclose(ys, XS @ wm, rtol=1e-5)
    np.testing.assert_allclose(v, XS[0] @ wm @ wm @ wm, rtol=1e-4)
    np.testing.assert_allclose(w, np.full([3], 64.0))


def test_while_loop_refuses_init():
    t = hk.transform(lambda: hk.while_loop(lambda v: v < 3, lambda v: v + 1, 0))
    with pytest.raises(ValueError, match=r"^haiku_core\.while_loop: cannot be used during init"):
        t.init(None)


def test_cond_and_switch_pick_branch_and_thread_state():
    def f(x, i):
        a, b = Dense(2, name="a"), Dense(2, name="b")
        counter = Counter()
        if hk.running_init():
            # Under init every branch must create the same params/state (as upstream).
            a(x), b(x), counter(x)

        def branch_a(y):
            counter(y)
            return a(y)

        y = hk.cond(i > 0, branch_a, b, x)
        z = hk.switch(i, [b, a], x)
        return y, z

    t = hk.transform_with_state(f)
    params, state = t.init(jax.random.PRNGKey(0), XS, 1)
    (y1, z1), s1 = t.apply(params, state, None, XS, 1)
    (y0, z0), s0 = t.apply(params, state, None, XS, 0)
    wa, wb = _w(params, "a"), _w(params, "b")
    np.testing.assert_allclose(y1, XS @ wa, rtol=1e-5)
    np.testing.assert_allclose(y0, XS @ wb, rtol=1e-5)
    np.testing.assert_allclose(z1, XS @ wa, rtol=1e-5)
    np.testing.assert_allclose(z0, XS @ wb, rtol=1e-5)
    assert int(s1["counter"]["count"]) == int(state["counter"]["count"]) + 1
    assert int(s0["counter"]["count"]) == int(state["counter"]["count"])


def test_remat_same_values_and_grads():
    def f(x, use_remat):
        g = lambda y: jnp.tanh(Dense(3)(y))
        return (hk.remat(g) if use_remat else g)(x).sum()

    plain, rem = hk.transform(lambda x: f(x, False)), hk.transform(lambda x: f(x, True))
    params = rem.init(jax.random.PRNGKey(0), XS)
    assert list(params) == list(plain.init(jax.random.PRNGKey(0), XS)) == ["dense"]
    g1 = jax.grad(lambda p: plain.apply(p, None, XS))(params)
    g2 = jax.grad(lambda p: rem.apply(p, None, XS))(params)
    np.testing.assert_allclose(g1["dense"]["w"], g2["dense"]["w"], rtol=1e-5)


def test_grad_and_value_and_grad_wrt_inputs():
    def f(x):
        d = Dense(1)

        def loss(y):
            return d(y).sum()

        v, g = hk.value_and_grad(loss)(x)
        g2 = hk.grad(loss)(x)
        return v, g, g2

    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), XS)
    v, g, g2 = t.apply(params, None, XS)
    w = _w(params)
    np.testing.assert_allclose(v, (XS @ w).sum(), rtol=1e-5)
    np.testing.assert_allclose(g, np.broadcast_to(w[:, 0], XS.shape), rtol=1e-5)
    np.testing.assert_allclose(g2, g)


def test_eval_shape_drops_state_changes():
    def f(x):
        counter = Counter()
        counter(x)
        shape = hk.eval_shape(lambda y: counter(y) * 2, x)
        return shape

    t = hk.transform_with_state(f)
    params, state = t.init(None, XS)
    shape, new_state = t.apply(params, state, None, XS)
    assert shape.shape == XS.shape
    assert int(new_state["counter"]["count"]) == int(state["counter"]["count"]) + 1


# --------------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    "raw,hint",
    [
        (lambda g: lambda x: jax.jit(g)(x), "hk.vmap"),
        (lambda g: lambda x: jax.lax.scan(lambda c, y: (c, g(y)), 0, x)[1], "hk.scan"),
        (lambda g: lambda x: jax.checkpoint(g)(x), "hk.remat"),
        (lambda g: lambda x: jax.lax.map(g, x), "hk.map"),
        (
            lambda g: lambda x: jax.lax.cond(True, g, lambda y: jnp.zeros([4, 2]), x),
            "hk.cond",
        ),
    ],
)
def test_raw_jax_transform_creating_params_in_init_raises(raw, hint):
    t = hk.transform(lambda x: raw(lambda y: Dense(2)(y))(x))
    with pytest.raises(JaxUsageError, match=rf"raw JAX transform.*{hint}"):
        t.init(jax.random.PRNGKey(0), XS)


def test_raw_vmap_setting_state_raises():
    def f(x):
        return jax.vmap(lambda y: hk.set_state("s", y))(x)

    with pytest.raises(JaxUsageError, match=r"state '~/s' was set inside a raw JAX transform"):
        hk.transform_with_state(f).init(None, XS)


def test_raw_jit_drawing_rng_in_apply_raises():
    def f(x):
        return jax.jit(lambda y: y + jax.random.normal(hk.next_rng_key(), y.shape))(x)

    t = hk.transform(f)
    with pytest.raises(JaxUsageError, match=r"rng sequence.*hk\.vmap"):
        t.apply({}, jax.random.PRNGKey(0), XS)


def test_raw_jit_setting_state_in_apply_raises():
    def f(x):
        jax.jit(lambda y: hk.set_state("s", y))(x)
        return x

    t = hk.transform_with_state(f)
    with pytest.raises(JaxUsageError, match=r"state '~/s'"):
        t.apply({}, {}, None, XS)


def test_legitimate_outer_transforms_do_not_trigger_misuse_checks():
    t = hk.transform(lambda x: Dense(2)(x) + jax.random.normal(hk.next_rng_key(), ()))
    params = jax.jit(t.init)(jax.random.PRNGKey(0), XS)
    jax.jit(t.apply)(params, jax.random.PRNGKey(1), XS)
    jax.vmap(t.apply, in_axes=(None, None, 0))(params, jax.random.PRNGKey(1), XS)
    jax.grad(lambda p: t.apply(p, jax.random.PRNGKey(1), XS).sum())(params)
    jax.jit(lambda: t.init(42, XS))()
    ts = hk.transform_with_state(lambda: hk.set_state("s", jnp.ones([2]) * 2))
    jax.jit(lambda: ts.apply({}, {}, None))()


def test_check_jax_usage_raises_at_the_store_in_apply():
    reached = []

    def f(x):
        jax.jit(lambda y: hk.set_state("s", y))(x)
        reached.append(True)  # not reached when the check fires inside the jit
        return x

    t = hk.transform_with_state(f)
    with hk.config.context(check_jax_usage=True):
        with pytest.raises(JaxUsageError, match=r"raw JAX"):
            t.apply({}, {}, None, XS)
        assert reached == []
        # Whole-function JAX transforms stay legal with the check on.
        g = hk.transform_with_state(lambda x: hk.set_state("s", x * 2))
        _, state = jax.jit(g.apply)({}, {}, None, XS)
        np.testing.assert_allclose(state["~"]["s"], XS * 2)


def test_check_jax_usage_flags_raw_vmap_around_modules():
    def raw(x):
        return jax.vmap(lambda y: Dense(2)(y))(x)

    def wrapped(x):
        return hk.vmap(lambda y: Dense(2)(y), split_rng=False)(x)

    # Harmless by default (params do not depend on the mapped values), like dm-haiku.
    assert hk.transform(raw).init(jax.random.PRNGKey(0), XS)["dense"]["w"].shape == (3, 2)
    with hk.config.context(check_jax_usage=True):
        with pytest.raises(
            JaxUsageError,
            match=r"^haiku_core\.Module 'dense': __call__ was called with traced inputs",
        ):
            hk.transform(raw).init(jax.random.PRNGKey(0), XS)
        t = hk.transform(wrapped)
        params = t.init(jax.random.PRNGKey(0), XS)
        jax.jit(t.apply)(params, None, XS)
        jax.jit(t.init)(jax.random.PRNGKey(0), XS)


def test_vmap_in_axes_out_axes_and_kwargs():
    def f(x, y, *, scale):
        d = Dense(2)
        return hk.vmap(
            lambda a, b, scale: d(a) * scale + b, in_axes=(0, None), out_axes=1, split_rng=False
        )(x, y, scale=scale)

    t = hk.transform(f)
    y = np.ones([2], np.float32)
    scale = np.full([4, 1], 2.0, np.float32)
    params = t.init(jax.random.PRNGKey(0), XS, y, scale=scale)
    out = t.apply(params, None, XS, y, scale=scale)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out, (XS @ _w(params) * 2.0 + 1.0).T, rtol=1e-5)


@pytest.mark.multidevice
def test_pmap_with_state_and_cross_device_mean():
    assert jax.device_count() == 8

    def f(x):
        mean = jax.lax.pmean(x.mean(), axis_name="i")
        hk.set_state("mean", mean)
        return hk.vmap(lambda y: Dense(2)(y), split_rng=False)(x)

    t = hk.transform_with_state(f)
    xs = np.stack([XS + i for i in range(8)])
    params, state = jax.pmap(t.init, axis_name="i", in_axes=(None, 0))(jax.random.PRNGKey(0), xs)
    out, new_state = jax.pmap(t.apply, axis_name="i")(params, state, None, xs)
    np.testing.assert_allclose(new_state["~"]["mean"], np.full([8], xs.mean()), rtol=1e-5)
    w = np.asarray(params["dense"]["w"][0])
    np.testing.assert_allclose(out[3], xs[3] @ w, rtol=1e-5)


# --------------------------------------------------------------------------- branches, remat, scan


@pytest.mark.parametrize("n", [1, 2, 4])
def test_switch_and_cond_trace_each_distinct_branch_once(n):
    calls = {"f": 0, "g": 0}

    def f(x):
        calls["f"] += 1
        return x**2

    def g(x):
        calls["g"] += 1
        return x**2

    def fwd():
        a = hk.switch(0, [f, g] * n, 2)
        b = hk.cond(False, f, f, 3)
        return a, b

    # One trace per distinct function per call (f: once in switch, once in cond).
    t = hk.transform(fwd)
    t.init(None)
    assert calls == {"f": 2, "g": 1}
    calls.update(f=0, g=0)
    a, b = t.apply({}, None)
    assert calls == {"f": 2, "g": 1}
    assert int(a) == 4 and int(b) == 9


def test_cond_and_switch_in_init_reject_branches_creating_different_params():
    def make(use_switch, make_state):
        def creates(x):
            if make_state:
                hk.set_state("s", hk.get_state("s", [], jnp.int32, init=jnp.zeros) + 1)
                return x
            return x * hk.get_parameter("w", [], jnp.float32, init=jnp.ones)

        def fwd(x):
            if use_switch:
                return hk.switch(0, [creates, lambda y: y], x)
            return hk.cond(False, creates, lambda y: y, x)

        return hk.transform_with_state(fwd)

    # dm-haiku 0.0.17 raises TypeError (branch output structures differ) in all four.
    for use_switch in (False, True):
        for make_state in (False, True):
            name = "haiku_core.switch" if use_switch else "haiku_core.cond"
            with pytest.raises(TypeError, match=rf"^{name}: under init every branch"):
                make(use_switch, make_state).init(None, jnp.float32(1))


def test_cond_in_init_takes_params_from_the_selected_branch():
    def fwd(x, pred):
        def t(y):
            return y * hk.get_parameter("v", [], jnp.float32, init=jnp.ones)

        def f(y):
            return y * hk.get_parameter("v", [], jnp.float32, init=jnp.zeros)

        return hk.cond(pred, t, f, x)

    tr = hk.transform(fwd)
    # dm-haiku 0.0.17 gives v == 1.0 for pred=True and v == 0.0 for pred=False.
    assert float(tr.init(None, jnp.float32(2), True)["~"]["v"]) == 1.0
    assert float(tr.init(None, jnp.float32(2), False)["~"]["v"]) == 0.0


class _IntPower(hk.Module):
    def __call__(self, x):
        p = hk.get_parameter("p", [], jnp.int32, init=lambda *_: jnp.array(2))
        y = x**p
        hk.set_state("y", y)
        return y


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("outer_remat", [False, True])
def test_modules_created_inside_remat_get_array_params_and_fresh_names(inline, outer_remat):
    names = []

    def fwd(x):
        def layer(y):
            m = _IntPower(name="layer")
            names.append(m.module_name)
            return m(y)

        wrapped = hk.remat(layer)
        for _ in range(2):
            x = (hk.remat(layer) if inline else wrapped)(x)
        return x

    t = hk.transform_with_state(fwd)
    x = jnp.float32(3)
    params, state = t.init(None, x)
    assert names == ["layer", "layer_1"]
    for name in ("layer", "layer_1"):
        p = params[name]["p"]
        assert isinstance(p, jax.Array) and p.shape == () and p.dtype == jnp.int32
        assert int(p) == 2
    names.clear()
    grad_fn = jax.grad(lambda x: t.apply(params, state, None, x)[0])
    if outer_remat:
        grad_fn = jax.checkpoint(grad_fn)
    # out = (x**2)**2 = x**4, so d/dx = 4 x**3 = 108 at x = 3.
    np.testing.assert_allclose(grad_fn(x), 4 * 3.0**3, rtol=1e-6)
    assert names == ["layer", "layer_1"]


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_over_zero_length_xs_in_init_and_apply(reverse):
    def fwd(xs):
        m = Counter()

        def step(c, x):
            return c, m(x) ** 2

        return hk.scan(step, (), xs, reverse=reverse)[1]

    t = hk.transform_with_state(fwd)
    xs = jnp.zeros([0, 3], jnp.float32)
    params, state = t.init(None, xs)
    assert list(state) == ["counter"] and int(state["counter"]["count"]) == 0
    ys, state = t.apply(params, state, None, xs)
    assert ys.shape == (0, 3) and ys.dtype == jnp.float32
    assert int(state["counter"]["count"]) == 0
    ys, state = t.apply(params, state, None, jnp.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(ys, np.arange(6.0).reshape(2, 3) ** 2)
    assert int(state["counter"]["count"]) == 2


@pytest.mark.parametrize("effect", ["set_state", "next_rng_key"])
def test_while_loop_cond_fun_may_not_set_state_or_draw_keys(effect):
    def fwd(x):
        c = Counter()
        if hk.running_init():
            return c(x)
        cond_fun = c if effect == "set_state" else (lambda _: hk.next_rng_key())
        return hk.while_loop(cond_fun, lambda v: v, x)

    t = hk.transform_with_state(fwd)
    params, state = t.init(None, jnp.float32(0))
    # dm-haiku 0.0.17 raises ValueError here (not JAX's TypeError about cond output).
    with pytest.raises(ValueError, match=r"^haiku_core\.while_loop: `cond_fun`"):
        t.apply(params, state, jax.random.PRNGKey(0), jnp.float32(0))


def test_while_loop_cond_fun_reads_state_from_before_the_loop():
    def fwd(x):
        hk.get_state("count", [], jnp.int32, init=jnp.zeros)
        if hk.running_init():
            return x

        def body(v):
            hk.set_state("count", hk.get_state("count") + 1)
            return v * 2

        return hk.while_loop(lambda v: (hk.get_state("count") < 3) & (v < 100), body, x)

    t = hk.transform_with_state(fwd)
    params, state = t.init(None, jnp.float32(1))
    out, state = t.apply(params, state, None, jnp.float32(1))
    # dm-haiku 0.0.17 gives out == 128 and count == 7: cond_fun sees count == 0 (its
    # value before the loop) on every step, so only `v < 100` stops the loop.
    assert float(out) == 128.0 and int(state["~"]["count"]) == 7
