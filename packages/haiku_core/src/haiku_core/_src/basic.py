"""Basic layers: Linear, Bias, Sequential, dropout, BatchApply, expand_apply.

Every module here creates its parameters in the dtype of its input (a bfloat16
input gives bfloat16 ``w``/``b``), with the same names, shapes and default
initialisers as dm-haiku 0.0.17, so parameter trees move across unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import base, errors
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding

__all__ = [
    "Bias",
    "BatchApply",
    "Linear",
    "Sequential",
    "dropout",
    "expand_apply",
    "multinomial",
    "one_hot",
]

Initializer = Callable[[Sequence[int], Any], jax.Array]


def where(module: Any) -> str:
    """``haiku_core.<Class> '<module path>'``: the prefix of every layer error."""
    return errors.module_prefix(module)


def get_weight(
    module: Any,
    name: str,
    shape: Sequence[int],
    dtype: Any,
    init: Initializer,
    *,
    arg: str = "inputs",
    arg_shape: Sequence[int] = (),
    explain: str = "",
) -> jax.Array:
    """``base.get_parameter`` with an error that explains a shape clash.

    A parameter that already exists (apply, or a module called twice) must have the
    shape implied by the current input. When it does not, the error names the
    module path, the argument whose shape implied ``shape``, and both shapes,
    instead of a bare shape-mismatch message. The lookup of the stored shape only
    runs on that error path.
    """
    shape = tuple(int(d) for d in shape)
    try:
        return base.get_parameter(name, shape, dtype, init=init)
    except ValueError as e:
        existing = _existing_shape(module, name)
        if existing is None or existing == shape:
            raise
        raise ValueError(
            f"{where(module)}: `{arg}` of shape {tuple(arg_shape)} implies parameter "
            f"`{name}` of shape {shape}{explain}, but the existing `{name}` has shape "
            f"{existing}. The input does not match the parameters this module was "
            f"initialised with."
        ) from e


def _existing_shape(module: Any, name: str) -> tuple[int, ...] | None:
    """Shape of the stored parameter ``<module path>/<name>``, if there is one."""
    try:
        value = base.get_params()[module.module_name][name]
    except (KeyError, ValueError, AttributeError, TypeError):
        return None
    return tuple(int(d) for d in value.shape)


class Linear(hk_module.Module):
    """Linear (dense) layer: ``inputs @ w + b`` over the last axis.

    Parameters (created in the input dtype):
      ``w``: ``[D_in, D_out]``, default ``TruncatedNormal(stddev=1/sqrt(D_in))``.
      ``b``: ``[D_out]``, default zeros; only with ``with_bias=True``.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Linear(4)(x))
    >>> params = f.init(jax.random.PRNGKey(0), jnp.ones([2, 3]))
    >>> f.apply(params, None, jnp.ones([2, 3])).shape
    (2, 4)
    """

    def __init__(
        self,
        output_size: int,
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        name: str | None = None,
    ):
        """Constructs a Linear module.

        Args:
          output_size: ``D_out``, the size of the last output axis.
          with_bias: whether to add the bias ``b``.
          w_init: initializer for ``w``; default truncated normal with stddev
            ``1/sqrt(D_in)``.
          b_init: initializer for ``b``; default zeros.
          name: module name; default ``linear``.
        """
        super().__init__(name=name)
        self.input_size: int | None = None
        self.output_size = output_size
        self.with_bias = with_bias
        self.w_init = w_init
        self.b_init: Initializer = b_init or jnp.zeros

    def __call__(
        self, inputs: jax.typing.ArrayLike, *, precision: jax.lax.Precision | None = None
    ) -> jax.Array:
        """Applies the layer.

        Args:
          inputs: ``[..., D_in]`` array of rank >= 1.
          precision: matmul precision passed to ``jnp.dot``.

        Returns:
          ``[..., D_out]`` array.

        Raises:
          ValueError: if ``inputs`` is a scalar, or ``D_in`` disagrees with an
            existing ``w``.
        """
        if not isinstance(inputs, jax.Array):  # asarray costs an eager dispatch
            inputs = jnp.asarray(inputs)
        if not inputs.shape:
            raise ValueError(
                f"{where(self)}: `inputs` must have rank >= 1 ([..., D_in]), got a "
                f"scalar of shape {inputs.shape}. For a single feature use x[None]."
            )
        input_size = self.input_size = inputs.shape[-1]
        dtype = inputs.dtype
        w_init = self.w_init
        if w_init is None:
            w_init = hk_init.TruncatedNormal(stddev=1.0 / np.sqrt(input_size))
        w = get_weight(
            self,
            "w",
            (input_size, self.output_size),
            dtype,
            w_init,
            arg_shape=inputs.shape,
            explain=f" (D_in={input_size})",
        )
        hk_sharding.default_axes("w", ("embed", "mlp"))
        out = jnp.dot(inputs, w, precision=precision)
        if self.with_bias:
            b = base.get_parameter("b", (self.output_size,), dtype, init=self.b_init)
            hk_sharding.default_axes("b", ("mlp",))
            # `b` is [D_out] and `out` is [..., D_out]: the broadcast is the intended one.
            # Allowing rank promotion locally keeps this one cheap eager op (an explicit
            # broadcast_to is a second dispatch, ~5x slower un-jitted) and works when the
            # user sets JAX_NUMPY_RANK_PROMOTION=raise. The jitted HLO is the same.
            with jax.numpy_rank_promotion("allow"):
                out = out + b
        return out


def _bias_shape(
    where_: str, input_shape: tuple[int, ...], bias_dims: Sequence[int] | None
) -> tuple[int, ...]:
    """Shape of ``Bias``'s ``b`` for an input shape (see ``Bias``)."""
    rank = len(input_shape)
    if bias_dims is None:
        return input_shape[1:]
    if not bias_dims:
        return ()
    shape = [1] * rank
    for dim in bias_dims:
        if not -rank <= dim < rank:
            raise ValueError(
                f"{where_}: `bias_dims` entry {dim} is out of range for an input of "
                f"rank {rank} (shape {input_shape})."
            )
        dim %= rank
        if dim == 0:
            raise ValueError(
                f"{where_}: `bias_dims` {tuple(bias_dims)} includes axis 0, the batch axis "
                f"of `inputs` (shape {input_shape}); a bias may not vary across the batch."
            )
        shape[dim] = input_shape[dim]
    start = next((d for d in range(1, rank) if shape[d] != 1), rank)
    return tuple(shape[start:])


class Bias(hk_module.Module):
    """Adds a learned bias ``b`` to the input.

    By default ``b`` has the input's shape without the leading (batch) axis. With
    ``bias_dims`` only those axes get their own bias values; the others are size 1
    (leading size-1 axes are dropped), e.g. ``bias_dims=[-1]`` on ``[B, T, D]`` gives
    ``b`` of shape ``[D]`` and ``bias_dims=[1]`` gives ``[T, 1]``.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Bias()(x))
    >>> jax.tree.map(jnp.shape, f.init(None, jnp.ones([2, 5, 3])))
    {'bias': {'b': (5, 3)}}
    """

    def __init__(
        self,
        output_size: Sequence[int] | None = None,
        bias_dims: Sequence[int] | None = None,
        b_init: Initializer | None = None,
        name: str | None = None,
    ):
        """Constructs a Bias module.

        Args:
          output_size: optional expected input shape without the batch axis; the
            input is checked against it.
          bias_dims: optional axes of the input that get separate bias values (must
            not include axis 0); ``[]`` gives a scalar bias.
          b_init: initializer for ``b``; default zeros.
          name: module name; default ``bias``.
        """
        super().__init__(name=name)
        self.output_size = output_size
        self.bias_dims = bias_dims
        self.b_init: Initializer = b_init or jnp.zeros
        self.bias_shape: tuple[int, ...] | None = None
        self.input_size: tuple[int, ...] | None = None

    def __call__(
        self,
        inputs: jax.typing.ArrayLike,
        multiplier: float | jax.typing.ArrayLike | None = None,
    ) -> jax.Array:
        """Adds the bias (times ``multiplier``, if given).

        Args:
          inputs: ``[B, ...]`` array of rank >= 2.
          multiplier: optional scalar (or array broadcastable to ``inputs``) the bias
            is multiplied by before it is added.

        Returns:
          Array of the input's shape: ``inputs + b * multiplier``.

        Raises:
          ValueError: if ``inputs`` has rank < 2, disagrees with ``output_size``, or
            ``bias_dims`` includes the batch axis.
        """
        inputs = jnp.asarray(inputs)
        w = where(self)
        if inputs.ndim < 2:
            raise ValueError(
                f"{w}: `inputs` must have rank >= 2 ([B, ...]), got shape {inputs.shape}."
            )
        self.bias_shape = _bias_shape(w, inputs.shape, self.bias_dims)
        input_size = tuple(inputs.shape[1:])
        if self.output_size is not None and tuple(self.output_size) != input_size:
            raise ValueError(
                f"{w}: `inputs` shape must be {(-1, *tuple(self.output_size))} "
                f"(output_size={tuple(self.output_size)}), got {inputs.shape}."
            )
        self.input_size = input_size
        b = get_weight(
            self, "b", self.bias_shape, inputs.dtype, self.b_init, arg_shape=inputs.shape
        )
        b = jnp.broadcast_to(b, inputs.shape)
        if multiplier is not None:
            b = b * multiplier
        return inputs + b


class Sequential(hk_module.Module):
    """Calls layers one after another: ``layers[-1](...layers[1](layers[0](x, *args)))``.

    Extra positional/keyword arguments go to the first layer only. The layers keep
    the names they were created with (a module made outside any other module is top
    level), so ``Sequential([Linear(4), relu, Linear(2)])`` creates ``linear`` and
    ``linear_1``.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Sequential([hk.Linear(4), jax.nn.relu])(x))
    >>> sorted(f.init(jax.random.PRNGKey(0), jnp.ones([1, 3])))
    ['linear']
    """

    def __init__(self, layers: Iterable[Callable[..., Any]], name: str | None = None):
        """Constructs a Sequential module.

        Args:
          layers: callables (modules or functions) applied in order.
          name: module name; default ``sequential``.
        """
        super().__init__(name=name)
        self.layers: tuple[Callable[..., Any], ...] = tuple(layers)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Applies the layers in order.

        Args:
          inputs: input of the first layer.
          *args: extra positional arguments for the first layer.
          **kwargs: extra keyword arguments for the first layer.

        Returns:
          The output of the last layer (``inputs`` itself if there are no layers).
        """
        out = inputs
        for i, layer in enumerate(self.layers):
            out = layer(out, *args, **kwargs) if i == 0 else layer(out)
        return out


def _static_number(x: Any) -> float | None:
    """``x`` as a Python float when it is known without a device sync, else None."""
    if isinstance(x, (int, float, np.number)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return float(x)
    return None


class MissingDropoutKeyError(ValueError, TypeError):
    """``dropout`` was called with ``rng=None``.

    A ``ValueError``; also a ``TypeError``, which is what dm-haiku raises (from
    ``jax.random``) for a ``None`` key.
    """


class DropoutAxisError(ValueError, IndexError):
    """A ``broadcast_dims`` entry given to ``dropout`` is not an axis of ``x``.

    A ``ValueError``; also an ``IndexError``, which is what dm-haiku raises here.
    """


class BatchApplyOutputError(ValueError, TypeError):
    """An output of the function wrapped by ``BatchApply`` cannot be split back.

    A ``ValueError``; also a ``TypeError``, which is what dm-haiku raises (from the
    reshape) in this case.
    """


def dropout(
    rng: jax.Array,
    rate: float,
    x: jax.typing.ArrayLike,
    broadcast_dims: Sequence[int] = (),
) -> jax.Array:
    """Randomly zeroes entries of ``x`` with probability ``rate``.

    Kept entries are scaled by ``1 / (1 - rate)`` so the expectation is unchanged.
    Uses ``jax.random.bernoulli(rng, 1 - rate, shape)``, the same draw as dm-haiku,
    so the same key gives the same mask.

    Args:
      rng: PRNG key.
      rate: drop probability in ``[0, 1)``. A Python/NumPy number is checked; a
        traced rate is used as is. ``rate == 0`` returns ``x`` unchanged.
      x: array of any shape.
      broadcast_dims: axes along which the same mask is shared (mask size 1 there).

    Returns:
      Array of ``x``'s shape: ``keep * x / (1 - rate)``.

    Raises:
      ValueError: if ``rate`` is outside ``[0, 1)``.
      DropoutAxisError: (a ``ValueError`` and ``IndexError``) if a ``broadcast_dims``
        entry is out of range.
      MissingDropoutKeyError: (a ``ValueError`` and ``TypeError``) if ``rng`` is None.

    References:
      Srivastava et al. (2014), Dropout: A Simple Way to Prevent Neural Networks from
      Overfitting, JMLR 15. https://jmlr.org/papers/v15/srivastava14a.html

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> hk.dropout(jax.random.PRNGKey(0), 0.5, jnp.ones([4])).shape
    (4,)
    """
    static_rate = _static_number(rate)
    if static_rate is not None:
        if not 0.0 <= static_rate < 1.0:
            raise ValueError(
                f"haiku_core.dropout: `rate` must be in [0, 1), got {rate}. (rate is the "
                f"probability of dropping an entry; rate=1 would drop everything.)"
            )
        if static_rate == 0.0:
            return x  # type: ignore[return-value]
    if rng is None:
        raise MissingDropoutKeyError(
            "haiku_core.dropout: `rng` must be a PRNG key, got None. Inside a transform "
            "use hk.next_rng_key(), and pass a key to init/apply."
        )
    x = jnp.asarray(x)
    shape = list(x.shape)
    for dim in broadcast_dims:
        if not -x.ndim <= dim < x.ndim:
            raise DropoutAxisError(
                f"haiku_core.dropout: `broadcast_dims` entry {dim} is out of range for "
                f"`x` of shape {x.shape}."
            )
        shape[dim] = 1
    keep_rate = 1.0 - rate
    keep = jax.random.bernoulli(rng, keep_rate, shape=tuple(shape))
    keep = jnp.broadcast_to(keep, x.shape)
    return keep * x / keep_rate


def one_hot(x: jax.typing.ArrayLike, num_classes: int, dtype: Any = jnp.float32) -> jax.Array:
    """One-hot encodes integer class indices (kept for dm-haiku compatibility).

    Equivalent to ``jax.nn.one_hot(x, num_classes).astype(dtype)``, which new code
    should call directly. Indices outside ``[0, num_classes)`` give an all-zero row.

    Args:
      x: integer indices of any shape ``[...]``.
      num_classes: ``C``, the size of the new trailing axis.
      dtype: dtype of the result.

    Returns:
      ``[..., C]`` array with a 1 at each index and 0 elsewhere.

    >>> import jax.numpy as jnp
    >>> from haiku_core._src.basic import one_hot
    >>> one_hot(jnp.array([0, 2]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    encoded = jax.nn.one_hot(x, num_classes)
    return encoded.astype(dtype)


def multinomial(rng: jax.Array, logits: jax.Array, num_samples: int) -> jax.Array:
    """Draws class indices from categorical distributions (kept for dm-haiku compatibility).

    New code should call ``jax.random.categorical`` directly. For
    ``num_samples > 1`` the draws for all samples are made in one
    ``jax.random.categorical`` call with the sample axis first and then moved last,
    so the same key gives the same indices as dm-haiku.

    Args:
      rng: PRNG key.
      logits: ``[..., C]`` unnormalised log-probabilities over ``C`` classes.
      num_samples: ``S``, the number of draws per distribution.

    Returns:
      ``[..., S]`` integer class indices.

    >>> import jax, jax.numpy as jnp
    >>> from haiku_core._src.basic import multinomial
    >>> multinomial(jax.random.PRNGKey(0), jnp.zeros([2, 5]), 3).shape
    (2, 3)
    """
    logits = jnp.asarray(logits)
    if num_samples == 1:
        single = jax.random.categorical(rng, logits)
        return jnp.expand_dims(single, -1)
    batch_shape = logits.shape[:-1]
    draws = jax.random.categorical(rng, logits, shape=(num_samples, *batch_shape))
    return jnp.moveaxis(draws, 0, -1)


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray))


class BatchApply:
    """Merges the leading ``num_dims`` axes of the inputs, calls ``f``, splits them back.

    Useful to apply a module that expects ``[B, ...]`` to ``[T, B, ...]`` data:
    ``hk.BatchApply(hk.Linear(4))(x)`` with ``x`` of shape ``[T, B, D]`` runs the layer on
    ``[T * B, D]`` and returns ``[T, B, 4]``. Not a module (it creates no name scope).

    Every array input of rank >= ``num_dims`` has its own leading ``num_dims`` axes
    merged (inputs are not required to agree on them, as in dm-haiku); other leaves
    are passed through unchanged. The outputs are split using the leading axes of
    the first such input, so every array output must have a leading axis of size
    ``prod(leading axes)`` of that input.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.BatchApply(lambda x: x.sum(-1))(jnp.ones([2, 3, 4])).shape
    (2, 3)
    """

    def __init__(self, f: Callable[..., Any], num_dims: int = 2):
        """Constructs a BatchApply wrapper.

        Args:
          f: callable to wrap.
          num_dims: number of leading axes to merge, i.e. ``x.shape[:num_dims]`` (a
            negative value counts from the end, as in slicing). Any int is accepted
            here; a call raises if it selects no axis of an input.
        """
        self._f = f
        self.num_dims = num_dims

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calls ``f`` on the merged inputs and splits the outputs.

        Raises:
          ValueError: if no array input has rank >= ``num_dims``.
          TypeError: if ``x.shape[:num_dims]`` is empty for an array input ``x`` (e.g.
            ``num_dims=0``): there is no axis to merge.
          BatchApplyOutputError: (a ``ValueError`` and ``TypeError``) if an output's
            leading axis has the wrong size.
        """
        n = self.num_dims
        leaves = [x for x in jax.tree.leaves((args, kwargs)) if _is_array(x)]
        example = next((x for x in leaves if x.ndim >= n), None)
        if example is None:
            raise ValueError(
                f"haiku_core.BatchApply: needs at least one array argument with ndim >= "
                f"{n} (num_dims), got shapes {[x.shape for x in leaves]}."
            )
        batch_shape = tuple(example.shape[:n])
        flat = math.prod(batch_shape)

        def merge(x: Any) -> Any:
            if not _is_array(x) or x.ndim < n:
                return x
            if not x.shape[:n]:
                raise TypeError(
                    f"haiku_core.BatchApply: `num_dims`={n} selects no leading axis to merge "
                    f"of an input of shape {x.shape}; expected x.shape[:num_dims] to be "
                    "non-empty (e.g. num_dims >= 1)."
                )
            return x.reshape((math.prod(x.shape[:n]), *x.shape[n:]))

        def split(x: Any) -> Any:
            if not _is_array(x):
                return x
            if x.ndim < 1 or x.shape[0] != flat:
                raise BatchApplyOutputError(
                    f"haiku_core.BatchApply: every array output of `f` must have a leading "
                    f"axis of size {flat} (= prod{batch_shape}), got shape {x.shape}."
                )
            return x.reshape(batch_shape + tuple(x.shape[1:]))

        args, kwargs = jax.tree.map(merge, (args, kwargs))
        return jax.tree.map(split, self._f(*args, **kwargs))


def expand_apply(f: Callable[..., Any], axis: int = 0) -> Callable[..., Any]:
    """Wraps ``f`` so it runs on inputs with a size-1 axis added at ``axis``.

    The wrapper expands every input leaf at ``axis``, calls ``f`` and squeezes
    ``axis`` out of every output leaf, e.g. to run a batched module on one example.

    Args:
      f: callable to wrap.
      axis: ``0`` or ``-1``.

    Returns:
      The wrapped callable.

    Raises:
      ValueError: if ``axis`` is not 0 or -1.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.expand_apply(lambda x: x * 2)(jnp.ones([3])).shape
    (3,)
    """
    if axis not in (0, -1):
        raise ValueError(
            f"haiku_core.expand_apply: `axis` must be 0 or -1 (as in dm-haiku), got {axis}."
        )

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = jax.tree.map(lambda t: jnp.expand_dims(t, axis), (args, kwargs))
        out = f(*args, **kwargs)

        def squeeze(t: Any) -> jax.Array:
            t = jnp.asarray(t)
            if t.ndim == 0 or t.shape[axis] != 1:
                raise ValueError(
                    f"haiku_core.expand_apply: every output of `f` must keep the size-1 "
                    f"axis {axis}, got shape {t.shape}."
                )
            return jnp.squeeze(t, axis)

        return jax.tree.map(squeeze, out)

    return wrapper
