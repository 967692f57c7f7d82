"""Embedding lookup: ``Embed`` and ``EmbedLookupStyle``.

Out-of-range ids
----------------
Ids are not range-checked (a check would need a device-to-host sync), exactly as
in dm-haiku:

* ``ARRAY_INDEX`` indexes like NumPy: ids in ``[-V, 0)`` count from the end, and
  any other out-of-range id is clamped into ``[0, V - 1]`` (XLA gather semantics).
* ``ONE_HOT`` gives an all-zero embedding for any id outside ``[0, V)``.

For a runtime check, wrap the applied function with
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
from haiku_core._src import sharding as hk_sharding
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


class EmbeddingMatrixRankError(ValueError, IndexError):
    """``Embed`` was given an ``embedding_matrix`` that is not rank 2.

    A ``ValueError``; also an ``IndexError``, which is what dm-haiku raises for a
    rank-1 matrix (it reads ``shape[1]``).
    """


class UnknownLookupStyleError(AttributeError):
    """``Embed`` was called with a ``lookup_style`` name that is not an ``EmbedLookupStyle``."""


def _resolve_style(where_: str, style: Any) -> EmbedLookupStyle:
    """The ``EmbedLookupStyle`` named by ``style`` (a member or a name in any case).

    Raises:
      UnknownLookupStyleError: (an ``AttributeError``) for an unknown name.
      NotImplementedError: for a value that is neither a name nor a member.
    """
    if isinstance(style, EmbedLookupStyle):
        return style
    choices = [s.name for s in EmbedLookupStyle]
    if isinstance(style, str):
        found = EmbedLookupStyle.__members__.get(style.upper())
        if found is None:
            raise UnknownLookupStyleError(
                f"{where_}: `lookup_style` {style!r} is not a lookup style; expected one "
                f"of {choices} (any case) or an EmbedLookupStyle."
            )
        return found
    raise NotImplementedError(
        f"{where_}: `lookup_style` must be a string from {choices} or an "
        f"EmbedLookupStyle, got {style!r} of type {type(style).__name__}."
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
            ``EmbedLookupStyle``. It is resolved when the module is called, so an
            unknown name raises there.
          name: module name; default ``embed``.
          precision: matmul precision for ``ONE_HOT`` lookups.

        Raises:
          ValueError: if neither a matrix nor both sizes are given, or the sizes
            disagree with the matrix, or the matrix is not rank 2.
        """
        super().__init__(name=name)
        if embedding_matrix is None and not (vocab_size and embed_dim):
            raise ValueError(
                "haiku_core.Embed: the table size is unknown. Give `embedding_matrix` "
                "([V, D] initial values), or both `vocab_size` and `embed_dim`; got "
                f"vocab_size={vocab_size}, embed_dim={embed_dim}, embedding_matrix=None."
            )
        self._dtype: Any = jnp.float32
        if embedding_matrix is not None:
            matrix = jnp.asarray(embedding_matrix)
            if matrix.ndim != 2:
                raise EmbeddingMatrixRankError(
                    "haiku_core.Embed: `embedding_matrix` must be rank 2 [V, D], got "
                    f"shape {matrix.shape}."
                )
            if vocab_size and matrix.shape[0] != vocab_size:
                raise ValueError(
                    f"haiku_core.Embed: `vocab_size`={vocab_size} disagrees with "
                    f"`embedding_matrix` of shape {matrix.shape} (V={matrix.shape[0]})."
                )
            if embed_dim and matrix.shape[1] != embed_dim:
                raise ValueError(
                    f"haiku_core.Embed: `embed_dim`={embed_dim} disagrees with "
                    f"`embedding_matrix` of shape {matrix.shape} (D={matrix.shape[1]})."
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
        self.precision = precision
        self.w_init: Initializer = w_init or hk_init.TruncatedNormal()

    @property
    def embeddings(self) -> jax.Array:
        """``[V, D]`` the embedding table (created on first use)."""
        table = base.get_parameter(
            "embeddings", [self.vocab_size, self.embed_dim], self._dtype, init=self.w_init
        )
        hk_sharding.default_axes("embeddings", ("vocab", "embed"))
        return table

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
          ValueError: if ``ids`` is not of integer dtype.
          AttributeError: if the lookup style is a string naming no style.
          NotImplementedError: if the lookup style is neither a string nor an
            ``EmbedLookupStyle``.
        """
        w = where(self)
        ids = jnp.asarray(ids)
        if not jnp.issubdtype(ids.dtype, jnp.integer):
            raise ValueError(
                f"{w}: `ids` must hold integer indices (an int dtype), got dtype {ids.dtype} "
                f"(shape {ids.shape})."
            )
        style = _resolve_style(w, lookup_style or self.lookup_style)
        if precision is None:
            precision = self.precision
        if style is EmbedLookupStyle.ARRAY_INDEX:
            return jnp.asarray(self.embeddings)[(ids,)]
        one_hot = jax.nn.one_hot(ids, self.vocab_size)
        return jnp.dot(one_hot, self.embeddings, precision=precision)
