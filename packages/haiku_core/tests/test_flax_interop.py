"""hk.experimental.flax: flatten_flax_to_haiku and lift (with a duck-typed Flax module)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core.experimental import flax as hkflax


class FakeFlaxDense:
    """Stands in for a Flax module: `init(rng, x)` -> variables, `apply(vars, x)`."""

    def __init__(self, extra_collection=False):
        self.extra_collection = extra_collection

    def init(self, rng, x):
        variables = {
            "params": {
                "Dense_0": {"kernel": jax.random.normal(rng, (x.shape[-1], 2)), "bias": jnp.ones(2)}
            }
        }
        if self.extra_collection:
            variables["batch_stats"] = {"mean": jnp.zeros(2)}
        return variables

    def apply(self, variables, x, mutable=False):
        p = variables["params"]["Dense_0"]
        y = x @ p["kernel"]
        y = y + jnp.broadcast_to(p["bias"], y.shape)
        if mutable is False:
            return y
        # Like Flax: the mutable collections come back; batch_stats counts calls.
        new = {}
        for c in mutable:
            new[c] = {"mean": variables[c]["mean"] + 1.0}
        return y, new


def test_flatten_flax_to_haiku_joins_nested_keys():
    nested = {"a": {"b": {"w": 1}, "c": 2}, "top": 3}
    assert hkflax.flatten_flax_to_haiku(nested) == {"a/b": {"w": 1}, "a": {"c": 2}, "~": {"top": 3}}


def test_lift_stores_params_under_name_and_applies():
    x = jnp.ones([1, 3])
    t = hk.transform(lambda x: hkflax.lift(FakeFlaxDense(), name="flax_mod")(x))
    params = t.init(jax.random.PRNGKey(0), x)
    assert list(params) == ["flax_mod/Dense_0"]
    k = np.asarray(params["flax_mod/Dense_0"]["kernel"])
    np.testing.assert_allclose(t.apply(params, None, x), np.ones([1, 3]) @ k + 1.0, rtol=1e-6)


def test_lift_other_collections_become_state():
    # dm-haiku lifts every non-params Flax collection `c` as state "<name>/c/<path>".
    def f(x):
        return hkflax.lift(FakeFlaxDense(True), name="m")(x)

    t = hk.transform_with_state(f)
    x = jnp.ones([1, 3])
    params, state = t.init(jax.random.PRNGKey(0), x)
    assert list(params) == ["m/Dense_0"]
    assert list(state) == ["m/batch_stats/~"]
    np.testing.assert_array_equal(state["m/batch_stats/~"]["mean"], np.zeros(2))
    for step in (1.0, 2.0):
        _, state = t.apply(params, state, None, x)
        np.testing.assert_array_equal(state["m/batch_stats/~"]["mean"], np.full(2, step))


def test_lift_with_state_collections_under_plain_transform_raises():
    t = hk.transform(lambda x: hkflax.lift(FakeFlaxDense(True), name="m")(x))
    with pytest.raises(ValueError, match="transform_with_state"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 3]))


def test_lift_must_be_created_inside_transform():
    with pytest.raises(ValueError, match=r"flax\.lift"):
        hkflax.lift(FakeFlaxDense(), name="m")


def test_lift_passes_rngs_dict_and_adds_params_key():
    seen = {}

    class RngProbe(FakeFlaxDense):
        def init(self, rng, x):
            seen["rng"] = rng
            return super().init(rng["params"], x)

    class DropRngs(RngProbe):
        def apply(self, variables, x, rngs=None, mutable=False):
            return super().apply(variables, x, mutable=mutable)

    def g(x):
        return hkflax.lift(DropRngs(), name="m")(x, rngs={"dropout": jax.random.PRNGKey(1)})

    hk.transform(g).init(jax.random.PRNGKey(0), jnp.ones([1, 3]))
    assert sorted(seen["rng"]) == ["dropout", "params"]


def test_flax_module_missing_flax_is_import_and_attribute_error(monkeypatch):
    import importlib
    import sys

    from haiku_core._src import flax_interop

    monkeypatch.setattr(flax_interop, "_MODULE_CLASS", [])
    monkeypatch.setitem(sys.modules, "flax", None)
    monkeypatch.setitem(sys.modules, "flax.linen", None)
    assert not flax_interop.flax_available()
    with pytest.raises(AttributeError, match="needs flax"):
        hkflax.Module  # noqa: B018
    assert not hasattr(hkflax, "Module")
    with pytest.raises(ImportError):
        exec("from haiku_core.experimental.flax import Module", {})
    # __all__ is computed at import: reload the module with flax hidden.
    mod = importlib.reload(hkflax)
    try:
        assert "Module" not in mod.__all__
        namespace: dict = {}
        exec("from haiku_core.experimental.flax import *", namespace)
        assert "lift" in namespace and "Module" not in namespace
    finally:
        monkeypatch.undo()
        importlib.reload(hkflax)
