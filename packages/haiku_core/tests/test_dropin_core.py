"""Drop-in behaviour of the core module system (base, module, transform, config, utils).

Each test pins one behaviour of dm-haiku 0.0.17 that real code relies on. Literal
expected values marked "upstream" were produced by dm-haiku 0.0.17 and written here.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src import config as hk_config
from haiku_core._src import utils


class _Scale(hk.Module):
    def __call__(self, x):
        return x * hk.get_parameter("s", [], init=jnp.ones)


# ----------------------------------------------------------------------------- rng


def test_with_rng_inside_raw_vmap_is_allowed():
    def f():
        def g(k):
            with hk.with_rng(k):
                return hk.next_rng_key()

        return jax.vmap(g)(jax.random.split(jax.random.PRNGKey(0), 2))

    assert hk.transform(f).init(jax.random.PRNGKey(1)) == {}


def test_with_rng_inside_raw_vmap_draws_from_the_given_keys():
    keys = jax.random.split(jax.random.PRNGKey(0), 2)

    def f():
        def g(k):
            with hk.with_rng(k):
                return hk.next_rng_key()

        return jax.vmap(g)(keys)

    out = hk.transform(f).apply({}, jax.random.PRNGKey(1))
    # A sequence seeded with k hands out split(k, 2)[1] first (rng_reserve_size 1).
    expected = np.stack([np.asarray(jax.random.split(k, 2)[1]) for k in keys])
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_prng_sequence_accepts_traced_int_seed_under_jit():
    out = jax.jit(lambda s: next(hk.PRNGSequence(s)))(3)
    expected = jax.random.split(jax.random.PRNGKey(3), 2)[1]
    np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))


def test_prng_sequence_rejects_batch_of_raw_keys():
    with pytest.raises(ValueError, match=r"PRNGSequence.*shape"):
        hk.PRNGSequence(jax.random.split(jax.random.PRNGKey(42), 2))


def test_prng_sequence_rejects_batch_of_typed_keys():
    with pytest.raises(ValueError, match=r"PRNGSequence.*shape"):
        hk.PRNGSequence(jax.random.split(jax.random.key(42), 2))


def test_prng_sequence_rejects_wrong_dtype_key():
    with pytest.raises(ValueError, match=r"PRNGSequence.*uint32"):
        hk.PRNGSequence(jnp.zeros([2], jnp.int32))


def test_init_rejects_batch_of_keys():
    with pytest.raises(ValueError, match=r"[Ii]nit"):
        hk.transform(lambda: None).init(jax.random.split(jax.random.PRNGKey(0), 3))


# ----------------------------------------------------------------------------- params


def test_shape_is_checked_after_custom_getters():
    def f(x):
        with hk.custom_getter(lambda nxt, v, ctx: nxt(v[0])):
            return hk.Linear(2, with_bias=False)(x)

    out = hk.transform(f).apply({"linear": {"w": jnp.ones((3, 2, 2))}}, None, jnp.ones((1, 2)))
    np.testing.assert_allclose(np.asarray(out), np.full((1, 2), 2.0))  # ones(1,2) @ ones(2,2)


def test_getter_result_with_wrong_shape_raises():
    def f(x):
        with hk.custom_getter(lambda nxt, v, ctx: nxt(jnp.ones([5]))):
            return hk.Linear(2, with_bias=False)(x)

    with pytest.raises(ValueError, match=r"linear/w.*\(5,\)"):
        hk.transform(f).apply({"linear": {"w": jnp.ones((2, 2))}}, None, jnp.ones((1, 2)))


def test_creator_can_supply_value_without_initializer():
    def creator(next_creator, shape, dtype, init, context):
        return jnp.full(shape, 3.0, dtype)

    def f():
        with hk.custom_creator(creator):
            return hk.get_parameter("w", [2])

    params = hk.transform(f).init(None)
    np.testing.assert_allclose(np.asarray(params["~"]["w"]), [3.0, 3.0])


def test_do_not_store_is_not_array_like():
    with pytest.raises(ValueError, match="shape"):
        hk.DO_NOT_STORE.shape  # noqa: B018
    with pytest.raises(ValueError, match="dtype"):
        hk.DO_NOT_STORE.dtype  # noqa: B018


# ----------------------------------------------------------------------------- check_jax_usage


def test_check_jax_usage_rejects_rng_under_raw_jit():
    def f(x):
        with hk.config.context(check_jax_usage=True):
            return jax.jit(lambda y: [hk.next_rng_key(), y][1])(x)

    with pytest.raises(ValueError, match=r"next_rng_key.*raw JAX transform"):
        hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([1]))


def test_check_jax_usage_rejects_existing_param_read_under_raw_vmap():
    def f(x):
        w = hk.get_parameter("w", [], init=jnp.zeros)
        with hk.config.context(check_jax_usage=True):
            return jax.vmap(lambda y: y + hk.get_parameter("w", [], init=jnp.zeros))(x) + w

    with pytest.raises(ValueError, match="raw JAX transform"):
        hk.transform(f).init(None, jnp.ones([2]))


def test_check_jax_usage_allows_haiku_wrappers():
    def f(x):
        with hk.config.context(check_jax_usage=True):
            return hk.vmap(lambda y: _Scale()(y), split_rng=False)(x)

    params = hk.transform(f).init(None, jnp.ones([3]))
    assert jax.tree.map(jnp.shape, params) == {"__scale": {"s": ()}}


# ----------------------------------------------------------------------------- modules


@dataclasses.dataclass
class _DataLinear(hk.Module):
    output_size: int
    name: str | None = None

    def __call__(self, x):
        w = hk.get_parameter("w", [x.shape[-1], self.output_size], init=jnp.ones)
        return x @ w


@dataclasses.dataclass
class _DataMLP(hk.Module):
    output_sizes: tuple
    name: str | None = None

    def __call__(self, x):
        for size in self.output_sizes:
            x = _DataLinear(size, name="linear")(x)
        return x


def test_dataclass_modules_are_named_like_regular_modules():
    def f(x):
        return _DataMLP((3, 2))(x) + _DataMLP((2,), name="mlp")(x)

    params = hk.transform(f).init(None, jnp.ones([1, 4]))
    assert jax.tree.map(jnp.shape, params) == {
        # upstream's default name for class `_DataMLP` is "__data_mlp".
        "__data_mlp/linear": {"w": (4, 3)},
        "__data_mlp/linear_1": {"w": (3, 2)},
        "mlp/linear": {"w": (4, 2)},
    }


def test_dataclass_module_name_field_holds_final_name():
    def f():
        m1, m2 = _DataLinear(1, name="lin"), _DataLinear(1, name="lin")
        return m1.name, m2.name, m2.module_name

    names, _ = hk.transform_with_state(f).apply({}, {}, None)
    assert names == ("lin", "lin_1", "lin_1")


@runtime_checkable
class _SupportsFoo(Protocol):
    def foo(self) -> int: ...


def test_module_can_also_derive_from_a_protocol():
    class FooModule(hk.Module, _SupportsFoo):
        def foo(self) -> int:
            return 1

        def __call__(self):
            return hk.get_parameter("w", [], init=jnp.zeros)

    def f():
        m = FooModule()
        assert isinstance(m, _SupportsFoo) and isinstance(m, hk.Module)
        return m()

    assert list(hk.transform(f).init(None)) == ["foo_module"]


def test_module_protocols_reject_concrete_subclasses():
    with pytest.raises(TypeError, match="Protocol"):

        class Concrete(hk.ModuleProtocol):
            pass

    class StillAProtocol(hk.SupportsCall, Protocol):
        pass


def test_zero_padded_suffix_is_not_an_explicit_number():
    def f():
        a = _Scale(name="scale_1")
        b = _Scale(name="scale_001")
        return a.module_name, b.module_name

    names = hk.transform(f).apply({}, None)
    assert names == ("scale_1", "scale_001")  # two modules, not one name used twice


def test_force_name_reserves_the_name():
    def f():
        return hk.Module(name=hk.force_name("foo")).module_name, hk.Module(name="foo").module_name

    assert hk.transform(f).apply({}, None) == ("foo", "foo_1")


def test_name_scope_validates_on_call_and_is_single_use():
    with pytest.raises(ValueError, match="name_scope"):
        hk.name_scope("foo")  # outside a transform: raises before entering

    def f():
        with pytest.raises(ValueError, match="name_scope"):
            hk.name_scope("/foo")
        scope = hk.name_scope("foo")
        with scope:
            pass
        with pytest.raises(ValueError, match="reusable"):
            with scope:
                pass

    hk.transform(f).init(None)


def test_name_scope_with_forced_name_reuses_params():
    def f():
        with hk.name_scope("foo/bar"):
            w0 = _Scale(name="baz")(1.0)
        with hk.name_scope(hk.force_name("foo/bar/baz")):
            w1 = hk.get_parameter("s", [], init=jnp.zeros)
        return w0, w1

    params = hk.transform(f).init(None)
    assert list(params) == ["foo/bar/baz"]


def test_to_module_rejects_non_string_name_and_keeps_docs():
    def documented(x):
        """Doubles x."""
        return 2 * x

    def undocumented(x):
        return x

    def f():
        with pytest.raises(TypeError, match="string name"):
            hk.to_module(documented)(object())
        d = hk.to_module(documented)()
        u = hk.to_module(undocumented)()
        return d.__doc__, d.__call__.__doc__, u.__call__.__doc__, d.module_name

    out = hk.transform(f).apply({}, None)
    assert out == ("Doubles x.", "Doubles x.", None, "documented")


class _HasW(hk.Module):
    def __init__(self):
        super().__init__()
        self.w = jnp.ones([])

    def __repr__(self):
        return "HasWRepr"

    def __str__(self):
        return "HasWStr"

    def __call__(self):
        return self.w


def test_deferred_forwards_attribute_access_and_formats_like_target():
    def f():
        d = hk.Deferred(_HasW)
        with pytest.raises(AttributeError):
            d.w  # noqa: B018  (not built yet)
        d()
        assert d.w is d.target.w
        new = jnp.zeros([])
        d.w = new
        assert d.target.w is new
        del d.w
        assert not hasattr(d.target, "w")
        return repr(d), str(d)

    assert hk.transform(f).apply({}, None) == ("Deferred(HasWRepr)", "Deferred(HasWStr)")


def test_deferred_is_named_where_it_was_made():
    class Outer(hk.Module):
        def __init__(self):
            super().__init__(name="outer")
            self.d = hk.Deferred(_HasW)

    def f():
        with hk.name_scope("foo"):
            d = hk.Deferred(_HasW)
        return d.target.module_name, Outer().d.target.module_name

    # upstream's default name for class `_HasW` is "__has_w".
    assert hk.transform(f).apply({}, None) == ("foo/__has_w", "outer/~/__has_w")


# ----------------------------------------------------------------------------- transform


def test_transform_signatures_are_annotated():
    def f(pos, *, key: int = 37) -> int:
        return pos

    t = hk.transform(f)
    init_sig = inspect.signature(t.init)
    apply_sig = inspect.signature(hk.without_apply_rng(t).apply)
    assert list(init_sig.parameters) == ["rng", "pos", "key"]
    assert init_sig.parameters["rng"].annotation == (jax.Array | int | None)
    assert init_sig.return_annotation == hk.Params
    assert list(apply_sig.parameters) == ["params", "pos", "key"]
    assert apply_sig.parameters["params"].annotation == (hk.Params | None)
    returns = inspect.signature(f).return_annotation  # "int" (postponed annotations)
    assert apply_sig.return_annotation == returns
    ts = hk.transform_with_state(f)
    assert inspect.signature(ts.apply).return_annotation == tuple[returns, hk.State]


# ----------------------------------------------------------------------------- config


def test_config_is_per_thread_and_new_threads_start_from_main():
    seen = {}

    def worker():
        seen["start"] = hk.config.get_config().module_auto_repr
        hk.config.get_config().module_auto_repr = not seen["start"]

    with hk_config.assign(module_auto_repr=False):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert hk.config.get_config().module_auto_repr is False
    assert seen["start"] is False


def test_with_config_decorator_restores():
    @hk_config.with_config(rng_reserve_size=4)
    def read():
        return hk.config.get_config().rng_reserve_size

    before = hk.config.get_config().rng_reserve_size
    assert read() == 4
    assert hk.config.get_config().rng_reserve_size == before


# ----------------------------------------------------------------------------- helpers


def test_one_hot_matches_numpy():
    x = np.array([[0, 2], [1, 3]])
    expected = (x[..., None] == np.arange(3)).astype(np.float32)  # index 3 -> all zeros
    out = hk.one_hot(x, 3)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(out), expected)
    assert hk.one_hot(x, 3, jnp.int8).dtype == jnp.int8


@pytest.mark.parametrize(
    ("num_samples", "expected"),
    [(1, [[2], [0]]), (5, [[2, 1, 1, 1, 1], [0, 1, 0, 1, 0]])],
)
def test_multinomial_matches_upstream(num_samples, expected):
    logits = jnp.log(jnp.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    out = hk.multinomial(jax.random.PRNGKey(428), logits, num_samples)
    assert out.shape == (2, num_samples)
    np.testing.assert_array_equal(np.asarray(out), expected)  # upstream output


def test_formatting_helpers():
    assert utils.format_bytes(1234) == "1.23 KB"
    assert utils.format_bytes(5e20) == "500000000.00 TB"
    assert utils.format_array(np.ones([1, 2], np.int8)) == "s8[1,2]"
    assert utils.format_array(np.ones([], jnp.bfloat16)) == "bf16[]"
    assert utils.indent(2, "a\nb") == "  a\n  b"

    class C:
        def __init__(self, a, b, c=2):
            pass

    assert utils.auto_repr(C, 1, 2) == "C(a=1, b=2)"
    assert utils.auto_repr(C, 1, b=2, c=3) == "C(a=1, b=2, c=3)"
    assert utils.auto_repr(C, 1, 2, 2) == "C(a=1, b=2)"  # defaults are left out


def test_replicate():
    assert utils.replicate(7, 3, "k") == (7, 7, 7)
    assert utils.replicate([7], 2, "k") == (7, 7)
    assert utils.replicate((1, 2), 2, "k") == (1, 2)
    with pytest.raises(TypeError, match="`k` takes one value, or a sequence of 1 or"):
        utils.replicate([1, 2], 3, "k")


# ----------------------------------------------------------------------------- interception


class _Identity(hk.Module):
    def __call__(self, x):
        return x


def test_first_installed_interceptor_runs_outermost():
    def op(fn):
        def interceptor(next_f, args, kwargs, context):
            return fn(next_f(*args, **kwargs))

        return interceptor

    def f():
        # Built outside the block: constructors are intercepted too.
        mod = _Identity()
        with hk.intercept_methods(op(lambda a: a + 1)), hk.intercept_methods(op(lambda a: a**2)):
            return mod(7)

    assert hk.transform(f).apply({}, None) == 7**2 + 1


class _Captures(hk.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def __call__(self):
        return self.inner(1.0)


def test_params_dict_includes_modules_called_from_methods():
    def f():
        mod = _Captures(_Scale())  # "__scale" is not under "__captures"
        mod()
        return sorted(mod.params_dict())

    params = hk.transform(f).init(None)
    assert hk.transform(f).apply(params, None) == ["__scale/s"]


class _InitLikeCall(hk.Module):
    @hk.name_like("__call__")
    def __init__(self, name=None):
        super().__init__(name=name)
        self.child = hk.Module(name="child")


def test_name_like_on_init():
    def f():
        return _InitLikeCall(name="parent").child.module_name

    assert hk.transform(f).apply({}, None) == "parent/child"


def test_module_class_signature_has_evaluated_annotations():
    sig = inspect.signature(hk.Linear)
    assert sig.parameters["output_size"].annotation is int


# ----------------------------------------------------------------------------- transform inputs


@pytest.mark.parametrize("transform", [hk.transform, hk.transform_with_state])
def test_transform_rejects_jitted_function(transform):
    with pytest.raises(ValueError, match=r"jax.jit"):
        transform(jax.jit(lambda: 0))


def test_apply_rejects_non_mapping_params_and_state():
    f = hk.transform_with_state(lambda: None)
    with pytest.raises(TypeError, match="params"):
        f.apply("z", {}, None)
    with pytest.raises(TypeError, match="state"):
        f.apply({}, "z", None)


def test_get_state_with_init_but_no_shape_raises():
    f = hk.transform_with_state(lambda: hk.get_state("i", init=jnp.zeros))
    with pytest.raises(ValueError, match="shape and dtype"):
        f.init(None)


def test_creator_sees_shape_as_written():
    seen = []

    def creator(next_creator, shape, dtype, init, context):
        seen.append((shape, context.original_shape))
        return next_creator(shape, dtype, init)

    def f():
        with hk.custom_creator(creator):
            return hk.get_parameter("w", [], init=jnp.ones)

    hk.transform(f).init(None)
    assert seen == [([], [])]  # the list given to get_parameter, as upstream passes it


def test_get_parameter_accepts_python_scalar_params():
    # dm-haiku stores constant scalar params as Python scalars in some cases (e.g. a
    # TypedInt out of hk.remat at init); its apply reads them back without complaint.
    def f():
        return hk.get_parameter("p", [], jnp.int32, init=jnp.zeros) + 1

    out = hk.transform(f).apply({"~": {"p": 2}}, None)
    assert int(out) == 3
