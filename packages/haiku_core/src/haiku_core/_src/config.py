"""Process-wide configuration for haiku_core (``hk.config``)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import operator
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclasses.dataclass
class Config:
    """Global options.

    Attributes:
      check_jax_usage: if True, ``apply`` also probes (one small op per call)
        whether it runs under an enclosing JAX trace, so a value stored into
        params/state/rng from a raw JAX transform nested inside the function raises
        at the point it is stored (``init`` always does this; without the flag
        ``apply`` reports such values when it returns). It also rejects module
        methods called on tracers of a raw transform nested in the function (e.g. a
        plain ``jax.vmap`` around modules), which is harmless and allowed by default.
      module_auto_repr: if True, ``repr(module)`` shows its constructor arguments.
      restore_flatmap: accepted for compatibility; params are always plain dicts.
      rng_reserve_size: how many keys the RNG sequence splits at once when it
        runs out of reserved keys. Values < 1 are stored as given; with them a
        single-key draw (``next_rng_key``) that finds no reserved key raises
        ``IndexError``, while ``next_rng_keys(n)`` and ``reserve_rng_keys(n)``
        still split the keys they need.
    """

    check_jax_usage: bool = False
    module_auto_repr: bool = True
    restore_flatmap: bool = False
    rng_reserve_size: int = 1

    @classmethod
    def default(cls) -> Config:
        """Returns a new :class:`Config` holding the default value of every option."""
        return cls()


# Each thread has its own Config. The thread that imports this module (normally
# the main thread) owns ``main_thread_config``; any other thread starts from a
# copy of it, taken the first time that thread reads its config.
main_thread_config = Config.default()


class _PerThread(threading.local):
    def __init__(self) -> None:
        super().__init__()
        self.config = dataclasses.replace(main_thread_config)


tls = _PerThread()
tls.config = main_thread_config


def get_config() -> Config:
    """Returns the live :class:`Config` of the calling thread.

    Returns:
      The config object; changing its fields changes behaviour in this thread.
    """
    return tls.config


def _validate(check_jax_usage, module_auto_repr, restore_flatmap, rng_reserve_size) -> dict:
    updates = {}
    for name, value in (
        ("check_jax_usage", check_jax_usage),
        ("module_auto_repr", module_auto_repr),
        ("restore_flatmap", restore_flatmap),
    ):
        if value is not None:
            if not isinstance(value, bool):
                raise TypeError(
                    f"haiku_core.config: `{name}` must be a bool, got {type(value).__name__}."
                )
            updates[name] = value
    if rng_reserve_size is not None:
        try:
            operator.index(rng_reserve_size)
        except TypeError:
            raise TypeError(
                "haiku_core.config: `rng_reserve_size` must be an int, got "
                f"{type(rng_reserve_size).__name__}: {rng_reserve_size!r}."
            ) from None
        updates["rng_reserve_size"] = rng_reserve_size
    return updates


def set(
    *,
    check_jax_usage: bool | None = None,
    module_auto_repr: bool | None = None,
    restore_flatmap: bool | None = None,
    rng_reserve_size: int | None = None,
) -> None:
    """Sets global config options for the rest of the process.

    Args:
      check_jax_usage: see :class:`Config`.
      module_auto_repr: see :class:`Config`.
      restore_flatmap: see :class:`Config`.
      rng_reserve_size: see :class:`Config`.

    Raises:
      TypeError: if an option has the wrong type.
    """
    for k, v in _validate(
        check_jax_usage, module_auto_repr, restore_flatmap, rng_reserve_size
    ).items():
        setattr(get_config(), k, v)


def context(
    *,
    check_jax_usage: bool | None = None,
    module_auto_repr: bool | None = None,
    restore_flatmap: bool | None = None,
    rng_reserve_size: int | None = None,
) -> contextlib.AbstractContextManager[None]:
    """Context manager setting config options inside a ``with`` block only.

    Args:
      check_jax_usage: see :class:`Config`.
      module_auto_repr: see :class:`Config`.
      restore_flatmap: see :class:`Config`.
      rng_reserve_size: see :class:`Config`.

    Raises:
      TypeError: if an option has the wrong type.
    """
    return assign(**_validate(check_jax_usage, module_auto_repr, restore_flatmap, rng_reserve_size))


@contextlib.contextmanager
def assign(**overrides: Any) -> Iterator[None]:
    """Overrides config fields of the calling thread inside a ``with`` block.

    Args:
      **overrides: ``field=value`` pairs (names of :class:`Config` fields).

    Raises:
      AttributeError: for a name that is not a config option.
    """
    cfg = get_config()
    for name in overrides:
        if not hasattr(cfg, name):
            raise AttributeError(f"haiku_core.config: unknown config option {name!r}.")
    previous = {name: getattr(cfg, name) for name in overrides}
    for name, value in overrides.items():
        setattr(cfg, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(cfg, name, value)


def with_config(**overrides: Any) -> Callable[[_F], _F]:
    """Decorator: runs the decorated function under :func:`assign` ``(**overrides)``.

    Args:
      **overrides: ``field=value`` pairs (names of :class:`Config` fields).

    Returns:
      A decorator.
    """

    def decorator(f: _F) -> _F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with assign(**overrides):
                return f(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _swap(name: str, value) -> object:
    old = getattr(get_config(), name)
    set(**{name: value})
    return old


def check_jax_usage(enabled: bool = True) -> bool:
    """Enables/disables the end-of-transform raw-JAX-transform check.

    Args:
      enabled: new value.

    Returns:
      The previous value.
    """
    return _swap("check_jax_usage", enabled)  # type: ignore[return-value]


def module_auto_repr(enabled: bool) -> bool:
    """Enables/disables the generated ``Module.__repr__``.

    Args:
      enabled: new value.

    Returns:
      The previous value.
    """
    return _swap("module_auto_repr", enabled)  # type: ignore[return-value]


def rng_reserve_size(size: int) -> int:
    """Sets how many keys the RNG sequence splits at once.

    Args:
      size: new value, >= 1 (unlike ``hk.config.set``/``context``, which accept
        any int).

    Returns:
      The previous value.

    Raises:
      ValueError: if ``size`` < 1.
    """
    if not isinstance(size, bool) and isinstance(size, int) and size < 1:
        raise ValueError(
            f"haiku_core.experimental.rng_reserve_size: `size` must be >= 1, got {size}."
        )
    return _swap("rng_reserve_size", size)  # type: ignore[return-value]
