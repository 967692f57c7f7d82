"""assert_grads_numerical passes on correct custom gradients and fails on wrong ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shared_testing.grads import assert_grads_numerical


@jax.custom_vjp
def wrong_grad_square(x):
    return x**2


def _fwd(x):
    return x**2, x


def _bwd(x, g):
    return (g * 3.0 * x,)  # wrong on purpose: true derivative is 2x


wrong_grad_square.defvjp(_fwd, _bwd)


@pytest.mark.x64
def test_correct_gradients_pass():
    x = jnp.asarray([0.3, -1.2, 2.0], jnp.float64)
    assert_grads_numerical(lambda x: jnp.sin(x) * x, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.x64
def test_wrong_gradient_fails_with_clear_message():
    x = jnp.asarray([0.5, 1.5], jnp.float64)
    with pytest.raises(AssertionError) as info:
        assert_grads_numerical(wrong_grad_square, x)
    msg = str(info.value)
    assert msg.startswith("assert_grads_numerical: derivatives of wrong_grad_square disagree")
    assert "order=1, modes=('rev',)" in msg
    assert "arg0=[(2,):float64]" in msg


def test_float32_with_loose_tolerance():
    x = np.asarray([0.5, -0.25], np.float32)
    assert_grads_numerical(jnp.tanh, x, eps=1e-3, rtol=1e-2, atol=1e-2)


def test_bad_mode_is_value_error():
    with pytest.raises(ValueError, match="modes must be 'fwd'/'rev', got \\['backward'\\]"):
        assert_grads_numerical(jnp.tanh, np.zeros(1, np.float32), modes=("backward",))
