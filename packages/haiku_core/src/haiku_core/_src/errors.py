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


# Namespaces searched, in order, for the public name of a class in error messages.
_PUBLIC_NAMESPACES = (
    "haiku_core",
    "haiku_core.nets",
    "haiku_core.experimental",
    "haiku_core.mixed_precision",
    "haiku_core.initializers",
    "haiku_core.pad",
)
_PUBLIC_PATHS: dict[type, str | None] = {}


def _lookup_public_path(cls: type) -> str | None:
    import importlib

    for namespace in _PUBLIC_NAMESPACES:
        mod = importlib.import_module(namespace)
        for name, value in vars(mod).items():
            if name.startswith("_"):
                continue
            if value is cls:
                return f"{namespace}.{name}"
            # Classes nested in a public class, e.g. ``haiku_core.nets.ResNet.BlockV1``.
            if isinstance(value, type) and vars(value).get(cls.__name__) is cls:
                return f"{namespace}.{name}.{cls.__name__}"
    return None


def public_path(cls: type) -> str:
    """The dotted public path users know ``cls`` by, e.g. ``"haiku_core.nets.MLP"``.

    For a class defined outside ``haiku_core`` (a user's subclass), the path of its
    nearest public ``haiku_core`` base class is returned, so ``class MyLinear(hk.Linear)``
    reads as ``"haiku_core.Linear"``.

    Args:
      cls: a class, usually ``type(module)``.

    Returns:
      The public path, or ``"haiku_core.<ClassName>"`` if no public name is found.
    """
    for klass in cls.__mro__:
        if klass not in _PUBLIC_PATHS:
            _PUBLIC_PATHS[klass] = _lookup_public_path(klass)
        found = _PUBLIC_PATHS[klass]
        if found is not None:
            return found
    return f"haiku_core.{cls.__name__}"


def module_prefix(module: object) -> str:
    """The prefix of every error raised by a module instance.

    ``haiku_core.<Class> '<module path>'`` once the module has a name (e.g.
    ``haiku_core.Linear 'mlp/~/linear_1'``), else ``haiku_core.<Class>``.

    Args:
      module: an ``hk.Module`` instance (possibly still inside its ``__init__``).

    Returns:
      The prefix, without the trailing colon.
    """
    path = public_path(type(module))
    try:
        name = module.module_name  # type: ignore[attr-defined]
    except Exception:
        return path
    if not isinstance(name, str) or not name:
        return path
    return f"{path} '{name}'"


for _cls in (JaxUsageError, MissingRNGError, NonEmptyStateError, MissingParameterError):
    _cls.__module__ = "haiku_core"
del _cls
