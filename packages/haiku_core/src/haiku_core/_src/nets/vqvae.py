"""Vector quantisation layers for VQ-VAE (van den Oord et al., 2017)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import base, moving_averages
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module

__all__ = ["VectorQuantizer", "VectorQuantizerEMA"]


def _check_inputs(inputs: jax.Array, embedding_dim: int, owner: str) -> None:
    if inputs.ndim < 1 or inputs.shape[-1] != embedding_dim:
        raise ValueError(
            f"{owner}: `inputs` must have shape [..., embedding_dim] = [..., {embedding_dim}], "
            f"got shape {inputs.shape}."
        )


def _distances(flat_inputs: jax.Array, embeddings: jax.Array) -> jax.Array:
    # ||x - e||^2 = ||x||^2 - 2 x.e + ||e||^2 for every row x and codebook column e.
    return (
        jnp.sum(jnp.square(flat_inputs), 1, keepdims=True)
        - 2 * jnp.matmul(flat_inputs, embeddings)
        + jnp.sum(jnp.square(embeddings), 0, keepdims=True)
    )


def _perplexity(encodings: jax.Array, cross_replica_axis: str | None) -> jax.Array:
    avg_probs = jnp.mean(encodings, 0)
    if cross_replica_axis:
        avg_probs = jax.lax.pmean(avg_probs, axis_name=cross_replica_axis)
    return jnp.exp(-jnp.sum(avg_probs * jnp.log(avg_probs + 1e-10)))


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
        self.embeddings = base.get_parameter(
            "embeddings",
            self._embedding_shape,
            dtype,
            init=hk_init.VarianceScaling(distribution="uniform"),
        )

    def __call__(self, inputs, is_training):
        """Quantises ``inputs``.

        Args:
          inputs: ``[..., embedding_dim]``.
          is_training: unused (kept for API compatibility with VectorQuantizerEMA).

        Returns:
          dict with ``quantize`` ``[..., D]``, ``loss`` ``[]``, ``perplexity`` ``[]``,
          ``encodings`` ``[N, num_embeddings]``, ``encoding_indices`` ``[...]`` and
          ``distances`` ``[N, num_embeddings]``.

        Raises:
          ValueError: if the last axis of ``inputs`` is not ``embedding_dim``.
        """
        del is_training
        inputs = jnp.asarray(inputs)
        _check_inputs(
            inputs, self.embedding_dim, f"haiku_core.nets.VectorQuantizer ({self.module_name})"
        )
        flat_inputs = jnp.reshape(inputs, (-1, self.embedding_dim))
        distances = _distances(flat_inputs, self.embeddings)
        encoding_indices = jnp.argmax(-distances, 1)
        encodings = jax.nn.one_hot(encoding_indices, self.num_embeddings, dtype=distances.dtype)
        encoding_indices = jnp.reshape(encoding_indices, inputs.shape[:-1])
        quantized = self.quantize(encoding_indices)
        e_latent_loss = jnp.mean(jnp.square(jax.lax.stop_gradient(quantized) - inputs))
        q_latent_loss = jnp.mean(jnp.square(quantized - jax.lax.stop_gradient(inputs)))
        loss = q_latent_loss + self.commitment_cost * e_latent_loss
        # Straight-through estimator: forward = quantised, gradient = identity.
        quantized = inputs + jax.lax.stop_gradient(quantized - inputs)
        return {
            "quantize": quantized,
            "loss": loss,
            "perplexity": _perplexity(encodings, self.cross_replica_axis),
            "encodings": encodings,
            "encoding_indices": encoding_indices,
            "distances": distances,
        }

    def quantize(self, encoding_indices):
        """Looks up codebook vectors.

        Args:
          encoding_indices: integer array ``[...]`` of codes.

        Returns:
          ``[..., embedding_dim]`` codebook vectors.
        """
        w = jnp.swapaxes(jnp.asarray(self.embeddings), 1, 0)
        return w[(encoding_indices,)]


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
        embedding_dim,
        num_embeddings,
        commitment_cost,
        decay,
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
                f"haiku_core.nets.VectorQuantizerEMA ({self.module_name}): `decay` must be in "
                f"[0, 1], got {decay}."
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

    def __call__(self, inputs, is_training):
        """Quantises ``inputs`` and, when training, updates the codebook.

        Args:
          inputs: ``[..., embedding_dim]``.
          is_training: update the moving averages and the codebook.

        Returns:
          dict with ``quantize``, ``loss``, ``perplexity``, ``encodings``,
          ``encoding_indices`` and ``distances`` (as :class:`VectorQuantizer`).

        Raises:
          ValueError: if the last axis of ``inputs`` is not ``embedding_dim``.
        """
        inputs = jnp.asarray(inputs)
        _check_inputs(
            inputs, self.embedding_dim, f"haiku_core.nets.VectorQuantizerEMA ({self.module_name})"
        )
        flat_inputs = jnp.reshape(inputs, (-1, self.embedding_dim))
        embeddings = self.embeddings
        distances = _distances(flat_inputs, embeddings)
        encoding_indices = jnp.argmax(-distances, 1)
        encodings = jax.nn.one_hot(encoding_indices, self.num_embeddings, dtype=distances.dtype)
        encoding_indices = jnp.reshape(encoding_indices, inputs.shape[:-1])
        quantized = self.quantize(encoding_indices)
        e_latent_loss = jnp.mean(jnp.square(jax.lax.stop_gradient(quantized) - inputs))

        if is_training:
            cluster_size = jnp.sum(encodings, axis=0)
            if self.cross_replica_axis:
                cluster_size = jax.lax.psum(cluster_size, axis_name=self.cross_replica_axis)
            updated_ema_cluster_size = self.ema_cluster_size(cluster_size)
            dw = jnp.matmul(flat_inputs.T, encodings)
            if self.cross_replica_axis:
                dw = jax.lax.psum(dw, axis_name=self.cross_replica_axis)
            updated_ema_dw = self.ema_dw(dw)
            n = jnp.sum(updated_ema_cluster_size)
            updated_ema_cluster_size = (
                (updated_ema_cluster_size + self.epsilon)
                / (n + self.num_embeddings * self.epsilon)
                * n
            )
            normalised = updated_ema_dw / jnp.reshape(updated_ema_cluster_size, [1, -1])
            base.set_state("embeddings", normalised)
        loss = self.commitment_cost * e_latent_loss

        quantized = inputs + jax.lax.stop_gradient(quantized - inputs)
        return {
            "quantize": quantized,
            "loss": loss,
            "perplexity": _perplexity(encodings, self.cross_replica_axis),
            "encodings": encodings,
            "encoding_indices": encoding_indices,
            "distances": distances,
        }

    def quantize(self, encoding_indices):
        """Looks up codebook vectors.

        Args:
          encoding_indices: integer array ``[...]`` of codes.

        Returns:
          ``[..., embedding_dim]`` codebook vectors.
        """
        w = jnp.swapaxes(self.embeddings, 1, 0)
        return w[(encoding_indices,)]


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    VectorQuantizer,
    VectorQuantizerEMA,
):
    _obj.__module__ = "haiku_core.nets"
del _obj
