"""Haiku <-> Flax interop (``hk.experimental.flax``).

``flatten_flax_to_haiku`` and ``lift`` need no Flax import (``lift`` only calls the
module's ``init``/``apply`` methods); :func:`make_module_class` builds the Flax
``Module`` wrapper and imports ``flax.linen`` when first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

import jax

from haiku_core._src import base
from haiku_core._src import lift as hk_lift
from haiku_core._src import transform as hk_transform

__all__ = [
    "FlaxNotInstalledError",
    "flatten_flax_to_haiku",
    "flax_available",
    "lift",
    "make_module_class",
]


class FlaxNotInstalledError(AttributeError):
    """A Flax-only feature was used but ``flax`` cannot be imported.

    An ``AttributeError``, so ``hasattr(hk.experimental.flax, "Module")`` is False and
    ``from haiku_core.experimental.flax import Module`` raises ``ImportError``.
    """


def flax_available() -> bool:
    """True when ``flax.linen`` can be imported (checked without importing it first).

    Returns:
      Whether the Flax adapter class can be built.
    """
    if _MODULE_CLASS:
        return True
    try:
        return importlib.util.find_spec("flax") is not None
    except (ImportError, ValueError):
        return False


Params = Mapping[str, Mapping[str, jax.Array]]


def flatten_flax_to_haiku(collection: Mapping[str, Any]) -> Params:
    """Converts a nested Flax variable collection to Haiku's two-level form.

    Nested dict keys are joined with ``/`` into the module path; the innermost key is
    the parameter name. Leaves at the top level go under the module path ``~``.

    Args:
      collection: e.g. ``variables["params"]`` of a Flax module.

    Returns:
      ``{module_path: {name: array}}``.

    Example:
      >>> flatten_flax_to_haiku({"Dense_0": {"kernel": 1, "bias": 2}})
      {'Dense_0': {'kernel': 1, 'bias': 2}}
    """
    out: dict[str, dict[str, Any]] = {}

    def visit(prefix: list[str], node: Any) -> None:
        for key, value in node.items():
            if isinstance(value, Mapping):
                visit([*prefix, str(key)], value)
            else:
                out.setdefault("/".join(prefix) or base.ROOT_SCOPE, {})[str(key)] = value

    visit([], collection)
    return out


def _nest(bundles: Mapping[str, Mapping[str, Any]]) -> dict:
    """Inverse of :func:`flatten_flax_to_haiku`: ``{"a/b": {"w": v}}`` -> ``{"a": {"b": {"w": v}}}``."""
    out: dict = {}
    for path, bundle in bundles.items():
        node = out
        if path != base.ROOT_SCOPE:
            for part in path.split("/"):
                node = node.setdefault(part, {})
        node.update(bundle)
    return out


def _collections_to_state(variables: Mapping[str, Any]) -> dict:
    """Flax collections (other than params) -> Haiku state keyed ``"<collection>/<path>"``."""
    state: dict = {}
    for collection, tree in variables.items():
        for path, bundle in flatten_flax_to_haiku(tree).items():
            state.setdefault(f"{collection}/{path}", {}).update(bundle)
    return state


def _state_to_collections(state: Mapping[str, Mapping[str, Any]]) -> dict:
    """Inverse of :func:`_collections_to_state`."""
    grouped: dict = {}
    for key, bundle in state.items():
        collection, _, path = key.partition("/")
        grouped.setdefault(collection, {})[path or base.ROOT_SCOPE] = bundle
    return {collection: _nest(bundles) for collection, bundles in grouped.items()}


def _invalid_rngs(name: str, rngs: Any) -> Exception:
    message = (
        f"haiku_core.experimental.flax.lift: `rngs` must be a dict mapping collection "
        f"names to PRNG keys, got {type(rngs).__name__} (lifted module {name!r})."
    )
    try:
        errors = importlib.import_module("flax.errors")
        return errors.InvalidRngError(message)
    except (ImportError, AttributeError):  # pragma: no cover - flax absent
        return TypeError(message)


def lift(mod: Any, *, name: str) -> Callable[..., Any]:
    """Runs a Flax module inside a Haiku transform; its variables become Haiku params/state.

    Must be called inside a transformed function (the lifting scope ``name`` is
    fixed then, like a module name). Under ``init`` the module's ``init`` is called
    with ``hk.maybe_next_rng_key()`` (or with ``rngs=`` when given, a
    ``"params"`` key being added from Haiku when missing); the ``params``
    collection is stored under ``<scope>/<name>/<flax path>`` in the params and
    every other collection ``c`` under ``<scope>/<name>/c/<flax path>`` in the
    state. Every call returns ``mod.apply(variables, *args, **kwargs)`` with the
    non-params collections mutable; their new values become the new Haiku state.

    Args:
      mod: a Flax module (anything with ``init(rng, ...)`` and
        ``apply(variables, ..., mutable=...)``).
      name: name of the lifting scope.

    Returns:
      A function with the module's call arguments returning its output.

    Raises:
      ValueError: outside a transform.
      flax.errors.InvalidRngError: if ``rngs`` is given but is not a mapping.
    """
    what = "haiku_core.experimental.flax.lift"

    def inner_init(rng, *args, **kwargs):
        variables = dict(mod.init(rng, *args, **kwargs))
        params = flatten_flax_to_haiku(variables.pop("params", {}))
        return params, _collections_to_state(variables)

    lifted, prefix = hk_lift._make_lifted(inner_init, True, name, what, True)

    def wrapped(*args, **kwargs):
        frame = base.frame_or_raise(what)
        if frame.is_init:
            init_kwargs = dict(kwargs)
            if "rngs" not in init_kwargs:
                rng: Any = base.maybe_next_rng_key()
            else:
                rngs = init_kwargs.pop("rngs")
                if not isinstance(rngs, Mapping):
                    raise _invalid_rngs(name, rngs)
                rng = dict(rngs)
                if "params" not in rng:
                    key = base.maybe_next_rng_key()
                    if key is not None:
                        rng["params"] = key
            params, state = lifted(rng, *args, **init_kwargs)
        else:
            params, state = lifted()
        variables = _state_to_collections(state)
        mutable = set(variables)
        variables["params"] = _nest(params)
        out, new_variables = mod.apply(variables, *args, **kwargs, mutable=mutable)
        if not frame.is_init:
            new_state = _collections_to_state(new_variables)
            hk_lift._write_state(frame, prefix, new_state, what)
        return out

    return wrapped


_MODULE_CLASS: list = []


def make_module_class() -> type:
    """Builds (once) the Flax ``Module`` that runs a Haiku transform.

    Returns:
      The ``hk.experimental.flax.Module`` class.

    Raises:
      FlaxNotInstalledError: if ``flax`` cannot be imported (an ``AttributeError``).
    """
    if _MODULE_CLASS:
        return _MODULE_CLASS[0]
    try:
        # Optional interop: flax is never a dependency of haiku-core; it is loaded only when a
        # user who has it asks for this adapter class.
        nn: Any = importlib.import_module("flax.linen")
    except ImportError as e:
        raise FlaxNotInstalledError(
            "haiku_core.experimental.flax.Module: needs flax, which is not installed "
            "(`pip install flax`)."
        ) from e

    def put_nested(scope: Any, collection: str, bundles: Mapping[str, Mapping[str, Any]]) -> None:
        # One Flax sub-scope per component of the Haiku module path ("~" included).
        for path, bundle in bundles.items():
            sub = scope
            for part in path.split("/"):
                sub = sub.push(part, reuse=True)
            for key, value in bundle.items():
                sub.put_variable(collection, key, value)

    class Module(nn.Module):
        """Flax module that runs a Haiku ``Transformed``/``TransformedWithState``.

        Haiku params live in the Flax ``params`` collection and Haiku state in the
        ``state`` collection, nested by module path (``"a/b"`` -> ``{"a": {"b": ...}}``).
        ``init`` stores the Haiku init's params and *initial* state; a call with the
        ``state`` collection mutable stores the state entries that changed. A Flax rng
        named ``"apply"`` (when given) is passed to the Haiku apply.
        """

        transformed: Any

        def __post_init__(self) -> None:
            super().__post_init__()
            if isinstance(self.transformed, hk_transform.Transformed):
                self.transformed = hk_transform.with_empty_state(self.transformed)

        @classmethod
        def create(cls, hk_cls: type, *init_args: Any, **init_kwargs: Any) -> Any:
            """Builds the wrapper running ``hk_cls(*init_args, **init_kwargs)(...)``.

            Args:
              hk_cls: a Haiku module class (e.g. ``hk.Linear``).
              *init_args: positional constructor arguments.
              **init_kwargs: keyword constructor arguments.

            Returns:
              A Flax module instance.
            """

            def call(*args: Any, **kwargs: Any) -> Any:
                return hk_cls(*init_args, **init_kwargs)(*args, **kwargs)

            return cls(hk_transform.transform_with_state(call))

        @nn.compact
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if self.is_initializing():
                params, state = self.transformed.init(self.make_rng("params"), *args, **kwargs)
                put_nested(self.scope, "params", params)
                put_nested(self.scope, "state", state)
            else:
                params = flatten_flax_to_haiku(self.variables.get("params", {}))
                state = flatten_flax_to_haiku(self.variables.get("state", {}))
            rng = self.make_rng("apply") if self.has_rng("apply") else None
            out, new_state = self.transformed.apply(params, state, rng, *args, **kwargs)
            if not self.is_initializing():
                changed: dict = {}
                for path, bundle in new_state.items():
                    old = state.get(path, {})
                    for key, value in bundle.items():
                        if key in old and old[key] is not value:
                            changed.setdefault(path, {})[key] = value
                put_nested(self.scope, "state", changed)
            return out

    _MODULE_CLASS.append(Module)
    return Module
