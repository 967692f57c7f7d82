"""``hk.lift``: nest an inner transform's params inside an outer transform."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src.base import ROOT_SCOPE, SCOPE

__all__ = [
    "LiftWithStateUpdater",
    "lift",
    "lift_with_state",
    "transparent_lift",
    "transparent_lift_with_state",
]

Params = Mapping[str, Mapping[str, jax.Array]]


def _lift_prefix(frame: base.Frame, name: str | None) -> str:
    """Returns ``"<scope>/"`` under which inner module names are placed."""
    entry = frame.stack[-1]
    if name is None:  # transparent: the current scope itself
        scope = entry[SCOPE]
        return "" if scope == ROOT_SCOPE else scope + "/"
    base_name, n = hk_module._split_numbered(name)
    return hk_module._unique_name(entry, base_name, n) + "/"


def _select(store: Any, prefix: str) -> dict:
    out: dict = {}
    if not store:
        return out
    for m, bundle in store.items():
        if prefix == "":
            out[m] = dict(bundle)
        elif m.startswith(prefix):
            out[m[len(prefix) :]] = dict(bundle)
    return out


def _check_reuse(frame: base.Frame, prefix: str, allow_reuse: bool, what: str) -> None:
    key = (what, prefix)
    if key in frame.used_lifted and not allow_reuse:
        raise ValueError(
            f"{what}: the lifted name scope '{prefix.rstrip('/') or '~'}' was used twice in one "
            "init/apply. Pass allow_reuse=True if sharing the lifted params is intended."
        )
    frame.used_lifted.add(key)


def _store(target: dict, prefix: str, tree: Mapping) -> None:
    for m, bundle in tree.items():
        dest = target.setdefault(prefix + m, {})
        for n, v in bundle.items():
            dest.setdefault(n, v)


def _make_lift(init_fn: Callable, allow_reuse: bool, name: str | None, what: str):
    def lifted(*args, **kwargs) -> Params:
        frame = base.frame_or_raise(what)
        prefix = _lift_prefix(frame, name)
        _check_reuse(frame, prefix, allow_reuse, what)
        if frame.is_init:
            inner = init_fn(*args, **kwargs)
            _store(frame.params, prefix, inner)
        return _select(frame.params, prefix)

    return lifted


def lift(
    init_fn: Callable[..., Params], *, allow_reuse: bool = False, name: str = "lifted"
) -> Callable[..., Params]:
    """Registers an inner transform's params inside the current (outer) transform.

    Under the outer ``init`` the returned function calls ``init_fn`` and stores the
    result under ``<scope>/<name>/...``; under ``apply`` it returns those params
    (without calling ``init_fn``).

    Args:
      init_fn: the inner ``init`` (e.g. ``hk.transform(g).init``).
      allow_reuse: allow the same lifted scope to be used more than once per call.
      name: name of the lifting scope (uniquified like a module name).

    Returns:
      A function with ``init_fn``'s arguments returning the inner params.

    Example:
      >>> # inner = hk.transform(g)
      >>> # params = hk.lift(inner.init)(hk.next_rng_key(), x); inner.apply(params, None, x)
    """
    return _make_lift(init_fn, allow_reuse, name, "hk.lift")


def transparent_lift(
    init_fn: Callable[..., Params], *, allow_reuse: bool = False
) -> Callable[..., Params]:
    """Like :func:`lift` but without the extra name scope.

    Args:
      init_fn: the inner ``init``.
      allow_reuse: allow reuse within one call.

    Returns:
      A function with ``init_fn``'s arguments returning the inner params.
    """
    return _make_lift(init_fn, allow_reuse, None, "hk.transparent_lift")


class LiftWithStateUpdater:
    """Writes an inner transform's new state back into the outer state.

    Returned by :func:`lift_with_state`; call :meth:`update` with the inner
    ``apply``'s new state (or :meth:`ignore_update`) after the lifted init ran.
    """

    def __init__(self, name: str | None):
        """Args:
        name: the lifting scope name (None for transparent).
        """
        self._name = name
        self._prefix: str | None = None
        self._used = False

    def _set_prefix(self, prefix: str) -> None:
        self._prefix = prefix
        self._used = False

    def update(self, state: Params) -> None:
        """Stores ``state`` (inner names) into the outer state.

        Args:
          state: ``{inner_module: {name: array}}``.

        Raises:
          ValueError: if the lifted init has not been called yet.
        """
        frame = base.frame_or_raise("LiftWithStateUpdater.update")
        if self._prefix is None:
            raise ValueError(
                "LiftWithStateUpdater.update: call the lifted init function first (it "
                "determines where the state lives)."
            )
        self._used = True
        if frame.is_init:
            return
        store = base._state_store(frame, "LiftWithStateUpdater.update")
        for m, bundle in state.items():
            for n, v in bundle.items():
                frame.note_tracer(f"lifted state '{self._prefix}{m}/{n}' was set", v)
                store.setdefault(self._prefix + m, {})[n] = v

    def ignore_update(self) -> None:
        """Marks the state as intentionally not updated."""
        self._used = True

    def assert_used(self) -> None:
        """Raises if neither :meth:`update` nor :meth:`ignore_update` was called.

        Raises:
          ValueError: if the updater was not used.
        """
        if not self._used:
            raise ValueError(
                "LiftWithStateUpdater: the lifted state was neither updated nor ignored; "
                "call updater.update(new_state) or updater.ignore_update()."
            )


def _make_lift_with_state(init_fn, allow_reuse, name, what):
    updater = LiftWithStateUpdater(name)

    def lifted(*args, **kwargs):
        frame = base.frame_or_raise(what)
        if frame.state is None:
            raise ValueError(f"{what} requires the outer function to use hk.transform_with_state.")
        prefix = _lift_prefix(frame, name)
        _check_reuse(frame, prefix, allow_reuse, what)
        updater._set_prefix(prefix)
        if frame.is_init:
            params, state = init_fn(*args, **kwargs)
            _store(frame.params, prefix, params)
            _store(frame.state, prefix, state)
            if frame.initial_state is not None:
                _store(frame.initial_state, prefix, state)
        return _select(frame.params, prefix), _select(frame.state, prefix)

    return lifted, updater


def lift_with_state(
    init_fn: Callable[..., tuple[Params, Params]],
    *,
    allow_reuse: bool = False,
    name: str = "lifted",
) -> tuple[Callable[..., tuple[Params, Params]], LiftWithStateUpdater]:
    """Like :func:`lift` for an inner init returning ``(params, state)``.

    Args:
      init_fn: the inner ``init`` of a ``transform_with_state``.
      allow_reuse: allow reuse within one call.
      name: lifting scope name.

    Returns:
      ``(lifted_init, updater)``; ``lifted_init(...)`` returns ``(params, state)``.
    """
    return _make_lift_with_state(init_fn, allow_reuse, name, "hk.lift_with_state")


def transparent_lift_with_state(
    init_fn: Callable[..., tuple[Params, Params]], *, allow_reuse: bool = False
) -> tuple[Callable[..., tuple[Params, Params]], LiftWithStateUpdater]:
    """:func:`lift_with_state` without the extra name scope.

    Args:
      init_fn: the inner ``init`` of a ``transform_with_state``.
      allow_reuse: allow reuse within one call.

    Returns:
      ``(lifted_init, updater)``.
    """
    return _make_lift_with_state(init_fn, allow_reuse, None, "hk.transparent_lift_with_state")


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
