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

    def apply(self, variables, x):
        p = variables["params"]["Dense_0"]
        y = x @ p["kernel"]
        return y + jnp.broadcast_to(p["bias"], y.shape)


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


def test_lift_rejects_other_collections():
    t = hk.transform(lambda x: hkflax.lift(FakeFlaxDense(True), name="m")(x))
    with pytest.raises(ValueError, match=r"collections \['batch_stats'\]"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 3]))
