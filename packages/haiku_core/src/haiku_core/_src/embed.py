"""Embedding lookup: ``Embed`` and ``EmbedLookupStyle``.

Out-of-range ids
----------------
``Embed`` follows dm-haiku for ids that are only known on the device (traced or
``jax.Array`` ids, e.g. under ``jit``), because checking them would need a
device-to-host sync:

* ``ARRAY_INDEX`` indexes like NumPy: ids in ``[-V, 0)`` count from the end, and
  any other out-of-range id is clamped into ``[0, V - 1]`` (XLA gather semantics).
* ``ONE_HOT`` gives an all-zero embedding for any id outside ``[0, V)``.

Ids given as host data (Python ints / lists, NumPy arrays) are checked when the
module is called, and an out-of-range id raises ``ValueError`` instead of silently
returning a clamped row (dm-haiku returns the clamped row). The valid range is
``[-V, V)`` for ``ARRAY_INDEX`` and ``[0, V)`` for ``ONE_HOT``.

For a runtime check under ``jit``, wrap the applied function with
``jax.experimental.checkify.checkify(..., errors=checkify.index_checks)``: the
``ARRAY_INDEX`` gather is an ordinary indexing op, so an out-of-bounds id then
surfaces as a checkify error instead of a clamped row.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import base
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src.basic import where

__all__ = ["Embed", "EmbedLookupStyle"]

Initializer = Callable[[Sequence[int], Any], jax.Array]


class EmbedLookupStyle(enum.Enum):
    """How ``Embed`` looks up ids.

    Attributes:
      ARRAY_INDEX: gather rows of the table (``embeddings[ids]``); fast on CPU/GPU.
      ONE_HOT: ``one_hot(ids, V) @ embeddings``; a matmul, often faster on TPU.
    """

    ARRAY_INDEX = 1
    ONE_HOT = 2


def _resolve_style(where_: str, style: str | EmbedLookupStyle) -> EmbedLookupStyle:
    if isinstance(style, EmbedLookupStyle):
        return style
    if isinstance(style, str):
        try:
            return EmbedLookupStyle[style.upper()]
        except KeyError:
            pass
    raise ValueError(
        f"{where_}: `lookup_style` must be one of {[s.name for s in EmbedLookupStyle]} "
        f"(or an EmbedLookupStyle), got {style!r}."
    )


class Embed(hk_module.Module):
    """Embedding table ``[V, D]`` looked up by integer ids.

    Parameter: ``embeddings`` ``[vocab_size, embed_dim]``, default
    ``TruncatedNormal(stddev=1)`` in float32, or initialised to ``embedding_matrix``
    (in that array's dtype) when one is given. See the module docstring for the
    handling of out-of-range ids.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda ids: hk.Embed(10, 4)(ids))
    >>> ids = jnp.array([[1, 2, 3]])
    >>> f.apply(f.init(jax.random.PRNGKey(0), ids), None, ids).shape
    (1, 3, 4)
    """

    def __init__(
        self,
        vocab_size: int | None = None,
        embed_dim: int | None = None,
        embedding_matrix: np.ndarray | jax.Array | None = None,
        w_init: Initializer | None = None,
        lookup_style: str | EmbedLookupStyle = "ARRAY_INDEX",
        name: str | None = None,
        precision: jax.lax.Precision = jax.lax.Precision.HIGHEST,
    ):
        """Constructs an Embed module.

        Args:
          vocab_size: ``V``, number of rows; needed unless ``embedding_matrix``.
          embed_dim: ``D``, embedding size; needed unless ``embedding_matrix``.
          embedding_matrix: optional ``[V, D]`` initial table; its shape sets (and
            must agree with) ``vocab_size``/``embed_dim``.
          w_init: initializer for ``embeddings``; default truncated normal, stddev 1.
            Ignored when ``embedding_matrix`` is given.
          lookup_style: ``"ARRAY_INDEX"`` (default) or ``"ONE_HOT"`` (any case) or an
            ``EmbedLookupStyle``.
          name: module name; default ``embed``.
          precision: matmul precision for ``ONE_HOT`` lookups.

        Raises:
          ValueError: if neither a matrix nor both sizes are given, or the sizes
            disagree with the matrix, or the matrix is not rank 2.
        """
        super().__init__(name=name)
        if embedding_matrix is None and not (vocab_size and embed_dim):
            raise ValueError(
                "haiku_core.Embed: must be supplied either with an initial "
                "`embedding_matrix` or with `embed_dim` and `vocab_size`, got "
                f"vocab_size={vocab_size}, embed_dim={embed_dim}."
            )
        self._dtype: Any = jnp.float32
        if embedding_matrix is not None:
            matrix = jnp.asarray(embedding_matrix)
            if matrix.ndim != 2:
                raise ValueError(
                    "haiku_core.Embed: `embedding_matrix` must be rank 2 [V, D], got "
                    f"shape {matrix.shape}."
                )
            if vocab_size and matrix.shape[0] != vocab_size:
                raise ValueError(
                    f"haiku_core.Embed: An `embedding_matrix` was supplied but the "
                    f"`vocab_size` of {vocab_size} was not consistent with its shape "
                    f"{matrix.shape}."
                )
            if embed_dim and matrix.shape[1] != embed_dim:
                raise ValueError(
                    f"haiku_core.Embed: An `embedding_matrix` was supplied but the "
                    f"`embed_dim` of {embed_dim} was not consistent with its shape "
                    f"{matrix.shape}."
                )
            vocab_size, embed_dim = matrix.shape
            self._dtype = matrix.dtype

            def matrix_init(shape: Sequence[int], dtype: Any) -> jax.Array:
                del shape, dtype
                return matrix

            w_init = matrix_init

        self.vocab_size: int = int(vocab_size)  # type: ignore[arg-type]
        self.embed_dim: int = int(embed_dim)  # type: ignore[arg-type]
        self.lookup_style = lookup_style
        _resolve_style("haiku_core.Embed", lookup_style)
        self.precision = precision
        self.w_init = w_init or hk_init.TruncatedNormal()

    @property
    def embeddings(self) -> jax.Array:
        """``[V, D]`` the embedding table (created on first use)."""
        return base.get_parameter(
            "embeddings", [self.vocab_size, self.embed_dim], self._dtype, init=self.w_init
        )

    def __call__(
        self,
        ids: jax.typing.ArrayLike | Sequence[int],
        lookup_style: str | EmbedLookupStyle | None = None,
        precision: jax.lax.Precision | None = None,
    ) -> jax.Array:
        """Looks up the embeddings of ``ids``.

        Args:
          ids: integer array of any shape ``[...]``.
          lookup_style: overrides the constructor's lookup style for this call.
          precision: overrides the constructor's precision for this call.

        Returns:
          ``[..., D]`` embeddings (``ONE_HOT`` returns float32 or wider, as a
          float32 one-hot matmul).

        Raises:
          ValueError: if ``ids`` is not of integer dtype, or host ``ids`` are out of
            range for the lookup style.
        """
        w = where(self)
        host = not isinstance(ids, jax.Array)
        ids_np = np.asarray(ids) if host else None
        ids = jnp.asarray(ids)
        if not jnp.issubdtype(ids.dtype, jnp.integer):
            raise ValueError(
                f"{w}: `ids` must be an array of integer dtype, got dtype {ids.dtype} "
                f"(shape {ids.shape})."
            )
        style = _resolve_style(w, lookup_style or self.lookup_style)
        precision = precision or self.precision
        vocab = self.vocab_size
        if ids_np is not None and ids_np.size:
            lo = -vocab if style is EmbedLookupStyle.ARRAY_INDEX else 0
            bad = (ids_np < lo) | (ids_np >= vocab)
            if bad.any():
                raise ValueError(
                    f"{w}: `ids` must lie in [{lo}, {vocab}) for {style.name} lookup "
                    f"(vocab_size={vocab}), got out-of-range ids "
                    f"{np.unique(ids_np[bad])[:10].tolist()}."
                )
        if style is EmbedLookupStyle.ARRAY_INDEX:
            return jnp.asarray(self.embeddings)[(ids,)]
        one_hot = jax.nn.one_hot(ids, vocab)
        return jnp.dot(one_hot, self.embeddings, precision=precision)
