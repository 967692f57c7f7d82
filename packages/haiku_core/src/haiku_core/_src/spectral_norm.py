"""Spectral normalisation by power iteration (Miyato et al., 2018)."""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src.errors import module_prefix
from haiku_core._src.moving_averages import _tree_entries

__all__ = ["SNParamsTree", "SpectralNorm"]


class NoPowerIterationError(ValueError, UnboundLocalError):
    """``SpectralNorm`` was given ``n_steps < 1``.

    A ``ValueError``; also an ``UnboundLocalError`` (a ``NameError``), which is what
    dm-haiku raises when such a module is called.
    """


def _l2_normalize(x: jax.Array, eps: float) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.sum(jnp.square(x), keepdims=True) + eps)


class SpectralNorm(hk_module.Module):
    """Divides a weight matrix by an estimate of its largest singular value.

    The estimate comes from ``n_steps`` of power iteration started at the vector
    ``u0`` kept in state; with ``update_stats`` the new ``u0`` and the estimate
    ``sigma`` are written back, so the estimate improves across calls. Inputs
    of rank > 2 are treated as ``[-1, C]`` matrices.

    State: ``u0`` ``[1, C]`` (random normal at init) and ``sigma`` ``[]``.

    References:
      Miyato, Kataoka, Koyama & Yoshida (2018), "Spectral Normalization for
      Generative Adversarial Networks", https://arxiv.org/abs/1802.05957

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda w: hk.SpectralNorm()(w))
    >>> w = jnp.eye(3) * 2.0
    >>> params, state = f.init(jax.random.PRNGKey(0), w)
    >>> out, state = f.apply(params, state, None, w)
    >>> out.shape
    (3, 3)
    """

    def __init__(self, eps: float = 1e-4, n_steps: int = 1, name: str | None = None):
        """Creates the module.

        Args:
          eps: added inside the square root when normalising the iteration vectors.
          n_steps: power-iteration steps per call.
          name: module name; defaults to ``spectral_norm``.
        """
        super().__init__(name=name)
        owner = module_prefix(self)
        try:
            steps = operator.index(n_steps)
        except TypeError:
            raise TypeError(
                f"{owner}: `n_steps` must be an int (Python or NumPy integer), got "
                f"{n_steps!r} of type {type(n_steps).__name__}."
            ) from None
        if steps < 1:
            raise NoPowerIterationError(
                f"{owner}: `n_steps` must be >= 1 (at least one power-iteration step is "
                f"needed to estimate the spectral norm), got {steps}."
            )
        self.eps = eps
        self.n_steps = n_steps

    def __call__(
        self,
        value: jax.typing.ArrayLike,
        update_stats: bool = True,
        error_on_non_matrix: bool = False,
    ) -> jax.Array:
        """Spectrally normalises ``value``.

        Args:
          value: ``[..., C]`` array of rank >= 2 (rank > 2 is flattened to ``[-1, C]``).
          update_stats: write the new ``u0`` and ``sigma`` to state.
          error_on_non_matrix: raise instead of flattening an input of rank > 2.

        Returns:
          ``value / sigma``, same shape as ``value``.

        Raises:
          ValueError: if ``value`` has rank < 2, or rank > 2 with
            ``error_on_non_matrix``.
        """
        owner = module_prefix(self)
        value = jnp.asarray(value)
        value_shape = value.shape
        if value.ndim < 2:
            raise ValueError(
                f"{owner}: `value` must be a matrix or higher-rank array (rank >= 2) to "
                f"have a spectral norm, got shape {value_shape}."
            )
        if value.ndim > 2:
            if error_on_non_matrix:
                raise ValueError(
                    f"{owner}: `value` is {value.ndim}D (shape {value_shape}) but "
                    "error_on_non_matrix=True; pass a 2D matrix."
                )
            value = jnp.reshape(value, (-1, value.shape[-1]))

        u0 = base.get_state("u0", [1, value.shape[-1]], value.dtype, init=hk_init.RandomNormal())
        u0 = jax.lax.stop_gradient(u0)
        v0 = jnp.zeros([1, value.shape[0]], value.dtype)
        for _ in range(self.n_steps):
            v0 = _l2_normalize(jnp.matmul(u0, value.T), self.eps)
            u0 = _l2_normalize(jnp.matmul(v0, value), self.eps)
        u0 = jax.lax.stop_gradient(u0)
        v0 = jax.lax.stop_gradient(v0)
        sigma = jnp.matmul(jnp.matmul(v0, value), jnp.transpose(u0))[0, 0]
        value = value / sigma
        if update_stats:
            base.set_state("u0", u0)
            base.set_state("sigma", sigma)
        return jnp.reshape(value, value_shape)

    @property
    def u0(self) -> jax.Array:
        """The power-iteration vector ``[1, C]`` from state."""
        return base.get_state("u0")

    @property
    def sigma(self) -> jax.Array:
        """The last singular-value estimate ``[]`` from state.

        Before any call with ``update_stats=True`` has stored one, this reads as
        (and creates) a float32 ``1.0``, the neutral scale.
        """
        return base.get_state("sigma", shape=(), dtype=jnp.float32, init=jnp.ones)


class SNParamsTree(hk_module.Module):
    """Applies :class:`SpectralNorm` to every leaf of a params-like tree.

    Leaf ``tree[m][n]`` is handled by a child named ``f"{m}/{n}"`` with ``/``
    replaced by ``__`` and ``~`` by ``_tilde``. Leaves whose ``"m/n"`` key
    matches ``ignore_regex`` (``re.match``) are returned unchanged.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda t: hk.SNParamsTree()(t))
    >>> _, state = f.init(jax.random.PRNGKey(0), {"mlp/~/linear_0": {"w": jnp.ones([3, 4])}})
    >>> list(state)
    ['sn_params_tree/mlp___tilde__linear_0__w']
    """

    def __init__(
        self,
        eps: float = 1e-4,
        n_steps: int = 1,
        ignore_regex: str = "",
        name: str | None = None,
    ):
        """Creates the module.

        Args:
          eps: see :class:`SpectralNorm`.
          n_steps: see :class:`SpectralNorm`.
          ignore_regex: leaves whose ``"module/name"`` key matches are left alone.
          name: module name; defaults to ``sn_params_tree``.
        """
        super().__init__(name=name)
        self.eps = eps
        self.n_steps = n_steps
        self.ignore_regex = ignore_regex

    def __call__(
        self, tree: Mapping[str, Mapping[str, Any]], update_stats: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Normalises every leaf of ``tree``.

        Args:
          tree: two-level mapping ``{module_name: {name: array}}`` of matrices.
          update_stats: write the new power-iteration state.

        Returns:
          A tree of the same structure with normalised leaves.
        """
        out: dict[str, dict[str, Any]] = {}
        owner = module_prefix(self)
        for module_name, leaf_name, leaf in _tree_entries(tree, owner):
            key = f"{module_name}/{leaf_name}"
            if self.ignore_regex and re.match(self.ignore_regex, key):
                new = leaf
            else:
                child = key.replace("/", "__").replace("~", "_tilde")
                new = SpectralNorm(self.eps, self.n_steps, name=child)(
                    leaf, update_stats=update_stats
                )
            out.setdefault(module_name, {})[leaf_name] = new
        return out


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    SpectralNorm,
    SNParamsTree,
):
    _obj.__module__ = "haiku_core"
del _obj
