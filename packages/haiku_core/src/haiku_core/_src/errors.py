"""Error types raised by haiku_core's module system and transforms.

Every class subclasses :class:`ValueError` so code written against dm-haiku that
catches ``ValueError`` keeps working.
"""

from __future__ import annotations


class JaxUsageError(ValueError):
    """A raw JAX transform was used where a Haiku-aware one is needed.

    Raised when code inside ``hk.transform`` creates parameters or state, or draws
    random keys, under a plain ``jax.jit`` / ``jax.vmap`` / ``jax.lax.scan`` /
    ``jax.checkpoint`` / ``jax.lax.cond`` ... nested *inside* the transformed
    function. Such values would escape the inner JAX trace ("leaked tracers"). Use
    the state-threading wrappers ``hk.jit``-free equivalents: ``hk.vmap``,
    ``hk.scan``, ``hk.remat``, ``hk.cond``, ``hk.switch``, ``hk.fori_loop``,
    ``hk.while_loop``, ``hk.map`` -- or apply the JAX transform to the whole
    ``init``/``apply`` function instead.
    """


class MissingRNGError(ValueError):
    """A random key was requested but ``init``/``apply`` was called with ``rng=None``."""


class NonEmptyStateError(ValueError):
    """State was used inside a function transformed with ``hk.transform``.

    Use ``hk.transform_with_state`` for functions that call ``hk.get_state`` /
    ``hk.set_state``.
    """


class MissingParameterError(ValueError):
    """``apply`` needed a parameter that the given ``params`` do not contain."""


for _cls in (JaxUsageError, MissingRNGError, NonEmptyStateError, MissingParameterError):
    _cls.__module__ = "haiku_core"
del _cls
