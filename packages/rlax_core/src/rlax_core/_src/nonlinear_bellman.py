"""Transformed (non-linear) Bellman operators.

A value transform ``h`` (a ``TxPair(apply=h, apply_inv=h^-1)``) lets a network predict
``h(Q)`` instead of ``Q``. The transformed operator builds targets in the original space and
maps them back: ``h(r + gamma h^-1(q_t))`` (Pohlen et al. 2018, used by R2D2 and MuZero).
The ``transformed_*`` return functions take ``tx_pair`` first and *transformed* values, and
return *transformed* returns.

References:
  Pohlen et al. (2018), Observe and Look Further: Achieving Consistent Performance on Atari.
  https://arxiv.org/abs/1805.11593
  Kapturowski et al. (2019), Recurrent Experience Replay in Distributed Reinforcement Learning,
  ICLR.
  Schrittwieser et al. (2020), Mastering Atari, Go, Chess and Shogi by Planning with a Learned
  Model, Nature 588.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import base, checks, multistep, scan, transforms, value_learning

__all__ = [
    "DISCOUNT_TRANSFORM_PAIR",
    "HYPERBOLIC_SIN_PAIR",
    "IDENTITY_PAIR",
    "SIGNED_HYPERBOLIC_PAIR",
    "SIGNED_LOGP1_PAIR",
    "TxPair",
    "compose_tx",
    "muzero_pair",
    "transformed_general_off_policy_returns_from_action_values",
    "transformed_lambda_returns",
    "transformed_n_step_q_learning",
    "transformed_n_step_returns",
    "transformed_q_lambda",
    "transformed_retrace",
    "twohot_pair",
    "unbiased_transform_pair",
]


class TxPair(NamedTuple):
    """A value transform and its inverse.

    Attributes:
      apply: ``h``, maps values to the network's (transformed) space.
      apply_inv: ``h^-1``, maps transformed values back.

    Examples:
      >>> tx = TxPair(apply=jnp.tanh, apply_inv=jnp.arctanh)
      >>> print(tx.apply_inv(tx.apply(jnp.array([0.5]))).round(4))
      [0.5]
    """

    apply: Callable[..., jax.Array]
    apply_inv: Callable[..., jax.Array]


def _discount_to_horizon(x: ArrayLike) -> jax.Array:
    return -jnp.log1p(-jnp.asarray(x))


def _horizon_to_discount(x: ArrayLike) -> jax.Array:
    return -jnp.expm1(-jnp.asarray(x))


IDENTITY_PAIR = TxPair(transforms.identity, transforms.identity)
SIGNED_LOGP1_PAIR = TxPair(transforms.signed_logp1, transforms.signed_expm1)
SIGNED_HYPERBOLIC_PAIR = TxPair(transforms.signed_hyperbolic, transforms.signed_parabolic)
HYPERBOLIC_SIN_PAIR = TxPair(jnp.arcsinh, jnp.sinh)
DISCOUNT_TRANSFORM_PAIR = TxPair(_discount_to_horizon, _horizon_to_discount)


def twohot_pair(min_value: float, max_value: float, num_bins: int) -> TxPair:
    """TxPair of ``transform_to_2hot`` / ``transform_from_2hot`` on a fixed support.

    Args:
      min_value: smallest bin value.
      max_value: largest bin value.
      num_bins: static number of bins.

    Returns:
      ``TxPair`` mapping ``[...]`` scalars to ``[..., num_bins]`` two-hot vectors and back.

    Examples:
      >>> tx = twohot_pair(0.0, 2.0, 3)
      >>> print(tx.apply_inv(tx.apply(jnp.array([1.5]))).round(3))
      [1.5000001]
    """
    return TxPair(
        functools.partial(
            transforms.transform_to_2hot,
            min_value=min_value,
            max_value=max_value,
            num_bins=num_bins,
        ),
        functools.partial(
            transforms.transform_from_2hot,
            min_value=min_value,
            max_value=max_value,
            num_bins=num_bins,
        ),
    )


def compose_tx(*tx_list: TxPair) -> TxPair:
    """Chains TxPairs: ``apply`` runs them in order, ``apply_inv`` in reverse order.

    Args:
      *tx_list: the TxPairs, first applied first.

    Returns:
      The composed ``TxPair``.

    Examples:
      >>> tx = compose_tx(SIGNED_LOGP1_PAIR, IDENTITY_PAIR)
      >>> print(tx.apply_inv(tx.apply(jnp.array([3.0]))).round(4))
      [3.]
    """
    tx_list = tuple(tx_list)

    def apply(x):
        for tx in tx_list:
            x = tx.apply(x)
        return x

    def apply_inv(x):
        for tx in reversed(tx_list):
            x = tx.apply_inv(x)
        return x

    return TxPair(apply, apply_inv)


def muzero_pair(min_value: float, max_value: float, num_bins: int, tx: TxPair) -> TxPair:
    """MuZero value representation: squash with ``tx`` then two-hot on a fixed support.

    Args:
      min_value: smallest bin value (in the squashed space).
      max_value: largest bin value (in the squashed space).
      num_bins: static number of bins.
      tx: squashing ``TxPair`` (e.g. ``SIGNED_HYPERBOLIC_PAIR``).

    Returns:
      ``TxPair`` mapping ``[...]`` values to ``[..., num_bins]`` and back.

    References:
      Schrittwieser et al. (2020), Mastering Atari, Go, Chess and Shogi by Planning with a
      Learned Model, Nature 588, Appendix F. https://arxiv.org/abs/1911.08265

    Examples:
      >>> tx = muzero_pair(-2.0, 2.0, 5, IDENTITY_PAIR)
      >>> print(tx.apply(jnp.array([0.5])).round(3))
      [[0.  0.  0.5 0.5 0. ]]
    """
    return compose_tx(tx, twohot_pair(min_value, max_value, num_bins))


def unbiased_transform_pair(
    min_value: float, max_value: float, num_bins: int, tx: TxPair
) -> TxPair:
    """Two-hot on a non-uniform support: bins evenly spaced in ``tx``-space, weights in value space.

    The support is ``tx.apply_inv(linspace(min_value, max_value, num_bins))``; a value (clipped
    to the support) puts mass on its two neighbouring support points linearly in *value*
    space, so decoding (the expectation over the support) returns it unbiased, unlike
    ``muzero_pair`` whose decoding is only exact in ``tx``-space.

    Args:
      min_value: smallest bin position in ``tx``-space.
      max_value: largest bin position in ``tx``-space.
      num_bins: static number of bins (``>= 2``).
      tx: the ``TxPair`` that spaces the bins (e.g. ``SIGNED_HYPERBOLIC_PAIR``).

    Returns:
      ``TxPair`` mapping ``[...]`` values to ``[..., num_bins]`` probabilities and back.

    Examples:
      >>> tx = unbiased_transform_pair(-2.0, 2.0, 5, SIGNED_HYPERBOLIC_PAIR)
      >>> print(tx.apply_inv(tx.apply(jnp.array([0.7, 3.0]))).round(4))
      [0.7 3. ]
    """
    if not isinstance(num_bins, int) or num_bins < 2:
        raise ValueError(
            f"rlax_core.unbiased_transform_pair: `num_bins` must be an int >= 2, got {num_bins!r}."
        )

    def support(dtype):
        return tx.apply_inv(jnp.linspace(min_value, max_value, num_bins, dtype=dtype))

    def apply(x):
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        s = support(x.dtype)
        x = jnp.clip(x, s[0], s[-1])
        s_b = jnp.reshape(s, (1,) * x.ndim + (num_bins,))
        lower = jnp.clip(jnp.sum(x[..., None] >= s_b, axis=-1) - 1, 0, num_bins - 2)
        s_lower = s[lower]
        s_upper = s[lower + 1]
        p_upper = (x - s_lower) / (s_upper - s_lower)
        return (
            base.one_hot(lower, num_bins, x.dtype) * (1.0 - p_upper)[..., None]
            + base.one_hot(lower + 1, num_bins, x.dtype) * p_upper[..., None]
        )

    def apply_inv(probs):
        probs = jnp.asarray(probs)
        s = jnp.reshape(support(probs.dtype), (1,) * (probs.ndim - 1) + (num_bins,))
        return jnp.sum(probs * s, axis=-1)

    return TxPair(apply, apply_inv)


# ------------------------------------------------------------- transformed returns


def transformed_lambda_returns(
    tx_pair: TxPair,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_t: ArrayLike,
    lambda_: ArrayLike = 1.0,
    stop_target_gradients: bool = False,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """``lambda_returns`` under a value transform: ``h(lambda_returns(r, d, h^-1(v_t)))``.

    Args:
      tx_pair: the ``TxPair`` ``(h, h^-1)``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      v_t: ``[T]`` transformed values ``h(V)``.
      lambda_: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the returns (default False).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` transformed lambda-returns.

    References:
      Pohlen et al. (2018), Observe and Look Further. https://arxiv.org/abs/1805.11593

    Examples:
      >>> print(transformed_lambda_returns(
      ...     SIGNED_LOGP1_PAIR, jnp.ones(2), jnp.full(2, 0.5), jnp.zeros(2)).round(4))
      [0.9163 0.6931]
    """
    returns = multistep.lambda_returns(
        r_t,
        discount_t,
        tx_pair.apply_inv(v_t),
        lambda_,
        stop_target_gradients,
        method=method,
        unroll=unroll,
    )
    return tx_pair.apply(returns)


def transformed_n_step_returns(
    tx_pair: TxPair,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_t: ArrayLike,
    n: int,
    lambda_t: ArrayLike = 1.0,
    stop_target_gradients: bool = False,
) -> jax.Array:
    """``n_step_bootstrapped_returns`` under a value transform.

    Args:
      tx_pair: the ``TxPair`` ``(h, h^-1)``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      v_t: ``[T]`` transformed values.
      n: static number of steps.
      lambda_t: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the returns (default False).

    Returns:
      ``[T]`` transformed n-step returns.

    References:
      Pohlen et al. (2018), Observe and Look Further. https://arxiv.org/abs/1805.11593

    Examples:
      >>> print(transformed_n_step_returns(
      ...     SIGNED_LOGP1_PAIR, jnp.ones(2), jnp.full(2, 0.5), jnp.zeros(2), 1).round(4))
      [0.6931 0.6931]
    """
    returns = multistep.n_step_bootstrapped_returns(
        r_t, discount_t, tx_pair.apply_inv(v_t), n, lambda_t, stop_target_gradients
    )
    return tx_pair.apply(returns)


def transformed_general_off_policy_returns_from_action_values(
    tx_pair: TxPair,
    q_t: ArrayLike,
    a_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    c_t: ArrayLike,
    pi_t: ArrayLike,
    stop_target_gradients: bool = False,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """``general_off_policy_returns_from_action_values`` under a value transform.

    Args:
      tx_pair: the ``TxPair`` ``(h, h^-1)``.
      q_t: ``[T, A]`` transformed action values.
      a_t: ``[T]`` int actions.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      c_t: ``[T]`` traces.
      pi_t: ``[T, A]`` target-policy probabilities.
      stop_target_gradients: whether to stop gradients through the returns (default False).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` transformed off-policy returns.

    References:
      Pohlen et al. (2018), Observe and Look Further. https://arxiv.org/abs/1805.11593

    Examples:
      >>> print(transformed_general_off_policy_returns_from_action_values(
      ...     SIGNED_LOGP1_PAIR, jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.ones(2), jnp.full(2, 0.5),
      ...     jnp.ones(2), jnp.full((2, 2), 0.5)).round(4))
      [0.9163 0.6931]
    """
    returns = multistep.general_off_policy_returns_from_action_values(
        tx_pair.apply_inv(q_t),
        a_t,
        r_t,
        discount_t,
        c_t,
        pi_t,
        stop_target_gradients,
        method=method,
        unroll=unroll,
    )
    return tx_pair.apply(returns)


def transformed_q_lambda(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    lambda_: ArrayLike,
    stop_target_gradients: bool = True,
    tx_pair: TxPair = IDENTITY_PAIR,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Peng's Q(lambda) errors with a value transform.

    Target ``h(lambda_returns(r, d, h^-1(max_a q_t)))``; error ``target - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[T, A]`` transformed action values at ``s_0 .. s_{T-1}``.
      a_tm1: ``[T]`` int actions taken.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      q_t: ``[T, A]`` transformed action values at ``s_1 .. s_T``.
      lambda_: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      tx_pair: the value transform (default identity).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` errors in transformed space.

    References:
      Pohlen et al. (2018), Observe and Look Further. https://arxiv.org/abs/1805.11593
      Peng & Williams (1996), Incremental Multi-Step Q-Learning, Machine Learning 22.

    Examples:
      >>> print(transformed_q_lambda(jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.ones(2), jnp.full(2, 0.5),
      ...                            jnp.zeros((2, 2)), 0.5, tx_pair=SIGNED_LOGP1_PAIR).round(4))
      [0.8109 0.6931]
    """
    fn = "rlax_core.transformed_q_lambda"
    value_learning._check_trajectory(
        fn, q_tm1, a_tm1, r_t, discount_t, q_t, lambda_, lambda_type=False
    )
    q_tm1, a_tm1, q_t = map(jnp.asarray, (q_tm1, a_tm1, q_t))
    qa_tm1 = base.batched_index(q_tm1, a_tm1)
    v_t = jnp.max(q_t, axis=-1)
    target_tm1 = transformed_lambda_returns(
        tx_pair, r_t, discount_t, v_t, lambda_, stop_target_gradients, method=method, unroll=unroll
    )
    return target_tm1 - qa_tm1


def transformed_retrace(
    q_tm1: ArrayLike,
    q_t: ArrayLike,
    a_tm1: ArrayLike,
    a_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    pi_t: ArrayLike,
    mu_t: ArrayLike,
    lambda_: ArrayLike,
    eps: float = 1e-8,
    stop_target_gradients: bool = True,
    tx_pair: TxPair = IDENTITY_PAIR,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Retrace errors with a value transform (targets built in value space, then ``h``).

    Args:
      q_tm1: ``[T, A]`` transformed action values at ``s_0 .. s_{T-1}``.
      q_t: ``[T, A]`` transformed action values at ``s_1 .. s_T``.
      a_tm1: ``[T]`` int actions taken at ``s_0 .. s_{T-1}``.
      a_t: ``[T]`` int actions taken at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      pi_t: ``[T, A]`` target-policy probabilities.
      mu_t: ``[T]`` behaviour probabilities of ``a_t``.
      lambda_: ``[]`` or ``[T]`` trace decay.
      eps: small constant added to ``mu_t``.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      tx_pair: the value transform (default identity).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` Retrace errors in transformed space.

    References:
      Pohlen et al. (2018), Observe and Look Further. https://arxiv.org/abs/1805.11593
      Munos et al. (2016), Safe and Efficient Off-Policy Reinforcement Learning, NeurIPS.

    Examples:
      >>> print(transformed_retrace(
      ...     jnp.zeros((2, 2)), jnp.zeros((2, 2)), jnp.array([0, 0]), jnp.array([0, 1]), jnp.ones(2),
      ...     jnp.full(2, 0.5), jnp.full((2, 2), 0.5), jnp.full(2, 0.5), 1.0, tx_pair=SIGNED_LOGP1_PAIR).round(4))
      [0.9163 0.6931]
    """
    fn = "rlax_core.transformed_retrace"
    args = value_learning._check_retrace(
        fn, q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t, lambda_
    )
    q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t = args
    pi_a_t = base.batched_index(pi_t, a_t)
    c_t = jnp.minimum(1.0, pi_a_t / (mu_t + eps)) * lambda_
    target_tm1 = transformed_general_off_policy_returns_from_action_values(
        tx_pair,
        q_t,
        a_t,
        r_t,
        discount_t,
        c_t,
        pi_t,
        stop_target_gradients,
        method=method,
        unroll=unroll,
    )
    return target_tm1 - base.batched_index(q_tm1, a_tm1)


def transformed_n_step_q_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    target_q_t: ArrayLike,
    a_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    n: int,
    stop_target_gradients: bool = True,
    tx_pair: TxPair = IDENTITY_PAIR,
) -> jax.Array:
    """n-step Q-learning errors with a value transform (R2D2).

    Target ``h(n_step_bootstrapped_returns(r, d, h^-1(target_q_t[a_t]), n))``; error
    ``target - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[T, A]`` transformed action values at ``s_0 .. s_{T-1}``.
      a_tm1: ``[T]`` int actions taken.
      target_q_t: ``[T, A]`` transformed target-network action values at ``s_1 .. s_T``.
      a_t: ``[T]`` int bootstrap actions (e.g. argmax of the online network).
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      n: static number of steps.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      tx_pair: the value transform (default identity).

    Returns:
      ``[T]`` errors in transformed space.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Kapturowski et al. (2019), Recurrent Experience Replay in Distributed Reinforcement
      Learning, ICLR.

    Examples:
      >>> print(transformed_n_step_q_learning(
      ...     jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.zeros((2, 2)), jnp.array([0, 0]), jnp.ones(2),
      ...     jnp.full(2, 0.5), 1, tx_pair=SIGNED_LOGP1_PAIR).round(4))
      [0.6931 0.6931]
    """
    fn = "rlax_core.transformed_n_step_q_learning"
    checks.check_rank(
        fn,
        q_tm1=(q_tm1, 2),
        a_tm1=(a_tm1, 1),
        target_q_t=(target_q_t, 2),
        a_t=(a_t, 1),
        r_t=(r_t, 1),
        discount_t=(discount_t, 1),
    )
    checks.check_type(
        fn,
        q_tm1=(q_tm1, "float"),
        a_tm1=(a_tm1, "int"),
        target_q_t=(target_q_t, "float"),
        a_t=(a_t, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
    )
    checks.check_equal_shape(fn, q_tm1=q_tm1, target_q_t=target_q_t)
    checks.check_equal_shape(fn, a_tm1=a_tm1, a_t=a_t, r_t=r_t, discount_t=discount_t)
    checks.check_leading_dims(fn, 1, q_tm1=q_tm1, a_tm1=a_tm1)
    v_t = base.batched_index(jnp.asarray(target_q_t), jnp.asarray(a_t))
    target_tm1 = transformed_n_step_returns(
        tx_pair, r_t, discount_t, v_t, n, stop_target_gradients=stop_target_gradients
    )
    return target_tm1 - base.batched_index(jnp.asarray(q_tm1), jnp.asarray(a_tm1))
