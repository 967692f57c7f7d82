"""hk.Module naming, scoping, name_scope, interception helpers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src.module import camel_to_snake


class Linear(hk.Module):
    """Minimal dense layer built from get_parameter (default name "linear")."""

    def __init__(self, out, name=None):
        super().__init__(name=name)
        self.out = out

    def __call__(self, x):
        w = hk.get_parameter(
            "w", [x.shape[-1], self.out], x.dtype, init=lambda s, d: jnp.ones(s, d) * 0.5
        )
        b = hk.get_parameter("b", [self.out], x.dtype, init=jnp.zeros)
        y = x @ w
        return y + jnp.broadcast_to(b, y.shape)


class MLP(hk.Module):
    def __init__(self, sizes, name=None):
        super().__init__(name=name)
        self.layers = [Linear(s, name=f"linear_{i}") for i, s in enumerate(sizes)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Block(hk.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.proj = Linear(3)

    def __call__(self, x):
        x = self.proj(x)
        x = Linear(2)(x)
        x = Linear(2)(x)
        scale = hk.get_parameter("scale", [2], init=jnp.ones)
        y = self.head(x)
        return y * jnp.broadcast_to(scale, y.shape)

    def head(self, x):
        return Linear(2)(x)


def appendix_a(x):
    a = Block()(x)
    b = Block()(x)
    c = Block(name="custom")(x)
    t = hk.get_parameter("top", [1], init=jnp.zeros)
    with hk.name_scope("scope"):
        s = Linear(1)(x)
    m = MLP([4, 3])(x)
    del t, s, m
    return a + b + c


APPENDIX_A = [
    ("block/~/linear", "w", (5, 3)),
    ("block/~/linear", "b", (3,)),
    ("block/linear", "w", (3, 2)),
    ("block/linear", "b", (2,)),
    ("block/linear_1", "w", (2, 2)),
    ("block/linear_1", "b", (2,)),
    ("block", "scale", (2,)),
    ("block/~head/linear", "w", (2, 2)),
    ("block/~head/linear", "b", (2,)),
    ("block_1/~/linear", "w", (5, 3)),
    ("block_1/~/linear", "b", (3,)),
    ("block_1/linear", "w", (3, 2)),
    ("block_1/linear", "b", (2,)),
    ("block_1/linear_1", "w", (2, 2)),
    ("block_1/linear_1", "b", (2,)),
    ("block_1", "scale", (2,)),
    ("block_1/~head/linear", "w", (2, 2)),
    ("block_1/~head/linear", "b", (2,)),
    ("custom/~/linear", "w", (5, 3)),
    ("custom/~/linear", "b", (3,)),
    ("custom/linear", "w", (3, 2)),
    ("custom/linear", "b", (2,)),
    ("custom/linear_1", "w", (2, 2)),
    ("custom/linear_1", "b", (2,)),
    ("custom", "scale", (2,)),
    ("custom/~head/linear", "w", (2, 2)),
    ("custom/~head/linear", "b", (2,)),
    ("~", "top", (1,)),
    ("scope/linear", "w", (5, 1)),
    ("scope/linear", "b", (1,)),
    ("mlp/~/linear_0", "w", (5, 4)),
    ("mlp/~/linear_0", "b", (4,)),
    ("mlp/~/linear_1", "w", (4, 3)),
    ("mlp/~/linear_1", "b", (3,)),
]


def _layout(params):
    return [(m, n, tuple(v.shape)) for m, b in params.items() for n, v in b.items()]


def test_appendix_a_naming_snapshot_in_creation_order():
    params = hk.transform(appendix_a).init(jax.random.PRNGKey(0), jnp.ones([2, 5]))
    assert _layout(params) == APPENDIX_A
    assert type(params) is dict and all(type(b) is dict for b in params.values())


def test_appendix_a_apply_reuses_names():
    t = hk.transform(appendix_a)
    x = jnp.ones([2, 5])
    params = t.init(None, x)
    out = t.apply(params, None, x)
    # Every Linear has w = 0.5, b = 0, scale = 1: block(x) = x.sum * .5**4 * 3*2*2 per unit.
    expected = np.full([2, 2], 3 * (5 * 0.5 * 3 * 0.5 * 2 * 0.5 * 2 * 0.5 * 2 * 0.5))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "cls_name,expected",
    [
        ("Conv2D", "conv2_d"),
        ("Conv2DTranspose", "conv2_d_transpose"),
        ("Conv1DLSTM", "conv1_dlstm"),
        ("MLP", "mlp"),
        ("ResNet18", "res_net18"),
        ("MobileNetV1", "mobile_net_v1"),
        ("SNParamsTree", "sn_params_tree"),
        ("RMSNorm", "rms_norm"),
        ("MultiHeadAttention", "multi_head_attention"),
        ("Linear", "linear"),
    ],
)
def test_snake_case_default_names(cls_name, expected):
    assert camel_to_snake(cls_name) == expected
    cls = type(cls_name, (hk.Module,), {"__call__": lambda self: None})
    names = []
    hk.transform(lambda: names.append(cls().module_name)).init(None)
    assert names == [expected]


def _names(f):
    out = []
    hk.transform(lambda: out.extend(f())).init(None)
    return out


def test_explicit_numbered_name_moves_counter():
    names = _names(
        lambda: [
            Linear(1, name="linear_1").module_name,
            Linear(1).module_name,
            Linear(1).module_name,
        ]
    )
    assert names == ["linear_1", "linear_2", "linear_3"]


def test_repeated_explicit_names_get_suffixes():
    assert _names(lambda: [Linear(1, name="foo").module_name for _ in range(3)]) == [
        "foo",
        "foo_1",
        "foo_2",
    ]


def test_same_explicit_numbered_name_twice_raises():
    with pytest.raises(ValueError, match=r"'linear_0' is not unique"):
        _names(lambda: [Linear(1, name="linear_0"), Linear(1, name="linear_0")])


def test_invalid_name_raises():
    with pytest.raises(ValueError, match=r"invalid module name 'a/b'"):
        _names(lambda: [Linear(1, name="a/b")])


def test_module_name_and_name_properties():
    class Outer(hk.Module):
        def __init__(self):
            super().__init__()
            self.inner = Linear(1)

        def __call__(self):
            return self.inner

    out = _names(lambda: [Outer()()])
    assert out[0].module_name == "outer/~/linear"
    assert out[0].name == "linear"


def test_modules_created_in_call_are_shared_between_calls():
    class Twice(hk.Module):
        def __call__(self, x):
            return Linear(2)(x)

    def f(x):
        m = Twice()
        return m(x) + m(x)

    params = hk.transform(f).init(None, jnp.ones([1, 3]))
    assert list(params) == ["twice/linear"]


def test_same_instance_called_twice_shares_params():
    def f(x):
        m = Linear(2)
        return m(x) + m(x)

    t = hk.transform(f)
    params = t.init(None, jnp.ones([1, 3]))
    assert list(params) == ["linear"]
    np.testing.assert_allclose(t.apply(params, None, jnp.ones([1, 3])), np.full([1, 2], 3.0))


def test_top_level_module_called_inside_other_keeps_top_level_name():
    class Wrapper(hk.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def __call__(self, x):
            return self.layer(x)

    def f(x):
        return Wrapper(Linear(2))(x)

    assert list(hk.transform(f).init(None, jnp.ones([1, 3]))) == ["linear"]


def test_name_scope_behaves_like_module_scope():
    def f(x):
        with hk.name_scope("a"):
            Linear(1)(x)
            hk.get_parameter("p", [1], init=jnp.zeros)
            assert hk.current_name() == "a"
        with hk.name_scope("a"):
            Linear(1)(x)
        with hk.name_scope("a/b"):
            Linear(1)(x)
            assert hk.current_name() == "a_2/b"
        assert hk.current_name() == "~"
        return x

    params = hk.transform(f).init(None, jnp.ones([1, 2]))
    assert list(params) == ["a/linear", "a", "a_1/linear", "a_2/b/linear"]


def test_name_scope_inside_module_restarts_per_call():
    class M(hk.Module):
        def __call__(self, x):
            with hk.name_scope("inner"):
                hk.get_parameter("q", [1], init=jnp.zeros)
                assert hk.current_name() == "m/inner"
            return x

    def f(x):
        m = M()
        m(x)
        return m(x)

    assert list(hk.transform(f).init(None, jnp.ones([1]))) == ["m/inner"]


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a b"])
def test_name_scope_rejects_bad_names(bad):
    def f():
        with hk.name_scope(bad):
            pass

    with pytest.raises(ValueError, match="invalid scope name"):
        hk.transform(f).init(None)


def test_experimental_name_scope_is_the_same_object():
    assert hk.experimental.name_scope is hk.name_scope


def test_force_name_shares_params():
    def f(x):
        a = Linear(2, name="shared")
        a(x)
        b = Linear(2, name=hk.force_name("shared"))
        assert b.module_name == "shared"
        return b(x)

    assert list(hk.transform(f).init(None, jnp.ones([1, 3]))) == ["shared"]


def test_transparent_method_names_like_caller():
    class T(hk.Module):
        @hk.transparent
        def __call__(self, x):
            return Linear(2)(x)

    def f(x):
        return T()(x)

    assert list(hk.transform(f).init(None, jnp.ones([1, 3]))) == ["linear"]


def test_name_like_uses_other_method_scope():
    class N(hk.Module):
        def __call__(self, x):
            return Linear(2)(x)

        @hk.name_like("__call__")
        def encode(self, x):
            return Linear(2)(x)

    def f(x):
        n = N()
        return n.encode(x) + n(x)

    assert list(hk.transform(f).init(None, jnp.ones([1, 3]))) == ["n/linear"]


def test_to_module_and_deferred():
    def double(x):
        return 2 * hk.get_parameter("s", [], init=jnp.ones) * x

    Double = hk.to_module(double)

    class Parent(hk.Module):
        def __call__(self, d, x):
            return d(x)

    def f(x):
        y = Double(name="dbl")(x)
        d = hk.Deferred(lambda: Linear(1))
        return Parent()(d, y)

    params = hk.transform(f).init(None, jnp.ones([1, 2]))
    assert list(params) == ["dbl", "parent/linear"]
    assert issubclass(Double, hk.Module)


def test_params_dict_and_state_dict():
    class S(hk.Module):
        def __call__(self, x):
            hk.set_state("count", jnp.zeros([]))
            return Linear(2)(x)

    seen = {}

    def f(x):
        s = S()
        s(x)
        seen["params"] = sorted(s.params_dict())
        seen["state"] = sorted(s.state_dict())
        return x

    hk.transform_with_state(f).init(None, jnp.ones([1, 3]))
    assert seen == {"params": ["s/linear/b", "s/linear/w"], "state": ["s/count"]}


def test_module_outside_transform_raises():
    with pytest.raises(ValueError, match=r"must be created inside a function transformed with"):
        Linear(2)


def test_missing_super_init_raises():
    class Bad(hk.Module):
        def __init__(self):
            pass

    with pytest.raises(ValueError, match=r"did not call `super\(\).__init__"):
        hk.transform(lambda: Bad()).init(None)


def test_submodule_before_super_init_raises():
    class Bad(hk.Module):
        def __init__(self):
            self.child = Linear(1)
            super().__init__()

    with pytest.raises(ValueError, match=r"before calling `super\(\).__init__"):
        hk.transform(lambda: Bad()).init(None)


def test_intercept_methods_sees_calls_in_order_and_can_change_args():
    log = []

    def interceptor(next_f, args, kwargs, ctx):
        if ctx.method_name == "__init__":
            # Constructors are intercepted too (before the module has a name).
            log.append(("<init>", ctx.method_name, type(ctx.module).__name__))
            return next_f(*args, **kwargs)
        log.append((ctx.module.module_name, ctx.method_name, type(ctx.module).__name__))
        if isinstance(ctx.module, Linear):
            args = (args[0] * 0,)
        return next_f(*args, **kwargs)

    def f(x):
        with hk.intercept_methods(interceptor):
            return Block()(x)

    t = hk.transform(f)
    x = jnp.ones([1, 5])
    params = t.init(None, x)
    log.clear()
    out = t.apply(params, None, x)
    # Same sequence as dm-haiku 0.0.17 gives for this model (checked by hand).
    assert log == [
        ("<init>", "__init__", "Block"),
        ("<init>", "__init__", "Linear"),
        ("block", "__call__", "Block"),
        ("block/~/linear", "__call__", "Linear"),
        ("<init>", "__init__", "Linear"),
        ("block/linear", "__call__", "Linear"),
        ("<init>", "__init__", "Linear"),
        ("block/linear_1", "__call__", "Linear"),
        ("block", "head", "Block"),
        ("<init>", "__init__", "Linear"),
        ("block/~head/linear", "__call__", "Linear"),
    ]
    np.testing.assert_allclose(out, np.zeros([1, 2]))


def test_method_context_fields():
    ctxs = []

    def interceptor(next_f, args, kwargs, ctx):
        ctxs.append(ctx)
        return next_f(*args, **kwargs)

    def f(x):
        with hk.intercept_methods(interceptor):
            return Linear(2)(x)

    hk.transform(f).init(None, jnp.ones([1, 3]))
    init_ctx, ctx = ctxs
    assert init_ctx.method_name == "__init__" and init_ctx.orig_class is Linear
    assert isinstance(ctx, hk.MethodContext)
    assert ctx.method_name == "__call__" and ctx.orig_class is Linear
    assert ctx.module.module_name == "linear"


def test_appendix_a_with_real_linear_and_mlp():
    """The API file's worked example, verbatim, with hk.Linear and hk.nets.MLP."""

    class RealBlock(hk.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.proj = hk.Linear(3)

        def __call__(self, x):
            x = self.proj(x)
            x = hk.Linear(2)(x)
            x = hk.Linear(2)(x)
            scale = hk.get_parameter("scale", [2], init=jnp.ones)
            y = self.head(x)
            return y * jnp.broadcast_to(scale, y.shape)

        def head(self, x):
            return hk.Linear(2)(x)

    def f(x):
        a = RealBlock(name="block")(x)
        b = RealBlock(name="block")(x)
        c = RealBlock(name="custom")(x)
        hk.get_parameter("top", [1], init=jnp.zeros)
        with hk.name_scope("scope"):
            hk.Linear(1)(x)
        hk.nets.MLP([4, 3])(x)
        return a + b + c

    def zeros_init(x):
        # Cheap initializers (no per-shape compilation); names/order are unaffected.
        def creator(next_creator, shape, dtype, init, context):
            return next_creator(shape, dtype, jnp.zeros)

        with hk.custom_creator(creator):
            return f(x)

    params = hk.transform(zeros_init).init(jax.random.PRNGKey(0), jnp.ones([2, 5]))
    assert _layout(params) == APPENDIX_A


def test_auto_repr_shows_explicit_constructor_args():
    class M(hk.Module):
        def __init__(self, a, b=2, name=None):
            super().__init__(name=name)

    reprs = []

    def f():
        reprs.append(repr(M(1)))
        reprs.append(repr(M(1, b=5, name="x")))
        with hk.config.context(module_auto_repr=False):
            reprs.append(repr(M(1)))

    hk.transform(f).init(None)
    assert reprs[:2] == ["M(a=1)", "M(a=1, b=5, name='x')"]
    assert reprs[2].startswith("<") and "object at" in reprs[2]


def test_module_classes_expose_their_init_signature():
    # The metaclass's __call__ must not hide constructor signatures from users and IDEs.
    import inspect

    import haiku_core as hk

    assert list(inspect.signature(hk.Linear).parameters) == [
        "output_size",
        "with_bias",
        "w_init",
        "b_init",
        "name",
    ]
    assert "hidden_size" in inspect.signature(hk.GRU).parameters


def test_intercept_methods_sees_constructors_with_constructed_class():
    class A(hk.Module):
        def __call__(self):
            return None

    class B(A):
        def __call__(self):
            return super().__call__()

    class C(B):
        def __init__(self, name=None):
            super().__init__(name=name)

    log = []

    def interceptor(next_f, args, kwargs, ctx):
        log.append((type(ctx.module), ctx.orig_class, ctx.method_name))
        return next_f(*args, **kwargs)

    def f():
        with hk.intercept_methods(interceptor):
            B()()
            C()()

    hk.transform(f).init(None)
    # dm-haiku 0.0.17 gives this list (one __init__ entry per construction whose
    # orig_class is the class being built; hk.Module.__init__ itself is not listed).
    assert log == [
        (B, B, "__init__"),
        (B, B, "__call__"),
        (B, A, "__call__"),
        (C, C, "__init__"),
        (C, B, "__call__"),
        (C, A, "__call__"),
    ]


def test_intercept_methods_constructor_can_change_args():
    def interceptor(next_f, args, kwargs, ctx):
        if ctx.method_name == "__init__" and isinstance(ctx.module, Linear):
            args = (4,)
        return next_f(*args, **kwargs)

    def f(x):
        with hk.intercept_methods(interceptor):
            return Linear(1)(x)

    out = hk.transform(f).apply(
        hk.transform(f).init(None, jnp.ones([1, 2])), None, jnp.ones([1, 2])
    )
    assert out.shape == (1, 4)


def test_interceptor_name_scope_applies_inside_module_scope():
    """An interceptor's forced name scope names what the method creates."""

    class Scalar(hk.Module):
        def __call__(self):
            return hk.get_parameter("w", [], init=jnp.zeros)

    def interceptor(next_f, args, kwargs, ctx):
        if ctx.method_name != "__call__" or not isinstance(ctx.module, Scalar):
            return next_f(*args, **kwargs)
        with hk.name_scope(hk.force_name("forced"), method_name="__call__"):
            return next_f(*args, **kwargs)

    def f():
        s = Scalar(name="s")
        with hk.intercept_methods(interceptor):
            s()

    params = hk.transform(f).init(None)
    assert list(params) == ["forced"]


def test_auto_repr_matches_dm_haiku_rules():
    class M(hk.Module):
        def __init__(self, a, b=2, c=None, *, d=1, name=None):
            super().__init__(name=name)

    class NoRepr(hk.Module):
        AUTO_REPR = False

    reprs = []

    def f():
        reprs.append(repr(M(1, 2, None, name="m")))
        reprs.append(repr(M(c=3, a=1, d=1)))
        reprs.append(repr(M(1, name="n" * 80)))
        reprs.append(repr(M([1000000000 + i for i in range(12)])))
        reprs.append(repr(NoRepr()))

    hk.transform(f).init(None)
    # The literals below are dm-haiku 0.0.17's output for the same calls: defaults
    # are hidden, keyword-only arguments are shown as given, and reprs longer than
    # 80 characters are written one argument per line (pretty-printed).
    assert reprs[0] == "M(a=1, name='m')"
    assert reprs[1] == "M(a=1, c=3, d=1)"
    assert reprs[2] == "M(\n    a=1,\n    name='" + "n" * 80 + "',\n)"
    assert reprs[3] == (
        "M(\n    a=[1000000000,\n"
        + "".join(f"       {1000000000 + i},\n" for i in range(1, 11))
        + "       1000000011],\n)"
    )
    assert reprs[4].startswith("<") and "NoRepr object at" in reprs[4]


def test_auto_repr_of_library_modules():
    reprs = []

    def f():
        reprs.append(repr(hk.Linear(output_size=1, w_init=None, name="l")))
        reprs.append(repr(hk.Linear(3, True)))
        reprs.append(repr(hk.nets.MLP([300, 100, 10])))
        reprs.append(repr(hk.Conv2D(16, 3, 1, 1, "SAME")))

    hk.transform(f).init(None)
    # dm-haiku 0.0.17's output for the same constructions.
    assert reprs == [
        "Linear(output_size=1, name='l')",
        "Linear(output_size=3)",
        "MLP(output_sizes=[300, 100, 10])",
        "Conv2D(output_channels=16, kernel_shape=3)",
    ]


class _PolicyInInit(hk.Module):
    def __init__(self, m, name=None):
        super().__init__(name=name)
        w = hk.get_parameter("w", [2], init=jnp.ones)
        self.seen = (m.dtype, w.dtype, hk.mixed_precision.current_policy() is not None)

    def __call__(self):
        return self.seen


def test_mixed_precision_policy_applies_to_constructor():
    hk.mixed_precision.set_policy(_PolicyInInit, "params=float32,compute=bfloat16,output=float32")
    try:

        def f():
            return _PolicyInInit(jnp.ones([2], jnp.float32))()

        t = hk.transform(f)
        params = t.init(None)
        seen = t.apply(params, None)
    finally:
        hk.mixed_precision.clear_policy(_PolicyInInit)
    # dm-haiku 0.0.17: constructor arguments are cast to the compute dtype, params
    # created in __init__ are stored in param dtype and read in compute dtype, and the
    # policy is current while __init__ runs.
    assert seen == (jnp.bfloat16, jnp.bfloat16, True)
    # The default name of `_PolicyInInit` is "__policy_in_init" (dm-haiku's rule).
    assert params["__policy_in_init"]["w"].dtype == jnp.float32
