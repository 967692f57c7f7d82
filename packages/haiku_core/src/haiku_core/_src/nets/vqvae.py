"""Vector quantisation layers for VQ-VAE (van den Oord et al., 2017)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import base, moving_averages
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src.errors import module_prefix

__all__ = ["VectorQuantizer", "VectorQuantizerEMA"]


class EmbeddingDimError(ValueError, TypeError):
    """The inputs of a vector quantiser cannot be split into ``embedding_dim`` vectors.

    Subclasses both :class:`ValueError` and :class:`TypeError` (the type a failed
    reshape raises), so handlers written for either catch it.
    """


def _as_vectors(inputs: jax.Array, embedding_dim: int, owner: str) -> jax.Array:
    # [..., D] -> [N, D]. A rank-0 input counts as a single 1-vector.
    trailing = inputs.shape[-1] if inputs.ndim else 1
    if trailing != embedding_dim:
        raise EmbeddingDimError(
            f"{owner}: the last axis of `inputs` holds the vectors to quantise and must "
            f"have size embedding_dim={embedding_dim}; got `inputs` of shape {inputs.shape}."
        )
    return jnp.reshape(inputs, (-1, embedding_dim))


def _nearest_codes(
    vectors: jax.Array, codebook: jax.Array, num_codes: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Squared distances ``[N, K]``, nearest code ids ``[N]`` and their one-hots ``[N, K]``."""
    # |v - c|^2 expanded as |v|^2 - 2 v.c + |c|^2; the codebook is [D, K].
    sq_dist = (
        jnp.sum(jnp.square(vectors), 1, keepdims=True)
        - 2 * jnp.matmul(vectors, codebook)
        + jnp.sum(jnp.square(codebook), 0, keepdims=True)
    )
    ids = jnp.argmin(sq_dist, 1)
    return sq_dist, ids, jax.nn.one_hot(ids, num_codes, dtype=sq_dist.dtype)


def _lookup(codebook: jax.Array, ids: jax.Array) -> jax.Array:
    # Rows of the [K, D] transposed codebook picked by integer ids [...] -> [..., D].
    return jnp.swapaxes(jnp.asarray(codebook), 0, 1)[ids]


def _code_usage_perplexity(one_hot: jax.Array, replica_axis: str | None) -> jax.Array:
    usage = jnp.mean(one_hot, 0)
    if replica_axis:
        usage = jax.lax.pmean(usage, axis_name=replica_axis)
    return jnp.exp(-jnp.sum(usage * jnp.log(usage + 1e-10)))


def _replica_sum(x: jax.Array, replica_axis: str | None) -> jax.Array:
    return jax.lax.psum(x, axis_name=replica_axis) if replica_axis else x


def _result(
    inputs: jax.Array,
    snapped: jax.Array,
    loss: jax.Array,
    one_hot: jax.Array,
    ids: jax.Array,
    sq_dist: jax.Array,
    replica_axis: str | None,
) -> dict[str, jax.Array]:
    # The straight-through estimator: the forward value is the snapped vector, the
    # gradient flows to `inputs` unchanged.
    return {
        "quantize": inputs + jax.lax.stop_gradient(snapped - inputs),
        "loss": loss,
        "perplexity": _code_usage_perplexity(one_hot, replica_axis),
        "encodings": one_hot,
        "encoding_indices": ids,
        "distances": sq_dist,
    }


class VectorQuantizer(hk_module.Module):
    """Snaps each input vector to its nearest codebook entry (VQ-VAE).

    The codebook is the parameter ``embeddings`` ``[embedding_dim,
    num_embeddings]`` (dimension first), created in ``__init__`` with a uniform
    variance-scaling initializer. ``__call__`` returns a dict with ``quantize``
    (straight-through quantised inputs), ``loss`` (codebook + commitment loss),
    ``perplexity``, ``encodings`` (one-hot ``[N, num_embeddings]``),
    ``encoding_indices`` (``[...]``) and ``distances`` (``[N, num_embeddings]``),
    where ``N`` is the number of input vectors.

    References:
      van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete
      Representation Learning", https://arxiv.org/abs/1711.00937

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.nets.VectorQuantizer(4, 10, 0.25)(x, is_training=True))
    >>> x = jnp.ones([2, 4])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x)["quantize"].shape
    (2, 4)
    """

    def __init__(
        self,
        embedding_dim: int,
        num_embeddings: int,
        commitment_cost: float,
        dtype: Any = jnp.float32,
        name: str | None = None,
        cross_replica_axis: str | None = None,
    ):
        """Creates the layer and its codebook parameter.

        Args:
          embedding_dim: size D of each vector.
          num_embeddings: codebook size.
          commitment_cost: weight of the commitment (encoder) loss term.
          dtype: dtype of the codebook.
          name: module name; defaults to ``vector_quantizer``.
          cross_replica_axis: named axis to average the code usage over for the
            perplexity.
        """
        super().__init__(name=name)
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.commitment_cost = commitment_cost
        self.cross_replica_axis = cross_replica_axis
        self._embedding_shape = [embedding_dim, num_embeddings]
        self._embedding_dtype = dtype

    @property
    def embeddings(self) -> jax.Array:
        """The codebook parameter ``[embedding_dim, num_embeddings]``.

        Created (uniform variance-scaling init) the first time it is read inside
        a transform, normally on the first call.
        """
        return base.get_parameter(
            "embeddings",
            self._embedding_shape,
            self._embedding_dtype,
            init=hk_init.VarianceScaling(distribution="uniform"),
        )

    def __call__(self, inputs: jax.Array, is_training: bool) -> dict[str, jax.Array]:
        """Quantises ``inputs``.

        Args:
          inputs: ``[..., embedding_dim]`` (a rank-0 input counts as one vector
            when ``embedding_dim`` is 1).
          is_training: unused (kept for API compatibility with VectorQuantizerEMA).

        Returns:
          dict with ``quantize`` ``[..., D]``, ``loss`` ``[]``, ``perplexity`` ``[]``,
          ``encodings`` ``[N, num_embeddings]``, ``encoding_indices`` ``[...]`` and
          ``distances`` ``[N, num_embeddings]``.

        Raises:
          EmbeddingDimError: (a ValueError and TypeError) if the last axis of
            ``inputs`` is not ``embedding_dim``.
        """
        del is_training
        owner = module_prefix(self)
        inputs = jnp.asarray(inputs)
        vectors = _as_vectors(inputs, self.embedding_dim, owner)
        sq_dist, ids, one_hot = _nearest_codes(vectors, self.embeddings, self.num_embeddings)
        ids = jnp.reshape(ids, inputs.shape[:-1])
        snapped = self.quantize(ids)
        # Codebook term pulls codes towards the (fixed) inputs; the commitment term
        # pulls the inputs towards the (fixed) codes.
        commitment = jnp.mean(jnp.square(jax.lax.stop_gradient(snapped) - inputs))
        codebook_term = jnp.mean(jnp.square(snapped - jax.lax.stop_gradient(inputs)))
        loss = codebook_term + self.commitment_cost * commitment
        return _result(inputs, snapped, loss, one_hot, ids, sq_dist, self.cross_replica_axis)

    def quantize(self, encoding_indices: jax.Array) -> jax.Array:
        """Looks up codebook vectors.

        Args:
          encoding_indices: integer array ``[...]`` of codes.

        Returns:
          ``[..., embedding_dim]`` codebook vectors.
        """
        return _lookup(self.embeddings, encoding_indices)


class VectorQuantizerEMA(hk_module.Module):
    """Vector quantiser whose codebook is learned by exponential moving averages.

    The codebook lives in state (``embeddings`` ``[embedding_dim,
    num_embeddings]``); while training, the code usage counts and the sums of
    the assigned inputs are tracked by two :class:`ExponentialMovingAverage`
    children ``~/ema_cluster_size`` and ``~/ema_dw`` and the codebook is set to
    their (Laplace-smoothed) ratio. Only the commitment loss is returned.

    References:
      van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete
      Representation Learning", https://arxiv.org/abs/1711.00937 (appendix A.1)

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform_with_state(
    ...     lambda x: hk.nets.VectorQuantizerEMA(4, 10, 0.25, 0.99)(x, is_training=True))
    >>> _, state = f.init(jax.random.PRNGKey(0), jnp.ones([2, 4]))
    >>> state["vector_quantizer_ema"]["embeddings"].shape
    (4, 10)
    """

    def __init__(
        self,
        embedding_dim: int,
        num_embeddings: int,
        commitment_cost: float,
        decay: float,
        epsilon: float = 1e-5,
        dtype: Any = jnp.float32,
        cross_replica_axis: str | None = None,
        name: str | None = None,
    ):
        """Creates the layer.

        Args:
          embedding_dim: size D of each vector.
          num_embeddings: codebook size.
          commitment_cost: weight of the commitment loss.
          decay: decay of the moving averages, in ``[0, 1]``.
          epsilon: Laplace smoothing of the cluster sizes.
          dtype: dtype of the codebook and statistics.
          cross_replica_axis: named axis to sum statistics over (``psum``).
          name: module name; defaults to ``vector_quantizer_ema``.

        Raises:
          ValueError: if ``decay`` is outside ``[0, 1]``.
        """
        super().__init__(name=name)
        if not 0 <= decay <= 1:
            raise ValueError(
                f"{module_prefix(self)}: `decay` is a "
                f"moving-average weight between 0 and 1 inclusive; got {decay}."
            )
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.decay = decay
        self.commitment_cost = commitment_cost
        self.epsilon = epsilon
        self.cross_replica_axis = cross_replica_axis
        self._dtype = dtype
        self._embedding_shape = [embedding_dim, num_embeddings]
        self._ema_cluster_size = moving_averages.ExponentialMovingAverage(
            decay=decay, name="ema_cluster_size"
        )
        self._ema_dw = moving_averages.ExponentialMovingAverage(decay=decay, name="ema_dw")

    @property
    def embeddings(self) -> jax.Array:
        """The codebook ``[embedding_dim, num_embeddings]`` from state."""
        return base.get_state(
            "embeddings",
            self._embedding_shape,
            self._dtype,
            init=hk_init.VarianceScaling(distribution="uniform"),
        )

    @property
    def ema_cluster_size(self) -> moving_averages.ExponentialMovingAverage:
        """The moving average of code usage counts ``[num_embeddings]``."""
        self._ema_cluster_size.initialize([self.num_embeddings], self._dtype)
        return self._ema_cluster_size

    @property
    def ema_dw(self) -> moving_averages.ExponentialMovingAverage:
        """The moving average of per-code input sums ``[embedding_dim, num_embeddings]``."""
        self._ema_dw.initialize(self._embedding_shape, self._dtype)
        return self._ema_dw

    def __call__(self, inputs: jax.Array, is_training: bool) -> dict[str, jax.Array]:
        """Quantises ``inputs`` and, when training, updates the codebook.

        Args:
          inputs: ``[..., embedding_dim]`` (a rank-0 input counts as one vector
            when ``embedding_dim`` is 1).
          is_training: update the moving averages and the codebook.

        Returns:
          dict with ``quantize``, ``loss``, ``perplexity``, ``encodings``,
          ``encoding_indices`` and ``distances`` (as :class:`VectorQuantizer`);
          ``loss`` is only the weighted commitment term.

        Raises:
          EmbeddingDimError: (a ValueError and TypeError) if the last axis of
            ``inputs`` is not ``embedding_dim``.
        """
        owner = module_prefix(self)
        inputs = jnp.asarray(inputs)
        vectors = _as_vectors(inputs, self.embedding_dim, owner)
        sq_dist, ids, one_hot = _nearest_codes(vectors, self.embeddings, self.num_embeddings)
        ids = jnp.reshape(ids, inputs.shape[:-1])
        snapped = self.quantize(ids)
        commitment = jnp.mean(jnp.square(jax.lax.stop_gradient(snapped) - inputs))
        if is_training:
            _refresh_codebook(self, vectors, one_hot)
        loss = self.commitment_cost * commitment
        return _result(inputs, snapped, loss, one_hot, ids, sq_dist, self.cross_replica_axis)

    def quantize(self, encoding_indices: jax.Array) -> jax.Array:
        """Looks up codebook vectors.

        Args:
          encoding_indices: integer array ``[...]`` of codes.

        Returns:
          ``[..., embedding_dim]`` codebook vectors.
        """
        return _lookup(self.embeddings, encoding_indices)


def _refresh_codebook(vq: VectorQuantizerEMA, vectors: jax.Array, one_hot: jax.Array) -> None:
    # Track how often each code is picked and the sum of the vectors assigned to it
    # (both summed over replicas), then set each code to the mean of its vectors,
    # with Laplace-smoothed counts so that unused codes do not divide by zero.
    replica_axis = vq.cross_replica_axis
    hits = vq.ema_cluster_size(_replica_sum(jnp.sum(one_hot, axis=0), replica_axis))
    assigned = vq.ema_dw(_replica_sum(jnp.matmul(vectors.T, one_hot), replica_axis))
    total = jnp.sum(hits)
    smoothed = (hits + vq.epsilon) / (total + vq.num_embeddings * vq.epsilon) * total
    base.set_state("embeddings", assigned / jnp.reshape(smoothed, [1, -1]))


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    VectorQuantizer,
    VectorQuantizerEMA,
):
    _obj.__module__ = "haiku_core.nets"
del _obj
