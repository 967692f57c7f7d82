"""Multi-head scaled dot-product attention (Vaswani et al., 2017)."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import basic
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding
from haiku_core._src.errors import module_prefix
from haiku_core._src.typing import Initializer

__all__ = ["MultiHeadAttention"]


# Value used for masked-out logits by the reference (einsum) path; a fully
# masked row then gets uniform weights, as in dm-haiku.
_MASK_VALUE = -1e30


def _check_mask(mask: jax.Array, logits_shape: tuple[int, ...], owner: str) -> None:
    if mask.ndim != len(logits_shape):
        raise ValueError(
            f"{owner}: `mask` must have the same rank as the attention logits "
            f"[..., H, T, T'] = {logits_shape} (rank {len(logits_shape)}), got mask shape "
            f"{mask.shape} (rank {mask.ndim}). Add size-1 axes, e.g. mask[..., None, :, :] "
            "for a [..., T, T'] mask shared by all heads."
        )
    for m, l in zip(mask.shape, logits_shape, strict=True):
        if m not in (1, l):
            raise ValueError(
                f"{owner}: `mask` of shape {mask.shape} does not broadcast to the attention "
                f"logits [..., H, T, T'] = {logits_shape}; every mask axis must be 1 or "
                "equal to the logits axis."
            )


def _attend_einsum(q, k, v, mask, key_size):
    # q: [..., T, H, K], k: [..., T', H, K], v: [..., T', H, V]
    logits = jnp.einsum("...thd,...Thd->...htT", q, k)
    logits = logits / np.sqrt(key_size).astype(k.dtype)
    if mask is not None:
        logits = jnp.where(mask, logits, _MASK_VALUE)
    weights = jax.nn.softmax(logits)
    return jnp.einsum("...htT,...Thd->...thd", weights, v)


def _attend_fused(q, k, v, mask, key_size):
    # jax.nn.dot_product_attention wants [B, T, N, H]: flatten the leading dims.
    lead = q.shape[:-3]
    b = math.prod(lead)
    q4 = jnp.reshape(q, (b, *q.shape[-3:]))
    k4 = jnp.reshape(k, (b, *k.shape[-3:]))
    v4 = jnp.reshape(v, (b, *v.shape[-3:]))
    m4 = None
    if mask is not None:
        m = jnp.broadcast_to(jnp.asarray(mask).astype(bool), (*lead, *mask.shape[-3:]))
        m4 = jnp.reshape(m, (b, *m.shape[-3:]))
    out = jax.nn.dot_product_attention(
        q4, k4, v4, mask=m4, scale=1.0 / math.sqrt(key_size), implementation="xla"
    )
    return jnp.reshape(out, (*lead, *out.shape[-3:]))


def _weight_initializer(
    owner: str, w_init: Initializer | None, w_init_scale: float | None
) -> Initializer:
    """The projection-weight initializer implied by ``w_init`` / ``w_init_scale``.

    ``w_init`` wins when given. The legacy ``w_init_scale`` still works (it means
    ``VarianceScaling(w_init_scale)``) but warns; a non-zero scale next to an explicit
    ``w_init`` is ambiguous and rejected, as is giving neither.
    """
    if w_init_scale is None:
        if w_init is None:
            raise ValueError(
                f"{owner}: no weight initializer given. `w_init` is required, e.g. "
                "w_init=hk.initializers.VarianceScaling(1.0); got w_init=None and "
                "w_init_scale=None."
            )
        return w_init
    warnings.warn(
        f"{owner}: `w_init_scale` is deprecated; pass "
        f"w_init=hk.initializers.VarianceScaling({w_init_scale!r}) instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    if w_init is None:
        return hk_init.VarianceScaling(w_init_scale)
    if w_init and w_init_scale:
        raise ValueError(
            f"{owner}: got both `w_init` ({w_init!r}) and `w_init_scale` "
            f"({w_init_scale!r}); give only `w_init`."
        )
    return w_init


class MultiHeadAttention(hk_module.Module):
    """Multi-head attention with learned query/key/value/output projections.

    ``query``, ``key`` and ``value`` go through Linear layers named ``query``,
    ``key`` (``num_heads * key_size`` outputs) and ``value`` (``num_heads *
    value_size``); each head computes ``softmax(q k^T / sqrt(key_size)) v``;
    the heads are concatenated and projected by a Linear named ``linear`` to
    ``model_size``. All four are created inside ``__call__``, so their paths are
    ``<name>/query`` ... ``<name>/linear``.

    References:
      Vaswani et al. (2017), "Attention Is All You Need",
      https://arxiv.org/abs/1706.03762

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> def f(x):
    ...     mha = hk.MultiHeadAttention(2, 4, w_init=hk.initializers.VarianceScaling())
    ...     return mha(x, x, x)
    >>> t = hk.transform(f)
    >>> x = jnp.ones([5, 6])
    >>> t.apply(t.init(jax.random.PRNGKey(0), x), None, x).shape
    (5, 8)
    """

    def __init__(
        self,
        num_heads: int,
        key_size: int,
        w_init_scale: float | None = None,
        *,
        w_init: Initializer | None = None,
        with_bias: bool = True,
        b_init: Initializer | None = None,
        value_size: int | None = None,
        model_size: int | None = None,
        name: str | None = None,
    ):
        """Creates the module.

        Args:
          num_heads: number of heads H.
          key_size: size K of each head's queries and keys.
          w_init_scale: deprecated; use ``w_init=VarianceScaling(w_init_scale)``.
          w_init: initializer for all projection weights (required).
          with_bias: give the projections a bias.
          b_init: initializer for the biases.
          value_size: size V of each head's values (default ``key_size``).
          model_size: output size (default ``key_size * num_heads``).
          name: module name; defaults to ``multi_head_attention``.

        Raises:
          ValueError: if neither ``w_init`` nor ``w_init_scale`` is given, or both
            are given (and ``w_init_scale`` is non-zero).
        """
        super().__init__(name=name)
        self.num_heads = num_heads
        self.key_size = key_size
        self.value_size: int = value_size or key_size
        self.model_size: int = model_size or key_size * num_heads
        self.w_init: Initializer = _weight_initializer(module_prefix(self), w_init, w_init_scale)
        self.with_bias = with_bias
        self.b_init = b_init

    def __call__(
        self,
        query: jax.Array,
        key: jax.Array,
        value: jax.Array,
        mask: jax.Array | None = None,
    ) -> jax.Array:
        """Attends from ``query`` to ``key``/``value``.

        Args:
          query: ``[..., T, D_q]`` queries.
          key: ``[..., T', D_k]`` keys.
          value: ``[..., T', D_v]`` values.
          mask: optional ``[..., H, T, T']`` array (any dtype; nonzero/True = attend),
            with the same rank as the logits and every axis 1 or equal (it broadcasts).

        Returns:
          ``[..., T, model_size]``.

        Raises:
          ValueError: if inputs have rank < 2, leading dims / lengths disagree, or the
            mask does not broadcast to ``[..., H, T, T']``.
        """
        owner = module_prefix(self)
        query, key, value = jnp.asarray(query), jnp.asarray(key), jnp.asarray(value)
        for arg, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim < 2:
                raise ValueError(
                    f"{owner}: `{arg}` must have rank >= 2 ([..., T, D]), got shape {x.shape}."
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"{owner}: `key` and `value` must agree on [..., T'], got key shape "
                f"{key.shape} and value shape {value.shape}."
            )
        if query.shape[:-2] != key.shape[:-2]:
            raise ValueError(
                f"{owner}: `query` and `key` must have the same leading dims [...], got "
                f"query shape {query.shape} and key shape {key.shape}."
            )
        *leading, t, _ = query.shape
        logits_shape = (*leading, self.num_heads, t, key.shape[-2])
        if mask is not None:
            mask = jnp.asarray(mask)
            _check_mask(mask, logits_shape, owner)

        def project(x, head_size, name):
            linear = basic.Linear(
                self.num_heads * head_size,
                w_init=self.w_init,
                with_bias=self.with_bias,
                b_init=self.b_init,
                name=name,
            )
            y = linear(x)
            # `w` is [D_in, H * head_size]: "heads" names the fused heads axis.
            hk_sharding.default_axes("w", ("embed", "heads"), module=linear)
            hk_sharding.default_axes("b", ("heads",), module=linear)
            return jnp.reshape(y, (*x.shape[:-1], self.num_heads, head_size))

        query_heads = project(query, self.key_size, "query")
        key_heads = project(key, self.key_size, "key")
        value_heads = project(value, self.value_size, "value")

        if _USE_FUSED and self.value_size == self.key_size:
            attn = _attend_fused(query_heads, key_heads, value_heads, mask, self.key_size)
        else:
            attn = _attend_einsum(query_heads, key_heads, value_heads, mask, self.key_size)
        attn = jnp.reshape(attn, (*leading, t, self.num_heads * self.value_size))

        final = basic.Linear(
            self.model_size, w_init=self.w_init, with_bias=self.with_bias, b_init=self.b_init
        )
        out = final(attn)
        hk_sharding.default_axes("w", ("heads", "embed"), module=final)
        hk_sharding.default_axes("b", ("embed",), module=final)
        return out


# Whether to route attention (value_size == key_size) through
# jax.nn.dot_product_attention. Its float32 outputs are bit-identical to the einsum
# path, but on CPU (jax 0.10.2; shapes B,T,H,K in (8,128,8,64), (2,512,8,64),
# (32,64,4,32)) it was not faster, and slower with gradients; for bfloat16 it
# accumulates in float32, which changes the numbers relative to dm-haiku. So the
# default stays on the einsum path (the fused path is kept, and tested equal).
_USE_FUSED = False


# Public objects report their public home (reprs, docs, pickling).
for _obj in (MultiHeadAttention,):
    _obj.__module__ = "haiku_core"
del _obj
