"""``hk.lift``: nest an inner transform's params inside an outer transform."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from typing import Any

import jax

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding
from haiku_core._src.base import ROOT_SCOPE, SCOPE
from haiku_core._src.errors import NonEmptyStateError

__all__ = [
    "LiftWithStateUpdater",
    "lift",
    "lift_with_state",
    "transparent_lift",
    "transparent_lift_with_state",
]

Params = Mapping[str, Mapping[str, jax.Array]]


def _lift_prefix(frame: base.Frame, name: str | None) -> str:
    """Returns ``"<scope>/"`` under which inner module names are placed.

    A named lift takes a unique child name of the current scope (like a module
    would); a transparent lift (``name=None``) uses the current scope itself.
    """
    entry = frame.stack[-1]
    if name is None:
        scope = entry[SCOPE]
        return "" if scope in (None, ROOT_SCOPE) else scope + "/"
    base_name, n = hk_module._split_numbered(name)
    return hk_module._unique_name(entry, base_name, n) + "/"


def _select(store: Any, prefix: str) -> dict:
    """``{inner_name: bundle}`` for every entry of ``store`` under ``prefix``."""
    out: dict = {}
    if not store:
        return out
    for m, bundle in store.items():
        if prefix == "":
            out[m] = dict(bundle)
        elif m.startswith(prefix):
            out[m[len(prefix) :]] = dict(bundle)
    return out


def _store(target: dict, prefix: str, tree: Mapping, allow_reuse: bool, what: str) -> None:
    """Copies ``tree`` into ``target`` under ``prefix``.

    Raises:
      ValueError: when a destination bundle already exists and ``allow_reuse`` is
        False (the lifted init would silently share an outer module's values).
    """
    for m, bundle in tree.items():
        full = prefix + m
        if not allow_reuse and full in target:
            raise ValueError(
                f"{what}: the lifted init produced '{full}', which already exists in the "
                "outer transform (defined by an outer module or by an earlier call of the "
                "same lifted function). Pass allow_reuse=True if sharing it is intended."
            )
        target.setdefault(full, {}).update(bundle)


def _write_state(frame: base.Frame, prefix: str, state: Mapping, what: str) -> None:
    """Writes ``{inner_module: {name: value}}`` into the frame's current state."""
    if not state:
        return
    store = base._state_store(frame, what)
    for m, bundle in state.items():
        for n, v in bundle.items():
            frame.note_tracer(f"lifted state '{prefix}{m}/{n}' was set", v)
            store.setdefault(prefix + m, {})[n] = v


# ----------------------------------------------------------------------------- teardown


class _TeardownList(list):
    """The frame's ``suspicious`` list, extended with checks run when the frame ends.

    The transforms test ``bool(frame.suspicious)`` once the wrapped function has
    returned; that test runs the registered checks (each may raise) before the list
    answers as an ordinary list would.
    """

    def __init__(self, items: list, checks: list) -> None:
        super().__init__(items)
        self.checks = checks

    def __bool__(self) -> bool:
        checks, self.checks = self.checks, []
        for check in checks:
            check()
        return len(self) > 0


def _on_frame_end(frame: base.Frame, check: Callable[[], None]) -> None:
    """Runs ``check()`` when the transform that owns ``frame`` returns normally."""
    current = frame.suspicious
    if type(current) is not _TeardownList:
        current = _TeardownList(current, [])
        frame.suspicious = current
    current.checks.append(check)


# ----------------------------------------------------------------------------- closures


def _live_modules() -> list:
    """Every ``hk.Module`` instance alive right now (only used at init time)."""
    module_cls = hk_module.Module
    return [o for o in gc.get_objects() if isinstance(o, module_cls)]


def _closed_over_error(module: Any, what: str) -> ValueError:
    return ValueError(
        f"{what}: the lifted function uses module '{module.module_name}' "
        f"({type(module).__name__}), which was created outside of it and closed over. "
        "Modules used by a function wrapped in hk.transparent_lift must be created inside "
        "that function; you can't close over a module from the outer transform."
    )


def _run_guarded(init_fn: Callable, args: tuple, kwargs: dict, what: str) -> Any:
    """Runs ``init_fn`` and raises if it reads or creates params/state of a module
    that existed before the call (a module closed over from the outer transform)."""
    from haiku_core._src import interception

    outer = base._local.frames[-1]
    before = _live_modules()
    outside = {id(m) for m in before}
    if not outside:
        return init_fn(*args, **kwargs)

    def creator(next_creator, shape, dtype, init, context):
        if id(context.module) in outside:
            raise _closed_over_error(context.module, what)
        return next_creator(shape, dtype, init)

    def getter(next_getter, value, context):
        if id(context.module) in outside:
            raise _closed_over_error(context.module, what)
        return next_getter(value)

    def guard(next_f, a, k, context):
        if id(context.module) in outside and base._local.frames[-1] is not outer:
            with interception.custom_creator(creator, state=True):
                with interception.custom_getter(getter, state=True):
                    return next_f(*a, **k)
        return next_f(*a, **k)

    with hk_module.intercept_methods(guard):
        out = init_fn(*args, **kwargs)
    del before
    return out


# ----------------------------------------------------------------------------- lift


def _make_lifted(
    init_fn: Callable, allow_reuse: bool, name: str | None, what: str, with_state: bool
) -> tuple[Callable, str]:
    frame = base.frame_or_raise(what)
    prefix = _lift_prefix(frame, name)

    def lifted(*args, **kwargs):
        frame = base.frame_or_raise(what)
        if frame.is_init:
            # Logical axis names recorded inside the inner init follow its parameters to
            # their place under ``prefix`` (a no-op unless hk.sharding is recording).
            inner_init = hk_sharding.prefixed(init_fn, prefix)
            if name is None:
                out = _run_guarded(inner_init, args, kwargs, what)
            else:
                out = inner_init(*args, **kwargs)
            if with_state:
                params, state = out
            else:
                if not isinstance(out, Mapping):
                    raise NonEmptyStateError(
                        f"{what}: the lifted init returned {type(out).__name__}, not a params "
                        "mapping; an init that returns (params, state) (from "
                        "hk.transform_with_state) must be lifted with hk.lift_with_state."
                    )
                params, state = out, {}
            _store(frame.params, prefix, params, allow_reuse, what)
            if state:
                if frame.state is None:
                    raise NonEmptyStateError(
                        f"{what}: the lifted init created state, but the outer function is "
                        "transformed with hk.transform; use hk.transform_with_state."
                    )
                _store(frame.state, prefix, state, allow_reuse, what)
                if frame.initial_state is not None:
                    _store(frame.initial_state, prefix, state, True, what)
            return params, state
        params = _select(frame.params, prefix)
        state = _select(frame.state, prefix) if frame.state is not None else {}
        return params, state

    return lifted, prefix


def lift(
    init_fn: Callable[..., Params], *, allow_reuse: bool = False, name: str = "lifted"
) -> Callable[..., Params]:
    """Registers an inner transform's params inside the current (outer) transform.

    Must be called inside a transformed function. Under the outer ``init`` the
    returned function calls ``init_fn`` and stores the result under
    ``<scope>/<name>/...`` (the name is fixed when ``lift`` is called); under
    ``apply`` it returns those params without calling ``init_fn``.

    Args:
      init_fn: the inner ``init`` (e.g. ``hk.transform(g).init``).
      allow_reuse: allow the lifted params to overwrite/share entries that already
        exist in the outer params (e.g. when called more than once, or in ``hk.scan``).
      name: name of the lifting scope (uniquified like a module name).

    Returns:
      A function with ``init_fn``'s arguments returning the inner params.

    Raises:
      ValueError: outside a transform; at init, if an inner entry already exists
        and ``allow_reuse`` is False.
      NonEmptyStateError: if ``init_fn`` returns ``(params, state)``.

    Example:
      >>> inner = hk.transform(lambda x: hk.Linear(2)(x))
      >>> def outer(x):
      ...     params = hk.lift(inner.init, name="inner")(hk.next_rng_key(), x)
      ...     return inner.apply(params, None, x)
      >>> f = hk.transform(outer)
      >>> params = f.init(jax.random.PRNGKey(0), jnp.ones([1, 3]))
      >>> jax.tree_util.tree_map(jnp.shape, params)
      {'inner/linear': {'b': (2,), 'w': (3, 2)}}
      >>> f.apply(params, jax.random.PRNGKey(1), jnp.ones([1, 3])).shape  # outer draws a key
      (1, 2)
    """
    lifted, _ = _make_lifted(init_fn, allow_reuse, name, "haiku_core.lift", False)
    return lambda *a, **k: lifted(*a, **k)[0]


def transparent_lift(
    init_fn: Callable[..., Params], *, allow_reuse: bool = False
) -> Callable[..., Params]:
    """Like :func:`lift` but without the extra name scope.

    Args:
      init_fn: the inner ``init``.
      allow_reuse: allow sharing entries that already exist in the outer params.

    Returns:
      A function with ``init_fn``'s arguments returning the inner params.

    Raises:
      ValueError: outside a transform; at init, if an inner module name is already
        used by the outer transform and ``allow_reuse`` is False.
    """
    lifted, _ = _make_lifted(init_fn, allow_reuse, None, "haiku_core.transparent_lift", False)
    return lambda *a, **k: lifted(*a, **k)[0]


class LiftWithStateUpdater:
    """Writes an inner transform's new state back into the outer state.

    Returned by :func:`lift_with_state`. Exactly one of :meth:`update` (with the
    inner ``apply``'s new state) or :meth:`ignore_update` must be called, inside the
    same ``init``/``apply`` call that created the updater; otherwise a
    ``ValueError`` is raised (at the second use, or when that call returns).
    """

    def __init__(self, name: str | None, *, prefix: str | None = None):
        """Args:
        name: the lifting scope name (``None`` for transparent).
        prefix: the outer name prefix (``"<scope>/"``) of the lifted state; derived
          from ``name`` and the current scope when omitted.
        """
        self._name = name
        frames = base._local.frames
        frame = frames[-1] if frames else None
        self._frame = frame
        if prefix is None:
            prefix = "" if name is None else name + "/"
        self._prefix = prefix
        self._used = False
        if frame is not None:
            _on_frame_end(frame, self.assert_used)

    def _claim(self, what: str) -> base.Frame:
        if self._used:
            raise ValueError(
                f"haiku_core.LiftWithStateUpdater.{what}: the updater was already used; call update() or "
                "ignore_update() only once per init/apply."
            )
        frames = base._local.frames
        if not frames:
            raise ValueError(
                f"haiku_core.LiftWithStateUpdater.{what}: must be called inside the function transformed "
                "with hk.transform_with_state that created it."
            )
        frame = frames[-1]
        if frame is not self._frame:
            raise ValueError(
                f"haiku_core.LiftWithStateUpdater.{what}: must be used within the same call to init/apply "
                "(and the same transform) that created it, not inside another transform."
            )
        self._used = True
        return frame

    def update(self, state: Params) -> None:
        """Stores ``state`` (inner module names) into the outer state.

        Args:
          state: ``{inner_module: {name: array}}``, e.g. the new state returned by the
            inner ``apply``.

        Raises:
          ValueError: if the updater was already used, or is used outside the
            init/apply call that created it.
        """
        frame = self._claim("update")
        if frame.is_init:
            return
        _write_state(frame, self._prefix, state, "haiku_core.LiftWithStateUpdater.update")

    def ignore_update(self) -> None:
        """Marks the state as intentionally not updated.

        Raises:
          ValueError: if the updater was already used, or is used outside the
            init/apply call that created it.
        """
        self._claim("ignore_update")

    def assert_used(self) -> None:
        """Raises if neither :meth:`update` nor :meth:`ignore_update` was called.

        Raises:
          ValueError: if the updater was not used.
        """
        if not self._used:
            raise ValueError(
                "haiku_core.LiftWithStateUpdater: the updater (from hk.lift_with_state) was neither updated nor "
                "ignored; call updater.update(new_state) or updater.ignore_update() before "
                "the transformed function returns."
            )


def _make_lift_with_state(init_fn, allow_reuse, name, what):
    lifted, prefix = _make_lifted(init_fn, allow_reuse, name, what, True)
    updater = LiftWithStateUpdater(prefix.rstrip("/") or None, prefix=prefix)
    return (lambda *a, **k: lifted(*a, **k)), updater


def lift_with_state(
    init_fn: Callable[..., tuple[Params, Params]],
    *,
    allow_reuse: bool = False,
    name: str = "lifted",
) -> tuple[Callable[..., tuple[Params, Params]], LiftWithStateUpdater]:
    """Like :func:`lift` for an inner init returning ``(params, state)``.

    Args:
      init_fn: the inner ``init`` of a ``transform_with_state``.
      allow_reuse: allow sharing entries that already exist in the outer transform.
      name: lifting scope name.

    Returns:
      ``(lifted_init, updater)``; ``lifted_init(...)`` returns ``(params, state)``.
      The updater must be used exactly once in the same init/apply call.

    Raises:
      ValueError: outside a transform.
    """
    return _make_lift_with_state(init_fn, allow_reuse, name, "haiku_core.lift_with_state")


def transparent_lift_with_state(
    init_fn: Callable[..., tuple[Params, Params]], *, allow_reuse: bool = False
) -> tuple[Callable[..., tuple[Params, Params]], LiftWithStateUpdater]:
    """:func:`lift_with_state` without the extra name scope.

    Args:
      init_fn: the inner ``init`` of a ``transform_with_state``.
      allow_reuse: allow sharing entries that already exist in the outer transform.

    Returns:
      ``(lifted_init, updater)``.

    Raises:
      ValueError: outside a transform.
    """
    return _make_lift_with_state(
        init_fn, allow_reuse, None, "haiku_core.transparent_lift_with_state"
    )


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
