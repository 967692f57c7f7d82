"""The intended differences from rlax listed in docs/deliberate-differences.md.

Each test pins our side of one row; upstream's side is described in that document.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import rlax_core as rlax


def _signed_parabolic_f64(x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    # Closed-form inverse of h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x, in float64.
    z = (np.sqrt(1.0 + 4.0 * eps * (eps + 1.0 + np.abs(x))) - 1.0) / (2.0 * eps)
    return np.sign(x) * (np.square(z) - 1.0)


def test_signed_parabolic_is_accurate_in_bfloat16():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    got = rlax.signed_parabolic(jnp.asarray(x, jnp.bfloat16))
    assert got.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float64), _signed_parabolic_f64(x), rtol=2e-2)


def test_softmax_accepts_python_lists():
    logits = [1.0, 2.0]
    e = np.exp(np.asarray(logits))
    np.testing.assert_allclose(np.asarray(rlax.softmax().probs(logits)), e / e.sum(), rtol=1e-6)
