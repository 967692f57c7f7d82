"""Haiku <-> Flax interop: ``lift`` a Flax module into Haiku, or wrap Haiku as Flax.

``Module`` is built on first access and needs ``flax`` installed; without flax,
accessing it raises :class:`FlaxNotInstalledError` (an ``AttributeError``, so
``hasattr`` answers False and ``from ... import Module`` raises ``ImportError``) and
``Module`` is left out of ``__all__``.
"""

from haiku_core._src.flax_interop import (
    flatten_flax_to_haiku,
    flax_available,
    lift,
    make_module_class,
)

__all__ = ["flatten_flax_to_haiku", "lift"]
if flax_available():
    __all__ = ["Module", *__all__]  # noqa: F822 - Module is built lazily by __getattr__


def __getattr__(name: str) -> type:
    if name == "Module":
        return make_module_class()
    raise AttributeError(f"module 'haiku_core.experimental.flax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
