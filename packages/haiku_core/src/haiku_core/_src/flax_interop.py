"""Haiku <-> Flax interop (``hk.experimental.flax``).

``flatten_flax_to_haiku`` and ``lift`` need no Flax import (``lift`` only calls the
module's ``init``/``apply`` methods); :func:`make_module_class` builds the Flax
``Module`` wrapper and imports ``flax.linen`` when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import jax

from haiku_core._src import base
from haiku_core._src import lift as hk_lift
from haiku_core._src import transform as hk_transform

__all__ = ["flatten_flax_to_haiku", "lift", "make_module_class"]

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


def _unflatten(params: Params) -> dict:
    out: dict = {}
    for path, bundle in params.items():
        node = out
        if path != base.ROOT_SCOPE:
            for part in path.split("/"):
                node = node.setdefault(part, {})
        node.update(bundle)
    return out


def lift(mod: Any, *, name: str) -> Callable[..., Any]:
    """Runs a Flax module inside a Haiku transform; its params become Haiku params.

    Under ``init`` the module's ``init`` is called with ``hk.next_rng_key()`` and its
    ``params`` collection is stored (flattened) under ``<scope>/<name>/...``; every
    call returns ``mod.apply({"params": ...}, *args, **kwargs)``.

    Args:
      mod: a Flax module (anything with ``init(rng, ...)`` and ``apply(vars, ...)``).
      name: name of the lifting scope.

    Returns:
      A function with the module's call arguments.

    Raises:
      ValueError: if the module creates variable collections other than ``params``.
    """

    def lifted(*args, **kwargs):
        frame = base.frame_or_raise("hk.experimental.flax.lift")
        prefix = hk_lift._lift_prefix(frame, name)
        if frame.is_init:
            variables = mod.init(base.next_rng_key(), *args, **kwargs)
            extra = sorted(k for k in variables if k != "params")
            if extra:
                raise ValueError(
                    f"hk.experimental.flax.lift({name!r}): the Flax module created variable "
                    f"collections {extra}; only 'params' can be lifted."
                )
            hk_lift._store(frame.params, prefix, flatten_flax_to_haiku(variables["params"]))
        params = hk_lift._select(frame.params, prefix)
        return mod.apply({"params": _unflatten(params)}, *args, **kwargs)

    return lifted


_MODULE_CLASS: list = []


def make_module_class() -> type:
    """Builds (once) the Flax ``Module`` that runs a Haiku transform.

    Returns:
      The ``hk.experimental.flax.Module`` class.

    Raises:
      ImportError: if ``flax`` is not installed.
    """
    if _MODULE_CLASS:
        return _MODULE_CLASS[0]
    try:
        # Optional interop: flax is never a dependency of haiku-core; it is loaded only when a
        # user who has it asks for this adapter class.
        nn: Any = importlib.import_module("flax.linen")
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("hk.experimental.flax.Module needs flax: `pip install flax`.") from e

    class Module(nn.Module):
        """Flax module that runs a Haiku Transformed/TransformedWithState.

        Haiku params are stored in the Flax ``params`` collection and Haiku state in
        the ``state`` collection, one variable per Haiku module path.
        """

        transformed: Any

        @classmethod
        def create(cls, hk_cls: type, *init_args: Any, **init_kwargs: Any) -> Module:
            """Builds the wrapper for ``hk_cls(*init_args, **init_kwargs)(...)``."""

            def f(*args, **kwargs):
                return hk_cls(*init_args, **init_kwargs)(*args, **kwargs)

            return cls(hk_transform.transform_with_state(f))

        @nn.compact
        def __call__(self, *args, **kwargs):
            t = self.transformed
            if isinstance(t, hk_transform.Transformed):
                t = hk_transform.with_empty_state(t)
            rng = self.make_rng("params") if self.is_initializing() else None
            if self.is_initializing():
                p0, s0 = t.init(rng, *args, **kwargs)
            else:
                p0, s0 = {}, {}
            params = {k: self.param(k, lambda _, v=v: v) for k, v in p0.items()}
            if not self.is_initializing():
                params = dict(self.variables.get("params", {}))
            state_vars = {k: self.variable("state", k, lambda v=v: v) for k, v in s0.items()}
            if not self.is_initializing():
                state_vars = {k: self.variable("state", k) for k in self.variables.get("state", {})}
            state = {k: v.value for k, v in state_vars.items()}
            apply_rng = self.make_rng("dropout") if self.has_rng("dropout") else None
            out, new_state = t.apply(params, state, apply_rng, *args, **kwargs)
            if self.is_mutable_collection("state"):
                for k, v in new_state.items():
                    state_vars[k].value = v
            return out

    _MODULE_CLASS.append(Module)
    return Module
