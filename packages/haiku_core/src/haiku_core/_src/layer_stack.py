"""``hk.layer_stack``: apply a layer function N times with stacked parameters."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding
from haiku_core._src import transform as hk_transform
from haiku_core._src.base import ROOT_SCOPE, SCOPE

__all__ = ["LayerStackTransparencyMapping", "layer_stack"]


@runtime_checkable
class LayerStackTransparencyMapping(Protocol):
    """Maps per-layer module names to stacked names for ``layer_stack(transparent=True)``."""

    def stacked_to_flat(self, stacked_module_name: str, scan_idx: int) -> str:
        """Name of layer ``scan_idx``'s module for the stacked module name."""
        ...

    def flat_to_stacked(self, unstacked_module_name: str) -> tuple[str, int] | None:
        """Inverse of :meth:`stacked_to_flat` (None if the name is not per-layer)."""
        ...


def _select(store: Any, prefix: str) -> dict:
    out: dict = {}
    for m, bundle in (store or {}).items():
        if prefix == "" or m.startswith(prefix):
            out[m[len(prefix) :]] = dict(bundle)
    return out


def _layer_keys(frame: base.Frame, num_layers: int) -> jax.Array | None:
    """One key per layer: a single draw from the sequence, split ``num_layers`` ways."""
    if frame.rng is None:
        return None
    return jax.random.split(base._draw(frame, "haiku_core.layer_stack", None), num_layers)


def _reject_leading_varargs(f: Callable) -> None:
    """Raises if ``f``'s first parameter is ``*args`` (the carry must be explicit)."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return
    if params and params[0].kind == inspect.Parameter.VAR_POSITIONAL:
        name = getattr(f, "__qualname__", None) or type(f).__name__
        raise ValueError(
            f"haiku_core.layer_stack: the function `f` ({name}) must not start with *args "
            "(varargs); name its carry arguments explicitly, e.g. `def f(x, *rest)`."
        )


def layer_stack(
    num_layers: int,
    with_per_layer_inputs: bool = False,
    unroll: int = 1,
    pass_reverse_to_layer_fn: bool = False,
    transparent: bool = False,
    transparency_map: LayerStackTransparencyMapping | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: run a layer function ``num_layers`` times via ``jax.lax.scan``.

    Every parameter/state of the layer is stored once with a new leading
    ``[num_layers]`` axis under the module ``__layer_stack_no_per_layer`` (or
    ``__layer_stack_with_per_layer``, or ``name``).

    Without per-layer inputs the layer maps ``f(*carry) -> carry``. With them it maps
    ``f(carry, *xs_i) -> (carry, ys_i)`` where every ``xs`` leaf has leading axis
    ``[num_layers]`` and the call returns ``(carry, stacked_ys)``.

    Args:
      num_layers: number of layers (>= 1).
      with_per_layer_inputs: see above.
      unroll: scan unroll factor.
      pass_reverse_to_layer_fn: pass ``reverse=`` through to the layer function.
      transparent: store each layer's params unstacked, under the names
        ``transparency_map.stacked_to_flat(inner_name, i)`` in the current scope, so
        the stack is interchangeable with a Python loop of modules.
      transparency_map: required with ``transparent=True``; maps names both ways.
      name: name of the layer-stack module.

    Returns:
      A decorator turning a layer function into the stacked function.

    Raises:
      ValueError: if ``num_layers`` < 1.
    """
    if num_layers < 1:
        raise ValueError(f"haiku_core.layer_stack: `num_layers` must be >= 1, got {num_layers}.")
    if transparent and transparency_map is None:
        raise ValueError(
            "haiku_core.layer_stack: transparency_map must be provided with transparent=True (it "
            "names each layer's modules, e.g. 'linear' -> 'linear_3')."
        )
    tmap = transparency_map if transparent else None

    def to_flat(stacked: Any, prefix: str) -> dict:
        """Stacked ``{inner: {k: [L, ...]}}`` -> ``{prefix+flat_i: {k: [...]}}``."""
        out: dict = {}
        for m, bundle in stacked.items():
            for i in range(num_layers):
                flat = prefix + tmap.stacked_to_flat(m, i)  # type: ignore[union-attr]
                out[flat] = {k: v[i] for k, v in bundle.items()}
        return out

    def from_flat(store: Any, prefix: str) -> dict:
        """Inverse of ``to_flat`` for entries under ``prefix`` that the map recognises."""
        layers: dict = {}
        for m, bundle in (store or {}).items():
            if prefix and not m.startswith(prefix):
                continue
            hit = tmap.flat_to_stacked(m[len(prefix) :])  # type: ignore[union-attr]
            if hit is None:
                continue
            stacked_name, idx = hit
            layers.setdefault(stacked_name, {})[idx] = bundle
        out: dict = {}
        for m, by_idx in layers.items():
            missing = [i for i in range(num_layers) if i not in by_idx]
            if missing:
                raise ValueError(
                    f"haiku_core.layer_stack: transparent params for '{m}' lack layers {missing} "
                    f"(have {sorted(by_idx)}); expected {num_layers} layers."
                )
            keys = by_idx[0].keys()
            out[m] = {k: jnp.stack([by_idx[i][k] for i in range(num_layers)]) for k in keys}
        return out

    def store_into(target: dict, entries: dict, overwrite: bool) -> None:
        for m, bundle in entries.items():
            dest = target.setdefault(m, {})
            for k, v in bundle.items():
                if overwrite or k not in dest:
                    dest[k] = v

    def decorator(f: Callable) -> Callable:
        _reject_leading_varargs(f)

        @functools.wraps(f)
        def wrapped(*args, reverse: bool = False, **kwargs):
            frame = base.frame_or_raise("haiku_core.layer_stack")
            if transparent:
                scope = frame.stack[-1][SCOPE]
                prefix = "" if scope == ROOT_SCOPE else scope + "/"
            else:
                default = (
                    "__layer_stack_with_per_layer"
                    if with_per_layer_inputs
                    else "__layer_stack_no_per_layer"
                )
                base_name, n = hk_module._split_numbered(name or default)
                prefix = hk_module._unique_name(frame.stack[-1], base_name, n) + "/"
            layer_kwargs = dict(kwargs)
            if pass_reverse_to_layer_fn:
                layer_kwargs["reverse"] = reverse

            if with_per_layer_inputs:
                carry0, xs = args[0], args[1:]
            else:
                carry0, xs = args, ()
            single = len(args) == 1

            def body_fn(carry, *xs_i):
                if with_per_layer_inputs:
                    return f(carry, *xs_i, **layer_kwargs)
                out = f(*carry, **layer_kwargs)
                return ((out,) if single else tuple(out)), None

            # Logical axis names recorded inside the body land on the stored paths.
            body_fn = hk_sharding.stacked(body_fn, prefix, num_layers, tmap)
            inner = hk_transform.transform_with_state(body_fn)

            def place(stacked: Any) -> dict:
                if tmap is not None:
                    return to_flat(stacked, prefix)
                return {prefix + m: dict(b) for m, b in stacked.items()}

            if frame.is_init:
                keys = _layer_keys(frame, num_layers)

                def init_one(key, xs_i):
                    return inner.init(key, carry0, *xs_i)

                if keys is None:
                    p_s, s_s = jax.vmap(lambda xs_i: init_one(None, xs_i), axis_size=num_layers)(xs)
                else:
                    p_s, s_s = jax.vmap(init_one)(keys, xs)
                store_into(frame.params, place(p_s), overwrite=False)
                if s_s:
                    if frame.state is None:
                        raise base.NonEmptyStateError(
                            "haiku_core.layer_stack: the layer uses state; use hk.transform_with_state."
                        )
                    store_into(frame.state, place(s_s), overwrite=True)
                    if frame.initial_state is not None:
                        store_into(frame.initial_state, place(s_s), overwrite=True)
            if tmap is not None:
                params = from_flat(frame.params, prefix)
                state = from_flat(frame.state, prefix)
            else:
                params = _select(frame.params, prefix)
                state = _select(frame.state, prefix)
            keys = _layer_keys(frame, num_layers)

            def scan_body(carry, inp):
                p_i, s_i, k_i, xs_i = inp
                (new_carry, ys), new_s = inner.apply(p_i, s_i, k_i, carry, *xs_i)
                return new_carry, (new_s, ys)

            carry, (new_state, ys) = jax.lax.scan(
                scan_body, carry0, (params, state, keys, xs), reverse=reverse, unroll=unroll
            )
            if frame.state is not None and new_state:
                store_into(frame.state, place(new_state), overwrite=True)
            if with_per_layer_inputs:
                return carry, ys
            return carry[0] if len(args) == 1 else carry

        return wrapped

    return decorator


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
