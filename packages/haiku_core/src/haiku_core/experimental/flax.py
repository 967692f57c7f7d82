"""Haiku <-> Flax interop: ``lift`` a Flax module into Haiku, or wrap Haiku as Flax.

``Module`` is built on first access and needs ``flax`` installed.
"""

from haiku_core._src.flax_interop import flatten_flax_to_haiku, lift, make_module_class

__all__ = ["Module", "flatten_flax_to_haiku", "lift"]  # noqa: F822 - Module is lazy


def __getattr__(name: str):
    if name == "Module":
        return make_module_class()
    raise AttributeError(f"module 'haiku_core.experimental.flax' has no attribute {name!r}")
