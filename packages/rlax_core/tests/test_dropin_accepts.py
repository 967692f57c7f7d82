"""Inputs rlax 0.1.9 accepts (or rejects with a given exception type) that we must match.

Literal expected values marked "upstream" were produced by rlax 0.1.9 by hand and written
here; they are also derived by hand in the comments next to them.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax

R = jnp.array([1.0, 2.0, 3.0])
D = jnp.array([0.5, 0.9, 0.8])
V = jnp.array([4.0, 5.0, 6.0])


@pytest.mark.parametrize("n", [0, -1])
def test_n_step_bootstrapped_returns_n_below_one_raises_type_and_value_error(n):
    # Upstream raises TypeError (a negative broadcast shape); we keep ValueError too.
    for exc in (TypeError, ValueError):
        with pytest.raises(
            exc, match=rf"rlax_core\.n_step_bootstrapped_returns: `n` must be .*>= 1, got {n}"
        ):
            rlax.n_step_bootstrapped_returns(R, D, V, n=n)


def test_n_step_bootstrapped_returns_non_integer_n_raises_type_error():
    # Upstream raises TypeError for a float n.
    with pytest.raises(TypeError, match=r"rlax_core\.n_step_bootstrapped_returns: `n`"):
        rlax.n_step_bootstrapped_returns(R, D, V, n=2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "n, expected",
    [
        # G_t = r_t + d_t v_t: [1 + .5*4, 2 + .9*5, 3 + .8*6] (upstream gives the same).
        (True, [3.0, 6.5, 7.8]),
        # G_0 = 1 + .5 (2 + .9*5), G_1 = 2 + .9 (3 + .8*6), G_2 = 3 + .8*6 (upstream: same).
        (np.int64(2), [4.25, 9.02, 7.8]),
    ],
)
def test_n_step_bootstrapped_returns_accepts_integer_like_n(n, expected):
    out = rlax.n_step_bootstrapped_returns(R, D, V, n=n)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.shape == (3,) and out.dtype == jnp.float32
