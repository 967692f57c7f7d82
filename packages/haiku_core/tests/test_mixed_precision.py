"""Tests for hk.mixed_precision: Policy parsing/casting, the registry, end-to-end use."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core import mixed_precision as mp
from haiku_core._src import mixed_precision as impl

F32, F16, BF16, F64 = (jnp.dtype(d) for d in (jnp.float32, jnp.float16, jnp.bfloat16, jnp.float64))
HALF = F16 if jax.default_backend() != "tpu" else BF16


@pytest.fixture(autouse=True)
def _clean_registry():
    yield
    impl._POLICIES.clear()
    impl._sync_active()


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("params=float32,compute=bfloat16,output=float32", (F32, BF16, F32)),
        ("p=f32,c=bf16,o=f32", (F32, BF16, F32)),
        ("float32", (F32, F32, F32)),
        ("full", (F32, F32, F32)),
        ("bfloat16", (BF16, BF16, BF16)),
        ("bf16", (BF16, BF16, BF16)),
        ("float16", (F16, F16, F16)),
        ("half", (HALF, HALF, HALF)),
        ("f64", (F64, F64, F64)),
        ("c=bf16", (F32, BF16, BF16)),  # output defaults to compute
        ("p=f16", (F16, F16, F16)),  # compute defaults to params
        ("o=f16", (F32, F32, F16)),
        ("p=f32,c=half", (F32, HALF, HALF)),
        (" P = F32 , C = BF16 ", (F32, BF16, BF16)),
        ("compute=float16,params=float32", (F32, F16, F16)),
    ],
)
def test_parse_policy(spec, expected):
    policy = mp.parse_policy(spec)
    assert (policy.param_dtype, policy.compute_dtype, policy.output_dtype) == expected
    assert mp.Policy.from_string(spec) == policy


@pytest.mark.parametrize(
    "spec,match",
    [
        ("x=f32", r"unknown key 'x'.*'x=f32'"),
        ("p=f33", r"unknown dtype 'f33'.*'p=f33'"),
        ("nonsense", r"unknown dtype 'nonsense'"),
        ("c=int32", r"unknown dtype 'int32'"),
        ("p=f32,c=bf16,", r"malformed part ''"),
        ("p=f32;c=bf16", r"malformed part 'p=f32;c=bf16'"),
        ("p=f32=c", r"malformed part 'p=f32=c'"),
        ("p=f32,params=f16", r"key 'params' given twice"),
    ],
)
def test_parse_policy_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        mp.parse_policy(spec)


def test_parse_policy_non_string():
    with pytest.raises(TypeError, match=r"parse_policy.*`spec`.*int"):
        mp.parse_policy(3)  # type: ignore[arg-type]


def test_policy_str_and_equality():
    policy = mp.parse_policy("p=f32,c=bf16,o=f16")
    assert str(policy) == "p=full,c=bf16,o=f16"
    assert policy == mp.Policy(jnp.float32, jnp.bfloat16, jnp.float16)
    assert hash(policy) == hash(mp.Policy(np.float32, "bfloat16", np.float16))


def test_policy_rejects_non_float_dtypes():
    with pytest.raises(ValueError, match=r"Policy.*`compute_dtype`.*int32"):
        mp.Policy(jnp.float32, jnp.int32, jnp.float32)
    with pytest.raises(TypeError, match=r"Policy.*`param_dtype`.*not a dtype"):
        mp.Policy("not-a-dtype", jnp.float32, jnp.float32)


def test_with_output_dtype():
    policy = mp.parse_policy("p=f32,c=bf16,o=bf16").with_output_dtype(jnp.float32)
    assert (policy.param_dtype, policy.compute_dtype, policy.output_dtype) == (F32, BF16, F32)


# --- casting ----------------------------------------------------------------------------


def test_casts_only_floating_arrays():
    policy = mp.parse_policy("p=f32,c=bf16,o=f16")
    tree = {
        "jax_f32": jnp.ones(2),
        "np_f64": np.ones(2),
        "int": jnp.ones(2, jnp.int32),
        "bool": np.ones(2, bool),
        "complex": jnp.ones(2, jnp.complex64),
        "py_float": 1.0,
        "none": None,
        "np_scalar": np.float32(1.0),
    }
    for cast, dtype in [
        (policy.cast_to_compute, BF16),
        (policy.cast_to_param, F32),
        (policy.cast_to_output, F16),
    ]:
        out = cast(tree)
        assert out["jax_f32"].dtype == dtype and isinstance(out["jax_f32"], jax.Array)
        assert out["np_f64"].dtype == dtype and isinstance(out["np_f64"], np.ndarray)
        assert out["int"].dtype == jnp.int32
        assert out["bool"].dtype == np.bool_
        assert out["complex"].dtype == jnp.complex64
        assert out["py_float"] == 1.0 and type(out["py_float"]) is float
        assert out["none"] is None
        assert type(out["np_scalar"]) is np.float32
    np.testing.assert_array_equal(policy.cast_to_compute(jnp.array([1.5, 2.0])), [1.5, 2.0])


def test_cast_works_under_jit():
    policy = mp.parse_policy("c=bf16")
    out = jax.jit(policy.cast_to_compute)((jnp.ones(3), jnp.arange(3)))
    assert out[0].dtype == BF16 and out[1].dtype == jnp.int32


# --- registry ---------------------------------------------------------------------------


class _A(hk.Module):
    pass


class _B(hk.Module):
    pass


def test_set_get_clear_policy():
    policy = mp.parse_policy("p=f32,c=bf16")
    assert mp.get_policy(_A) is None
    mp.set_policy(_A, policy)
    assert mp.get_policy(_A) is policy
    assert mp.get_policy(_B) is None
    mp.clear_policy(_A)
    assert mp.get_policy(_A) is None
    mp.clear_policy(_A)  # clearing twice is fine


def test_set_policy_accepts_spec_string():
    mp.set_policy(_A, "p=f32,c=f16,o=f32")
    assert mp.get_policy(_A) == mp.Policy(F32, F16, F32)


def test_push_policy_nests_and_restores():
    outer, inner = mp.parse_policy("c=bf16"), mp.parse_policy("f16")
    with mp.push_policy(_A, outer):
        assert mp.get_policy(_A) is outer
        with mp.push_policy(_A, inner):
            assert mp.get_policy(_A) is inner
        assert mp.get_policy(_A) is outer
    assert mp.get_policy(_A) is None
    with pytest.raises(RuntimeError), mp.push_policy(_A, outer):
        raise RuntimeError("boom")
    assert mp.get_policy(_A) is None


def test_registry_errors():
    with pytest.raises(TypeError, match=r"set_policy.*`cls`.*int"):
        mp.set_policy(3, "f32")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"set_policy.*`policy`.*dict"):
        mp.set_policy(_A, {"p": "f32"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"get_policy.*`cls`"):
        mp.get_policy("Linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown dtype 'f33'"):
        mp.set_policy(_A, "p=f33")


def test_policy_for_module_is_exact_class_and_fast_path():
    class _Sub(_A):
        pass

    assert impl._policy_for_module(object.__new__(_A)) is None
    policy = mp.parse_policy("c=bf16")
    mp.set_policy(_A, policy)
    assert impl._policy_for_module(object.__new__(_A)).policy is policy
    assert impl._policy_for_module(object.__new__(_Sub)) is None  # subclasses: no (as upstream)


def test_current_policy_stack():
    assert mp.current_policy() is None
    p1, p2 = mp.parse_policy("f16"), mp.parse_policy("bf16")
    impl._push_current(p1)
    with impl._policy_scope(p2):
        assert mp.current_policy() is p2
    assert mp.current_policy() is p1
    impl._pop_current()
    assert mp.current_policy() is None


# --- end to end with the module system --------------------------------------------------


class _Dense(hk.Module):
    """A Linear-like module (w: [D_in, D_out], b: [D_out]) that records what it saw."""

    seen: ClassVar[list] = []

    def __init__(self, output_size, name=None):
        super().__init__(name=name)
        self.output_size = output_size

    def __call__(self, x):
        w = hk.get_parameter("w", [x.shape[-1], self.output_size], init=jnp.ones)
        b = hk.get_parameter("b", [self.output_size], init=jnp.zeros)
        type(self).seen.append((x.dtype, w.dtype, b.dtype, mp.current_policy()))
        return x @ w + b[None, :]


class _Wrapper(hk.Module):
    def __call__(self, x):
        return _Dense(2)(x), jnp.ones(1, jnp.int32)


def test_end_to_end_params_f32_compute_bf16_output_f32():
    policy = mp.parse_policy("params=float32,compute=bfloat16,output=float32")
    mp.set_policy(_Dense, policy)
    f = hk.transform(lambda x: _Dense(2)(x))
    x = jnp.full((3, 4), 0.5, jnp.float32)
    _Dense.seen = []
    params = f.init(jax.random.PRNGKey(0), x)
    # dm-haiku names class `_Dense` "__dense" (checked by hand).
    assert jax.tree.map(lambda a: a.dtype, params) == {"__dense": {"w": F32, "b": F32}}
    out = f.apply(params, None, x)
    assert out.dtype == F32
    np.testing.assert_allclose(out, np.full((3, 2), 2.0))
    # Inside the module everything was bfloat16 and the policy was current.
    assert _Dense.seen == [(BF16, BF16, BF16, policy)] * 2
    jaxpr = str(jax.make_jaxpr(lambda p, x: f.apply(p, None, x))(params, x))
    assert "bf16[3,2] = dot_general" in jaxpr
    assert mp.current_policy() is None


def test_end_to_end_policy_reaches_submodules_and_skips_ints():
    policy = mp.parse_policy("p=f32,c=f16,o=bf16")
    mp.set_policy(_Wrapper, policy)
    f = hk.transform(lambda x: _Wrapper()(x))
    x = jnp.ones((1, 3), jnp.float32)
    _Dense.seen = []
    params = f.init(jax.random.PRNGKey(0), x)
    assert all(a.dtype == F32 for a in jax.tree.leaves(params))
    out, ints = f.apply(params, None, x)
    assert out.dtype == BF16 and ints.dtype == jnp.int32
    # The inner module has no policy of its own but runs under its caller's.
    assert _Dense.seen[-1] == (F16, F16, F16, policy)


def test_end_to_end_without_policy_unchanged():
    f = hk.transform(lambda x: _Dense(2)(x))
    x = jnp.ones((1, 3), jnp.float32)
    _Dense.seen = []
    params = f.init(jax.random.PRNGKey(0), x)
    assert f.apply(params, None, x).dtype == F32
    assert _Dense.seen[-1] == (F32, F32, F32, None)


def test_end_to_end_linear_params_f32_compute_bf16_output_f32():
    mp.set_policy(hk.Linear, "params=float32,compute=bfloat16,output=float32")
    f = hk.transform(lambda x: hk.Linear(3)(x))
    x = jnp.linspace(-1.0, 1.0, 8, dtype=jnp.float32).reshape(2, 4)
    params = f.init(jax.random.PRNGKey(1), x)
    assert jax.tree.map(lambda a: a.dtype, params) == {"linear": {"w": F32, "b": F32}}
    out = f.apply(params, None, x)
    assert out.dtype == F32 and out.shape == (2, 3)
    w, b = np.asarray(params["linear"]["w"]), np.asarray(params["linear"]["b"])
    np.testing.assert_allclose(out, np.asarray(x) @ w + b[None, :], rtol=2e-2, atol=2e-2)
    jaxpr = str(jax.make_jaxpr(lambda p, x: f.apply(p, None, x))(params, x))
    assert "bf16[2,3] = dot_general" in jaxpr
    # Clearing the policy restores full precision.
    mp.clear_policy(hk.Linear)
    assert f.apply(params, None, x).dtype == F32
    assert "bf16" not in str(jax.make_jaxpr(lambda p, x: f.apply(p, None, x))(params, x))


class OuterMP(hk.Module):
    def __call__(self):
        self.w = hk.get_parameter("w", [], jnp.bfloat16, init=jnp.ones)
        self.inner = InnerMP()
        self.inner_ret = self.inner()
        return jnp.ones([], dtype=jnp.bfloat16)


class InnerMP(hk.Module):
    def __call__(self):
        self.w = hk.get_parameter("w", [], jnp.bfloat16, init=jnp.ones)
        return jnp.ones([], dtype=jnp.bfloat16)


def test_nested_policies_each_module_uses_its_own_dtypes():
    # dm-haiku 0.0.17 (checked by hand): outer p=f32,c=f16,o=f32 around inner
    # p=f16,c=f32,o=f32 gives outer.w f16, inner.w f32, both returns f32, and params
    # outer f32 / inner f16.
    def f():
        outer = OuterMP()
        ret = outer()
        return ret, outer.inner_ret, outer.w, outer.inner.w

    t = hk.transform(f)
    with mp.push_policy(OuterMP, "p=f32,c=f16,o=f32"):
        with mp.push_policy(InnerMP, "p=f16,c=f32,o=f32"):
            params = t.init(None)
            outs = t.apply(params, None)
    assert params["outer_mp"]["w"].dtype == jnp.float32
    assert params["outer_mp/inner_mp"]["w"].dtype == jnp.float16
    ret, inner_ret, outer_w, inner_w = outs
    assert ret.dtype == jnp.float32 and inner_ret.dtype == jnp.float32
    assert outer_w.dtype == jnp.float16
    assert inner_w.dtype == jnp.float32


def test_push_policy_from_method_of_same_class_raises():
    class PushesInMethod(hk.Module):
        def __call__(self):
            with mp.push_policy(PushesInMethod, "o=f16"):
                pass

    class PushesOther(hk.Module):
        def __call__(self):
            with mp.push_policy(InnerMP, "o=f16"):
                return InnerMP()()

    with pytest.raises(ValueError, match="same class"):
        hk.transform(lambda: PushesInMethod()()).init(None)
    params = {"pushes_other/inner_mp": {"w": jnp.ones([])}}
    out = hk.transform(lambda: PushesOther()()).apply(params, None)
    assert out.dtype == jnp.float16
