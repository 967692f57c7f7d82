"""Exponential moving averages kept in Haiku state.

``ExponentialMovingAverage`` tracks one value; ``EMAParamsTree`` tracks every leaf
of a two-level params-like mapping. Both keep their statistics in ``hk.State``
(so use them under ``hk.transform_with_state``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src.errors import module_prefix

__all__ = ["EMAParamsTree", "ExponentialMovingAverage"]


def _counter_init(start: int):
    def init(shape, dtype):
        return jnp.full(shape, start, dtype)

    return init


class ExponentialMovingAverage(hk_module.Module):
    """Tracks an exponential moving average of a value, stored in state.

    After ``n`` updates with values ``v_1 .. v_n`` the hidden statistic is
    ``h_n = decay * h_{n-1} + (1 - decay) * v_n`` with ``h_0 = 0``. With
    ``zero_debias`` the reported average is ``h_n / (1 - decay ** n)``, which
    removes the bias towards the zero initial value (Kingma & Ba, 2015, "Adam:
    A Method for Stochastic Optimization", section 3). With ``warmup_length=k``
    the decay is forced to 0 for the first ``k`` updates, so the average simply
    follows the value until the warm-up is over.

    State (under this module's path): ``counter`` int32 ``[]`` (starts at
    ``-warmup_length``), ``hidden`` and ``average`` shaped and typed like the
    tracked value.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(0.9)(x))
    >>> params, state = f.init(None, jnp.ones([2]))
    >>> out, state = f.apply(params, state, None, jnp.ones([2]))
    >>> out.tolist()
    [1.0, 1.0]
    """

    def __init__(
        self,
        decay: float,
        zero_debias: bool = True,
        warmup_length: int = 0,
        name: str | None = None,
    ):
        """Creates the moving average.

        Args:
          decay: decay rate in ``[0, 1]`` (a float or a scalar array).
          zero_debias: divide the hidden statistic by ``1 - decay ** counter``.
          warmup_length: number of initial updates that copy the value (decay 0).
          name: module name; defaults to ``exponential_moving_average``.

        Raises:
          ValueError: if ``warmup_length`` is negative, or if it is positive while
            ``zero_debias`` is set (the two do not combine).
        """
        super().__init__(name=name)
        if warmup_length < 0:
            raise ValueError(
                f"haiku_core.ExponentialMovingAverage: `warmup_length` must be >= 0, "
                f"got {warmup_length}."
            )
        if warmup_length and zero_debias:
            raise ValueError(
                "haiku_core.ExponentialMovingAverage: `zero_debias` and `warmup_length` "
                "exclude each other (the warm-up already starts the average at the "
                f"value); got zero_debias=True and warmup_length={warmup_length}. "
                "Set zero_debias=False."
            )
        self.decay = decay
        self.zero_debias = zero_debias
        self.warmup_length = warmup_length

    def initialize(self, shape: Sequence[int] | jax.Array, dtype: Any = jnp.float32) -> None:
        """Creates the ``hidden`` and ``average`` state (zeros) without an update.

        Args:
          shape: shape of the tracked value. An array (of any rank, 0-d included)
            is also accepted, for compatibility: its own shape and dtype are used
            (``dtype`` is then ignored) and a ``DeprecationWarning`` is issued.
          dtype: dtype of the tracked value.
        """
        if hasattr(shape, "shape"):
            warnings.warn(
                "haiku_core.ExponentialMovingAverage.initialize: pass the shape and dtype "
                "of the tracked value (`initialize(v.shape, v.dtype)`), not the value "
                "itself; passing a value is deprecated.",
                DeprecationWarning,
                stacklevel=2,
            )
            value = cast(Any, shape)
            shape, dtype = value.shape, value.dtype
        base.get_state("hidden", cast("Sequence[int]", shape), dtype, init=jnp.zeros)
        base.get_state("average", cast("Sequence[int]", shape), dtype, init=jnp.zeros)

    def __call__(self, value: float | jax.Array, update_stats: bool = True) -> jax.Array:
        """Folds ``value`` into the average and returns the new average.

        Args:
          value: the value to track, any shape ``[...]``; its shape and dtype must
            stay the same between calls.
          update_stats: write the new statistics to state. When False the new
            average is computed and returned but state is left untouched.

        Returns:
          The updated (debiased, when ``zero_debias``) average, shaped like ``value``.
        """
        value = jnp.asarray(value)
        counter = base.get_state("counter", (), jnp.int32, init=_counter_init(-self.warmup_length))
        counter = counter + 1
        decay = jax.lax.convert_element_type(self.decay, value.dtype)
        if self.warmup_length > 0:
            decay = jnp.where(counter <= 0, jnp.zeros_like(decay), decay)
        one = jnp.ones([], value.dtype)
        hidden = base.get_state("hidden", value.shape, value.dtype, init=jnp.zeros)
        hidden = hidden * decay + value * (one - decay)
        average = hidden
        if self.zero_debias:
            # lax.pow, not jnp.power: with a concrete integer exponent jnp.power reads it back
            # to the host (a device sync per call when un-jitted); under jit both lower to `pow`.
            # lax.pow needs an inexact base, so integer/bool values take jnp.power.
            if jnp.issubdtype(decay.dtype, jnp.inexact):
                correction = jax.lax.pow(decay, counter)
            else:
                correction = jnp.power(decay, counter)
            average = average / (one - correction)
        if update_stats:
            base.set_state("counter", counter)
            base.set_state("hidden", hidden)
            base.set_state("average", average)
        return average

    @property
    def average(self) -> jax.Array:
        """The current average read from state (it must already exist)."""
        return base.get_state("average")


class NotAParamsTreeError(TypeError, AttributeError):
    """A tree given to ``EMAParamsTree``/``SNParamsTree`` is not a two-level mapping.

    A ``TypeError``; also an ``AttributeError``, which is what dm-haiku raises when
    the tree (or one of its values) has no ``.items()``.
    """


def _tree_entries(tree: Mapping[str, Mapping[str, Any]], owner: str):
    """Yields ``(module_name, leaf_name, leaf)`` for a ``{module: {name: leaf}}`` tree.

    Anything with ``.items()`` counts as a mapping at either level.
    """
    if not hasattr(tree, "items"):
        raise NotAParamsTreeError(
            f"{owner}: `tree` must be a two-level mapping {{module_name: {{name: array}}}} "
            f"like hk.Params, got {type(tree).__name__}."
        )
    for module_name, leaves in tree.items():
        if not hasattr(leaves, "items"):
            raise NotAParamsTreeError(
                f"{owner}: `tree[{module_name!r}]` must be a mapping {{name: array}}, "
                f"got {type(leaves).__name__}."
            )
        for leaf_name, leaf in leaves.items():
            yield module_name, leaf_name, leaf


class EMAParamsTree(hk_module.Module):
    """Keeps an exponential moving average of every leaf of a params-like tree.

    For a leaf ``tree[m][n]`` a child :class:`ExponentialMovingAverage` named
    ``f"{m}/{n}"`` with ``/`` replaced by ``__`` and ``~`` by ``_tilde_`` holds
    the statistics. Leaves whose ``"m/n"`` key matches ``ignore_regex``
    (``re.match``, so anchored at the start) are passed through unchanged.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda t: hk.EMAParamsTree(0.9)(t))
    >>> tree = {"linear": {"w": jnp.ones([2, 2])}}
    >>> _, state = f.init(None, tree)
    >>> list(state)
    ['ema_params_tree/linear__w']
    """

    def __init__(
        self,
        decay: float,
        zero_debias: bool = True,
        warmup_length: int = 0,
        ignore_regex: str = "",
        name: str | None = None,
    ):
        """Creates the tree average.

        Args:
          decay: decay rate of every average.
          zero_debias: see :class:`ExponentialMovingAverage`.
          warmup_length: see :class:`ExponentialMovingAverage`.
          ignore_regex: leaves whose ``"module/name"`` key matches are not averaged.
          name: module name; defaults to ``ema_params_tree``.
        """
        super().__init__(name=name)
        self.decay = decay
        self.zero_debias = zero_debias
        self.warmup_length = warmup_length
        self.ignore_regex = ignore_regex

    def __call__(
        self, tree: Mapping[str, Mapping[str, Any]], update_stats: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Updates the averages and returns a tree of averages.

        Args:
          tree: two-level mapping ``{module_name: {name: array}}`` (e.g. ``hk.Params``).
          update_stats: write the new statistics to state.

        Returns:
          A tree with the same structure holding the averages (ignored leaves as given).
        """
        out: dict[str, dict[str, Any]] = {}
        for module_name, leaf_name, leaf in _tree_entries(tree, module_prefix(self)):
            key = f"{module_name}/{leaf_name}"
            if self.ignore_regex and re.match(self.ignore_regex, key):
                new = leaf
            else:
                child = key.replace("/", "__").replace("~", "_tilde_")
                new = ExponentialMovingAverage(
                    self.decay,
                    zero_debias=self.zero_debias,
                    warmup_length=self.warmup_length,
                    name=child,
                )(leaf, update_stats=update_stats)
            out.setdefault(module_name, {})[leaf_name] = new
        return out


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    ExponentialMovingAverage,
    EMAParamsTree,
):
    _obj.__module__ = "haiku_core"
del _obj
