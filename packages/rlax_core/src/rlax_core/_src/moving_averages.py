"""Debiased exponential moving averages of the first two moments of a pytree.

Each leaf is summarised by scalars: the EMA of its mean and of its mean square, so
``EmaMoments`` holds one mean and one variance per leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src.tree_util import MappingMixin, mappable_dataclass


@mappable_dataclass(frozen=True)
class EmaMoments(MappingMixin):
    """Debiased moment estimates.

    Attributes:
      mean: pytree (structure of the tracked tree) of [] debiased means.
      variance: pytree of [] debiased variances.
    """

    mean: Any
    variance: Any


@mappable_dataclass(frozen=True)
class EmaState(MappingMixin):
    """Raw EMA state.

    Attributes:
      mu: pytree of [] EMAs of each leaf's mean.
      nu: pytree of [] EMAs of each leaf's mean square.
      decay_product: [] product of the decays applied so far (for debiasing).
    """

    mu: Any
    nu: Any
    decay_product: float | jax.Array

    def debiased_moments(self) -> EmaMoments:
        """Bias-corrected ``EmaMoments``.

        Divides by ``max(1 - decay_product, tiny)`` (``tiny``: the smallest normal number of
        ``decay_product``'s float dtype), so nothing is divided by zero when
        ``decay_product`` is 1 (no update yet, or ``decay=1``): the mean is then ``mu / tiny``
        (0 for a zero ``mu``) and the variance ``max(nu / tiny - mean^2, 0)``.
        """
        decay_product = jnp.asarray(self.decay_product)
        dtype = decay_product.dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            dtype = jnp.float32
        tiny = jnp.finfo(dtype).tiny
        inverse = 1.0 / jnp.maximum(1.0 - decay_product, jnp.asarray(tiny, dtype))
        mean = jax.tree.map(lambda mu: mu * inverse, self.mu)
        variance = jax.tree.map(
            lambda nu, m: jnp.maximum(nu * inverse - jnp.square(m), 0.0), self.nu, mean
        )
        return EmaMoments(mean=mean, variance=variance)


def create_ema(
    decay: ArrayLike = 0.999, pmean_axis_name: Hashable | None = None
) -> tuple[Callable[[Any], EmaState], Callable[[Any, EmaState], tuple[EmaMoments, EmaState]]]:
    """Builds ``(init_state, update_moments)`` tracking the moments of every leaf of a tree.

    ``update_moments(tree, state)`` updates ``mu <- decay * mu + (1 - decay) * mean(leaf)``
    and ``nu`` likewise with ``mean(leaf^2)`` (means averaged across devices with
    ``pmean_axis_name``), and returns ``(state.debiased_moments(), state)``.

    Args:
      decay: EMA decay in [0, 1] (1 freezes the statistics).
      pmean_axis_name: optional mapped axis name to average the statistics over.

    Returns:
      ``(init_state(template_tree) -> EmaState, update_moments(tree, state))``.

    References:
      Kingma & Ba (2015), Adam: A Method for Stochastic Optimization (bias correction),
      https://arxiv.org/abs/1412.6980.

    Examples:
      >>> init_state, update_moments = create_ema(decay=0.9)
      >>> moments, state = update_moments(jnp.array([1.0, 3.0]), init_state(jnp.zeros(2)))
      >>> print(round(float(moments.mean), 4))
      2.0
    """

    def init_state(template_tree: Any) -> EmaState:
        zeros = jax.tree.map(lambda x: jnp.zeros([], jnp.mean(jnp.asarray(x)).dtype), template_tree)
        return EmaState(mu=zeros, nu=zeros, decay_product=jnp.ones([], jnp.float32))

    def _stat(x: Any) -> jax.Array:
        m = jnp.mean(x)
        if pmean_axis_name is not None:
            m = jax.lax.pmean(m, pmean_axis_name)
        return m

    def update_moments(tree: Any, state: EmaState) -> tuple[EmaMoments, EmaState]:
        mean = jax.tree.map(lambda x: _stat(jnp.asarray(x)), tree)
        mean_sq = jax.tree.map(lambda x: _stat(jnp.square(jnp.asarray(x))), tree)
        mu = jax.tree.map(lambda old, new: decay * old + (1.0 - decay) * new, state.mu, mean)
        nu = jax.tree.map(lambda old, new: decay * old + (1.0 - decay) * new, state.nu, mean_sq)
        new_state = EmaState(mu=mu, nu=nu, decay_product=state.decay_product * decay)
        return new_state.debiased_moments(), new_state

    return init_state, update_moments
