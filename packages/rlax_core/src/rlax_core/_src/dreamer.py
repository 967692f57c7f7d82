"""DreamerV3 building blocks: symlog, two-hot regression, return normalisation, KL balancing.

References: Hafner et al. (2023), Mastering Diverse Domains through World Models,
https://arxiv.org/abs/2301.04104 (DreamerV3).

Everything works on any leading batch shape: scalars ``[...]``, distributions over bins or
classes ``[..., K]`` and categorical latents ``[..., L, C]``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks

__all__ = [
    "PercentileNormalizerState",
    "kl_balance_loss",
    "percentile_normalize",
    "percentile_normalizer_init",
    "percentile_normalizer_update",
    "symexp",
    "symlog",
    "twohot_bins",
    "twohot_cross_entropy_loss",
    "twohot_decode",
    "twohot_encode",
    "unimix_logits",
]


def _float_array(fn: str, name: str, x: ArrayLike) -> jax.Array:
    checks.check_type(fn, **{name: (x, "float")})
    return jnp.asarray(x)


def symlog(x: ArrayLike) -> jax.Array:
    """Symmetric log squashing ``sign(x) * log(1 + |x|)``.

    The same function as ``rlax_core.signed_logp1`` (the name used by DreamerV3).
    Its inverse is ``symexp``.

    Args:
      x: ``[...]`` floating-point array.

    Returns:
      ``[...]`` array of ``x``'s shape and dtype.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``x`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, eq. 9, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(symlog(jnp.array([-1.0, 0.0, 9.0])).round(4))
      [-0.6931  0.      2.3026]
    """
    x = _float_array("rlax_core.symlog", "x", x)
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def symexp(x: ArrayLike) -> jax.Array:
    """Inverse of ``symlog``: ``sign(x) * (exp(|x|) - 1)``.

    The same function as ``rlax_core.signed_expm1``.

    Args:
      x: ``[...]`` floating-point array.

    Returns:
      ``[...]`` array of ``x``'s shape and dtype.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``x`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, eq. 9, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(symexp(jnp.array([-1.0, 0.0, 2.0])).round(4))
      [-1.7183  0.      6.3891]
    """
    x = _float_array("rlax_core.symexp", "x", x)
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def twohot_bins(num_bins: int = 255, low: float = -20.0, high: float = 20.0) -> jax.Array:
    """DreamerV3's exponentially spaced bins ``symexp(linspace(low, high, num_bins))``.

    The bins are evenly spaced in symlog space and returned in raw (return/reward) space,
    so they cover roughly ``[-4.9e8, 4.9e8]`` with the defaults and are densest near 0.
    Use them with raw targets in ``twohot_encode``/``twohot_cross_entropy_loss``. For the
    variant that interpolates in symlog space (DreamerV3's reference code), use
    ``jnp.linspace(low, high, num_bins)`` as the bins, ``symlog(target)`` as the target
    and ``symexp(twohot_decode(...))`` as the prediction.

    Args:
      num_bins: static number of bins ``K >= 2``.
      low: symlog of the smallest bin.
      high: symlog of the largest bin (``> low``).

    Returns:
      ``[K]`` float32 increasing bin values.

    Raises:
      ValueError: if ``num_bins`` is not an int >= 2 or ``high <= low``.

    References:
      Hafner et al. (2023), DreamerV3, sec. "Symlog two-hot loss",
      https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print([round(float(b), 3) for b in twohot_bins(5, -2.0, 2.0)])
      [-6.389, -1.718, 0.0, 1.718, 6.389]
    """
    fn = "rlax_core.twohot_bins"
    if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins < 2:
        raise ValueError(f"{fn}: `num_bins` must be a static int >= 2, got {num_bins!r}.")
    if not float(high) > float(low):
        raise ValueError(f"{fn}: `high` must be greater than `low`, got low={low}, high={high}.")
    return symexp(jnp.linspace(low, high, num_bins, dtype=jnp.float32))


def _check_bins(fn: str, bins: ArrayLike) -> jax.Array:
    checks.check_rank(fn, bins=(bins, 1))
    checks.check_type(fn, bins=(bins, "float"))
    bins = jnp.asarray(bins)
    if bins.shape[0] < 2:
        raise checks.ShapeAssertionError(
            f"{fn}: `bins` must hold at least 2 values, got shape {bins.shape}."
        )
    return bins


def twohot_encode(x: ArrayLike, bins: ArrayLike) -> jax.Array:
    """Two-hot encoding of scalars on arbitrary increasing bins.

    For ``b_k <= x <= b_{k+1}`` the weights are ``(b_{k+1} - x) / (b_{k+1} - b_k)`` on bin
    ``k`` and ``(x - b_k) / (b_{k+1} - b_k)`` on bin ``k + 1`` (zero elsewhere), so
    ``sum_i w_i b_i = x``. Values below ``bins[0]`` or above ``bins[-1]`` put all their
    weight on that end bin. The encoding is in the space of ``bins``: pass raw values for
    raw-space bins (``twohot_bins()``), ``symlog(values)`` for symlog-space bins.

    Args:
      x: ``[...]`` floating-point values.
      bins: ``[K]`` strictly increasing bin values (``K >= 2``; not checked for order).

    Returns:
      ``[..., K]`` weights, non-negative and summing to 1, in the promoted dtype.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``bins`` is not rank 1 with ``K >= 2``.
      DtypeAssertionError: (a ``TypeError``) if ``x`` or ``bins`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, eq. 10, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(twohot_encode(jnp.array([0.25, 5.0]), jnp.array([0.0, 1.0, 2.0])))
      [[0.75 0.25 0.  ]
       [0.   0.   1.  ]]
    """
    fn = "rlax_core.twohot_encode"
    bins = _check_bins(fn, bins)
    x = _float_array(fn, "x", x)
    dtype = jnp.result_type(x, bins)
    x = x.astype(dtype)
    bins = bins.astype(dtype)
    k = bins.shape[0]
    x = jnp.clip(x, bins[0], bins[-1])
    # Index of the lower neighbour: the last bin <= x, kept in [0, K - 2].
    lower = jnp.clip(jnp.searchsorted(bins, x, side="right") - 1, 0, k - 2)
    b_lo = bins[lower]
    b_hi = bins[lower + 1]
    w_hi = (x - b_lo) / (b_hi - b_lo)
    w_lo = 1.0 - w_hi
    return (
        jax.nn.one_hot(lower, k, dtype=dtype) * w_lo[..., None]
        + jax.nn.one_hot(lower + 1, k, dtype=dtype) * w_hi[..., None]
    )


def twohot_decode(logits: ArrayLike, bins: ArrayLike) -> jax.Array:
    """Expected bin value ``sum_i softmax(logits)_i * bins_i``.

    The result lives in the space of ``bins``: apply ``symexp`` yourself when the bins
    are in symlog space.

    Args:
      logits: ``[..., K]`` floating-point logits over the bins.
      bins: ``[K]`` bin values.

    Returns:
      ``[...]`` predictions.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``bins`` is not rank 1 or the last axis of
        ``logits`` is not ``K``; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Hafner et al. (2023), DreamerV3, sec. "Symlog two-hot loss",
      https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(round(float(twohot_decode(jnp.zeros(3), jnp.array([0.0, 1.0, 5.0]))), 4))
      2.0
    """
    fn = "rlax_core.twohot_decode"
    bins = _check_bins(fn, bins)
    logits = _float_array(fn, "logits", logits)
    _check_last_axis(fn, logits, bins.shape[0])
    probs = jax.nn.softmax(logits, axis=-1)
    probs, bins = checks.broadcast_arrays(fn, logits=probs, bins=bins)
    return jnp.sum(probs * bins, axis=-1)


def _check_last_axis(fn: str, logits: jax.Array, k: int) -> None:
    if logits.ndim < 1 or logits.shape[-1] != k:
        raise checks.ShapeAssertionError(
            f"{fn}: `logits` must have a last axis of size len(bins)={k}, got shape {logits.shape}."
        )


def twohot_cross_entropy_loss(logits: ArrayLike, target: ArrayLike, bins: ArrayLike) -> jax.Array:
    """Two-hot categorical cross-entropy: ``-sum_i twohot(target, bins)_i log softmax(logits)_i``.

    No symlog is applied inside: ``target`` must be in the same space as ``bins``.

    * Paper form: ``bins = twohot_bins()`` (raw space, exponentially spaced) and the raw
      return/reward as ``target``; predict with ``twohot_decode(logits, bins)``.
    * Symlog-space form: ``bins = jnp.linspace(-20, 20, 255)``, ``target = symlog(y)``;
      predict with ``symexp(twohot_decode(logits, bins))``.

    The target carries no gradient.

    Args:
      logits: ``[..., K]`` floating-point logits over the bins.
      target: ``[...]`` regression targets in the space of ``bins``.
      bins: ``[K]`` strictly increasing bin values.

    Returns:
      ``[...]`` loss per target.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``bins`` is not rank 1, the last axis of
        ``logits`` is not ``K`` or the leading shapes do not broadcast; DtypeAssertionError:
        (a ``TypeError``) on non-float inputs.

    References:
      Hafner et al. (2023), DreamerV3, eq. 10-11, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(round(float(twohot_cross_entropy_loss(jnp.zeros(3), jnp.array(0.5), jnp.arange(3.0))), 4))
      1.0986
    """
    fn = "rlax_core.twohot_cross_entropy_loss"
    bins = _check_bins(fn, bins)
    logits = _float_array(fn, "logits", logits)
    _check_last_axis(fn, logits, bins.shape[0])
    weights = jax.lax.stop_gradient(twohot_encode(target, bins))
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    weights, log_probs = checks.broadcast_arrays(fn, target=weights, logits=log_probs)
    return -jnp.sum(weights * log_probs, axis=-1)


class PercentileNormalizerState(NamedTuple):
    """State of DreamerV3's return normaliser.

    Fields:
      range_ema: ``[]`` float32 exponential moving average of the percentile range
        ``P_high(R) - P_low(R)`` (0 before the first update).
    """

    range_ema: jax.Array


def percentile_normalizer_init() -> PercentileNormalizerState:
    """Initial return-normaliser state (the range average starts at 0, giving scale 1).

    Returns:
      A ``PercentileNormalizerState`` with a float32 scalar ``range_ema = 0``.

    Examples:
      >>> print(percentile_normalizer_init().range_ema)
      0.0
    """
    return PercentileNormalizerState(range_ema=jnp.zeros((), jnp.float32))


def percentile_normalizer_update(
    state: PercentileNormalizerState,
    returns: ArrayLike,
    decay: float = 0.99,
    low: float = 5.0,
    high: float = 95.0,
) -> tuple[PercentileNormalizerState, jax.Array]:
    """Updates the return-range average and returns the advantage scale ``max(1, S)``.

    ``S <- decay * S + (1 - decay) * (P_high(R) - P_low(R))``, with percentiles over all
    elements of ``returns`` (linear interpolation, as ``numpy.percentile``). DreamerV3
    divides advantages by the scale: ``A / max(1, S)``, which shrinks large returns but
    never amplifies small ones. The statistics carry no gradient. Pure: jit it with the
    rest of the update step; for data-parallel training gather ``returns`` first.

    Args:
      state: current ``PercentileNormalizerState``.
      returns: ``[...]`` floating-point returns of the current batch (e.g. lambda-returns).
      decay: EMA decay in ``[0, 1)``.
      low: lower percentile in ``[0, 100]``.
      high: upper percentile in ``[0, 100]``, ``>= low``.

    Returns:
      ``(new_state, scale)`` with ``scale = max(1, new_state.range_ema)``, a float32 scalar.

    Raises:
      ValueError: if ``decay``, ``low`` or ``high`` is out of range, or ``returns`` is empty.
      DtypeAssertionError: (a ``TypeError``) if ``returns`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, eq. 7-8, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> state, scale = percentile_normalizer_update(percentile_normalizer_init(), jnp.arange(101.0), decay=0.5)
      >>> print(round(float(state.range_ema), 3), round(float(scale), 3))
      45.0 45.0
    """
    fn = "rlax_core.percentile_normalizer_update"
    returns = _float_array(fn, "returns", returns)
    if returns.size == 0:
        raise checks.ShapeAssertionError(
            f"{fn}: `returns` must not be empty, got shape {returns.shape}."
        )
    for name, value, lo, hi in (("low", low, 0.0, 100.0), ("high", high, 0.0, 100.0)):
        if isinstance(value, (int, float)) and not lo <= value <= hi:
            raise ValueError(f"{fn}: `{name}` must be a percentile in [0, 100], got {value}.")
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and high < low:
        raise ValueError(f"{fn}: `high` must be >= `low`, got low={low}, high={high}.")
    if isinstance(decay, (int, float)) and not 0.0 <= decay < 1.0:
        raise ValueError(f"{fn}: `decay` must be in [0, 1), got {decay}.")
    flat = jax.lax.stop_gradient(jnp.reshape(returns, (-1,)).astype(jnp.float32))
    p_low, p_high = jnp.percentile(flat, jnp.array([low, high], jnp.float32))
    range_ema = decay * state.range_ema + (1.0 - decay) * (p_high - p_low)
    range_ema = jnp.asarray(range_ema, jnp.float32)
    return PercentileNormalizerState(range_ema=range_ema), jnp.maximum(range_ema, 1.0)


def percentile_normalize(state: PercentileNormalizerState, x: ArrayLike) -> jax.Array:
    """Divides ``x`` (e.g. advantages) by the return scale ``max(1, state.range_ema)``.

    Args:
      state: a ``PercentileNormalizerState`` (typically just updated).
      x: ``[...]`` floating-point values.

    Returns:
      ``[...]`` ``x / max(1, S)``; the scale carries no gradient.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``x`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, eq. 7, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(percentile_normalize(PercentileNormalizerState(jnp.float32(4.0)), jnp.array([2.0, -8.0])))
      [ 0.5 -2. ]
    """
    x = _float_array("rlax_core.percentile_normalize", "x", x)
    scale = jax.lax.stop_gradient(jnp.maximum(jnp.asarray(state.range_ema), 1.0))
    return x / scale.astype(x.dtype)


def _categorical_kl(p_logits: jax.Array, q_logits: jax.Array) -> jax.Array:
    """``KL(softmax(p) || softmax(q))`` over the last axis; classes with ``p = 0`` add 0."""
    log_p = jax.nn.log_softmax(p_logits, axis=-1)
    log_q = jax.nn.log_softmax(q_logits, axis=-1)
    p = jnp.exp(log_p)
    terms = jnp.where(p > 0, p * (log_p - log_q), jnp.zeros_like(p))
    return jnp.sum(terms, axis=-1)


def kl_balance_loss(
    post_logits: ArrayLike,
    prior_logits: ArrayLike,
    *,
    dyn_scale: float = 0.5,
    rep_scale: float = 0.1,
    free_bits: float = 1.0,
) -> jax.Array:
    """DreamerV3 KL balancing with free bits for categorical latents.

    With ``KL`` summed over the ``L`` latents (each a categorical over ``C`` classes)::

        L_dyn = max(free_bits, KL(sg(post) || prior))
        L_rep = max(free_bits, KL(post || sg(prior)))
        loss  = dyn_scale * L_dyn + rep_scale * L_rep

    ``L_dyn`` trains the prior (dynamics predictor) towards the posterior; ``L_rep`` trains
    the posterior (representation) towards the prior. Below ``free_bits`` nats the loss is
    flat, so neither receives gradient. Apply ``unimix_logits`` to both first if your model
    uses DreamerV3's 1% uniform mix.

    Args:
      post_logits: ``[..., L, C]`` posterior logits.
      prior_logits: ``[..., L, C]`` prior logits (leading shapes broadcast).
      dyn_scale: weight of the dynamics term (paper: 0.5).
      rep_scale: weight of the representation term (paper: 0.1).
      free_bits: clip threshold in nats applied to the summed KL (paper: 1.0).

    Returns:
      ``[...]`` loss per time step / batch element.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if an input has rank < 2 or the shapes do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Hafner et al. (2023), DreamerV3, eq. 5, https://arxiv.org/abs/2301.04104.

    Examples:
      >>> post = jnp.array([[4.0, 0.0], [0.0, 4.0]])
      >>> print(round(float(kl_balance_loss(post, jnp.zeros((2, 2)))), 4))  # KL = 1.2062 nats
      0.7237
      >>> print(round(float(kl_balance_loss(post, post)), 4))  # KL = 0: both terms sit at free bits
      0.6
    """
    fn = "rlax_core.kl_balance_loss"
    post = _float_array(fn, "post_logits", post_logits)
    prior = _float_array(fn, "prior_logits", prior_logits)
    for name, x in (("post_logits", post), ("prior_logits", prior)):
        if x.ndim < 2:
            raise checks.ShapeAssertionError(
                f"{fn}: `{name}` must have shape [..., num_latents, num_classes] (rank >= 2), "
                f"got shape {x.shape}."
            )
    post, prior = checks.broadcast_arrays(fn, post_logits=post, prior_logits=prior)
    sg = jax.lax.stop_gradient
    kl_dyn = jnp.sum(_categorical_kl(sg(post), prior), axis=-1)
    kl_rep = jnp.sum(_categorical_kl(post, sg(prior)), axis=-1)
    return dyn_scale * jnp.maximum(kl_dyn, free_bits) + rep_scale * jnp.maximum(kl_rep, free_bits)


def unimix_logits(logits: ArrayLike, unimix: float = 0.01) -> jax.Array:
    """Log-probabilities of ``(1 - unimix) * softmax(logits) + unimix / K``.

    DreamerV3 mixes 1% of a uniform distribution into its categorical latents (and actor)
    so no class has probability zero and KLs stay bounded.

    Args:
      logits: ``[..., K]`` floating-point logits.
      unimix: mixing weight in ``[0, 1]``.

    Returns:
      ``[..., K]`` normalised log-probabilities (valid logits for any softmax consumer).

    Raises:
      ValueError: if ``logits`` has rank 0 or ``unimix`` (a Python number) is outside ``[0, 1]``.
      DtypeAssertionError: (a ``TypeError``) if ``logits`` is not floating point.

    References:
      Hafner et al. (2023), DreamerV3, sec. "Unimix categoricals", https://arxiv.org/abs/2301.04104.

    Examples:
      >>> print(jnp.exp(unimix_logits(jnp.array([0.0, -jnp.inf]), 0.1)).round(4))
      [0.95 0.05]
    """
    fn = "rlax_core.unimix_logits"
    logits = _float_array(fn, "logits", logits)
    if logits.ndim < 1:
        raise checks.ShapeAssertionError(
            f"{fn}: `logits` must have rank >= 1 [..., K], got shape ()."
        )
    if isinstance(unimix, (int, float)) and not 0.0 <= unimix <= 1.0:
        raise ValueError(f"{fn}: `unimix` must be in [0, 1], got {unimix}.")
    k = logits.shape[-1]
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    u = jnp.asarray(unimix, logits.dtype)
    return jnp.logaddexp(jnp.log1p(-u) + log_probs, jnp.log(u / k))
