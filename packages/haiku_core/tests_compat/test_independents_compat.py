"""haiku_core initializers, data_structures, pad and mixed_precision vs dm-haiku 0.0.17.

Run only by ``nox -s compat`` (a venv with dm-haiku and jmp).  Initializers must give
bit-identical values for the same transform seed (same ``jax.random`` calls and the
same key sequence); the other helpers must behave the same on a table of inputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

haiku = pytest.importorskip("haiku")
jmp = pytest.importorskip("jmp")
import haiku_core  # noqa: E402

# (initializer class name, constructor kwargs, shape, dtype)
INIT_CASES = [
    ("Constant", dict(constant=0.3), (3, 4), jnp.float32),
    ("Constant", dict(constant=np.array([1.0, 2.0])), (3, 2), jnp.int32),
    ("RandomNormal", dict(), (5, 7), jnp.float32),
    ("RandomNormal", dict(stddev=0.3, mean=1.5), (5, 7), jnp.bfloat16),
    ("RandomNormal", dict(stddev=0.3), (4,), jnp.complex64),
    ("TruncatedNormal", dict(), (6, 5), jnp.float32),
    ("TruncatedNormal", dict(stddev=0.2, mean=-1.0, lower=-1.0, upper=3.0), (6, 5), jnp.float32),
    ("TruncatedNormal", dict(stddev=0.2, mean=1 + 1j), (6,), jnp.complex64),
    ("TruncatedNormal", dict(stddev=0.2), (6, 5), jnp.bfloat16),
    ("RandomUniform", dict(), (3, 8), jnp.float32),
    ("RandomUniform", dict(minval=-2.0, maxval=5.0), (3, 8), jnp.float16),
    ("VarianceScaling", dict(), (7, 9), jnp.float32),
    ("VarianceScaling", dict(), (7, 9), jnp.bfloat16),
    (
        "VarianceScaling",
        dict(scale=2.0, mode="fan_out", distribution="normal"),
        (3, 3, 4, 5),
        jnp.float32,
    ),
    ("VarianceScaling", dict(mode="fan_avg", distribution="uniform"), (3, 3, 4, 5), jnp.float32),
    ("VarianceScaling", dict(scale=0.5, mode="fan_avg"), (2, 3, 4, 5, 6), jnp.float32),
    ("VarianceScaling", dict(distribution="normal", fan_in_axes=[0, 1]), (2, 3, 4, 5), jnp.float32),
    ("VarianceScaling", dict(fan_in_axes=[1]), (50, 4), jnp.float32),
    ("VarianceScaling", dict(), (), jnp.float32),
    ("VarianceScaling", dict(), (11,), jnp.float32),
    ("UniformScaling", dict(), (6, 4), jnp.float32),
    ("UniformScaling", dict(scale=2.5), (2, 3, 4), jnp.float32),
    ("Orthogonal", dict(), (5, 3), jnp.float32),
    ("Orthogonal", dict(), (3, 5), jnp.float32),
    ("Orthogonal", dict(scale=2.0, axis=0), (3, 2, 4), jnp.float32),
    ("Orthogonal", dict(axis=1), (2, 6, 3), jnp.float32),
    ("Identity", dict(), (3, 3), jnp.float32),
    ("Identity", dict(gain=3.0), (2, 3, 4), jnp.float32),
]


def _np(x):
    return np.asarray(x.astype(jnp.float32) if x.dtype == jnp.bfloat16 else x)


def _sample(hk, name, kwargs, shape, dtype, seed):
    def f():
        init = getattr(hk.initializers, name)(**kwargs)
        # Two draws: the second checks that the key sequence advances identically.
        return init(shape, dtype), init(shape, dtype)

    return hk.transform(f).apply({}, jax.random.PRNGKey(seed))


@pytest.mark.parametrize("i", range(len(INIT_CASES)))
def test_initializer_values_bit_identical(i):
    name, kwargs, shape, dtype = INIT_CASES[i]
    ours = _sample(haiku_core, name, kwargs, shape, dtype, seed=i)
    with jax.numpy_rank_promotion("allow"):  # upstream Orthogonal relies on rank promotion
        theirs = _sample(haiku, name, kwargs, shape, dtype, seed=i)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_scaling_fan_sweep_bit_identical(distribution, dtype):
    # Float rounding of the scale differs for some fans only; sweep many.
    def f(hk):
        return [
            hk.initializers.VarianceScaling(1.3, "fan_avg", distribution)((fan, 3), dtype)
            for fan in range(1, 41)
        ]

    ours = haiku_core.transform(lambda: f(haiku_core)).apply({}, jax.random.PRNGKey(7))
    theirs = haiku.transform(lambda: f(haiku)).apply({}, jax.random.PRNGKey(7))
    for fan, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
        np.testing.assert_array_equal(_np(a), _np(b), err_msg=f"fan_in={fan}")


def _params():
    return {
        "b/~/linear": {"w": np.ones((2, 3), np.float32), "a": np.zeros(2, np.float32)},
        "a": {"z": np.ones(1, np.float32), "b": np.ones((1,), np.int8)},
    }


def _nested_keys(structure):
    return [(m, list(v)) for m, v in structure.items()]


@pytest.mark.parametrize(
    "call",
    [
        lambda ds: ds.filter(lambda m, n, v: n != "z", _params()),
        lambda ds: ds.partition(lambda m, n, v: m == "a", _params()),
        lambda ds: ds.partition_n(lambda m, n, v: 0 if n == "w" else 2, _params(), 3),
        lambda ds: ds.map(lambda m, n, v: v.shape, _params()),
        lambda ds: ds.merge({"b": {"y": 1, "x": 2}}, {"a": {"x": 3}}, {"b": {"y": 9}}),
        lambda ds: ds.merge(
            {"a": {"x": np.ones(2)}}, {"a": {"x": np.zeros(2)}}, check_duplicates=True
        ),
        lambda ds: ds.to_mutable_dict(ds.to_immutable_dict(_params())),
        lambda ds: ds.to_haiku_dict(_params()),
    ],
)
def test_data_structures_same_results_and_order(call):
    ours = call(haiku_core.data_structures)
    theirs = call(haiku.data_structures)
    outs = ours if isinstance(ours, tuple) else (ours,)
    refs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(outs) == len(refs)
    for a, b in zip(outs, refs, strict=True):
        assert _nested_keys(a) == _nested_keys(b)
        jax.tree.map(np.testing.assert_array_equal, dict(a), dict(b))


def test_data_structures_scalars_and_traverse():
    ds_ours, ds_theirs = haiku_core.data_structures, haiku.data_structures
    p = _params()
    assert [(m, n) for m, n, _ in ds_ours.traverse(p)] == [
        (m, n) for m, n, _ in ds_theirs.traverse(p)
    ]
    assert ds_ours.tree_size(p) == ds_theirs.tree_size(p)
    assert ds_ours.tree_bytes(p) == ds_theirs.tree_bytes(p)
    for sub in [{"a": {"z": 0}}, {"a": {"q": 0}}, {}]:
        assert ds_ours.is_subset(subset=sub, superset=p) == ds_theirs.is_subset(
            subset=sub, superset=p
        )
    im_ours, im_theirs = ds_ours.to_immutable_dict(p), ds_theirs.to_immutable_dict(p)
    assert list(im_ours) == list(im_theirs)
    leaves_ours, leaves_theirs = jax.tree.leaves(im_ours), jax.tree.leaves(im_theirs)
    assert [x.shape for x in leaves_ours] == [x.shape for x in leaves_theirs]


def test_pad_same_arithmetic():
    ours, theirs = haiku_core.pad, haiku.pad
    for k in range(1, 8):
        for fn in ["valid", "same", "full", "causal", "reverse_causal"]:
            assert getattr(ours, fn)(k) == getattr(theirs, fn)(k)
    for args in [
        ("same", [3, 4], [1, 2], 2),
        ("causal", 5, 3, 3),
        ("full", [2], [1], 2),
    ]:
        name, kernel, rate, n = args
        assert ours.create_from_padfn(getattr(ours, name), kernel, rate, n) == tuple(
            theirs.create_from_padfn(getattr(theirs, name), kernel, rate, n)
        )
    for padding, n in [((1, 2), 3), ([(1, 2), (3, 4)], 2), ([(0, 1)], 2)]:
        assert ours.create_from_tuple(padding, n) == tuple(
            tuple(p) for p in theirs.create_from_tuple(padding, n)
        )


@pytest.mark.parametrize(
    "spec",
    [
        "params=float32,compute=bfloat16,output=float32",
        "p=f32,c=bf16,o=f32",
        "float32",
        "half",
        "bfloat16",
        "c=bf16",
        "p=f16",
        "o=f16",
        "p=f32,c=f16",
        "f64",
    ],
)
def test_policy_strings_parse_like_jmp(spec):
    ours = haiku_core.mixed_precision.parse_policy(spec)
    theirs = jmp.get_policy(spec)
    assert ours.param_dtype == theirs.param_dtype
    assert ours.compute_dtype == theirs.compute_dtype
    assert ours.output_dtype == theirs.output_dtype
    assert str(ours) == str(theirs)


def _mp_model(hk, policy, register):
    class Dense(hk.Module):
        def __call__(self, x):
            w = hk.get_parameter("w", [x.shape[-1], 2], init=hk.initializers.RandomNormal())
            return x @ w, hk.mixed_precision.current_policy() is not None

    register(Dense, policy)
    try:
        f = hk.transform(lambda x: Dense()(x))
        x = jnp.ones((3, 4))
        params = f.init(jax.random.PRNGKey(0), x)
        out, had_policy = f.apply(params, None, x)
    finally:
        hk.mixed_precision.clear_policy(Dense)
    return params, out, had_policy


def test_mixed_precision_end_to_end_like_upstream():
    spec = "p=f32,c=bf16,o=f16"
    p_ours, out_ours, cur_ours = _mp_model(
        haiku_core,
        haiku_core.mixed_precision.parse_policy(spec),
        haiku_core.mixed_precision.set_policy,
    )
    p_theirs, out_theirs, cur_theirs = _mp_model(
        haiku, jmp.get_policy(spec), haiku.mixed_precision.set_policy
    )
    assert cur_ours and cur_theirs
    assert jax.tree.map(lambda a: a.dtype, p_ours) == jax.tree.map(lambda a: a.dtype, p_theirs)
    assert out_ours.dtype == out_theirs.dtype == jnp.float16
    np.testing.assert_array_equal(
        np.asarray(out_ours, np.float32), np.asarray(out_theirs, np.float32)
    )


def test_mixed_precision_accepts_jmp_policy_objects():
    class Dense(haiku_core.Module):
        def __call__(self, x):
            w = haiku_core.get_parameter("w", [x.shape[-1], 2], init=jnp.ones)
            return x @ w

    haiku_core.mixed_precision.set_policy(Dense, jmp.get_policy("p=f32,c=bf16,o=f16"))
    try:
        f = haiku_core.transform(lambda x: Dense()(x))
        params = f.init(jax.random.PRNGKey(0), jnp.ones((1, 3)))
        assert f.apply(params, None, jnp.ones((1, 3))).dtype == jnp.float16
    finally:
        haiku_core.mixed_precision.clear_policy(Dense)
