"""Parameter and activation sharding on JAX's SPMD engine (``hk.sharding``).

This module only *describes* layouts; the engine is JAX itself (``jax.sharding.Mesh``,
``NamedSharding``, ``PartitionSpec``, ``jax.jit`` with ``out_shardings``,
``jax.lax.with_sharding_constraint``). Three ways to describe a layout:

* regex rules over parameter paths: :func:`specs_from_rules`;
* logical axis names recorded by module code (:func:`annotate`, with built-in defaults
  for ``Linear``, ``Embed``, ``MultiHeadAttention``, ``LayerNorm``/``RMSNorm`` and the
  convolutions), collected by :func:`logical_axes` and mapped to mesh axes by
  :func:`logical_to_specs`;
* activation constraints by logical name: :func:`constrain` inside :func:`use_rules`.

State
-----
Nothing is stored on modules or in the parameter tree. Two thread-local stacks exist,
both active only inside a ``with`` block / a call and both emptied on exit:

* the *recorder* that :func:`logical_axes` installs while it traces ``init`` under
  ``jax.eval_shape``; :func:`annotate` is a no-op (one attribute read) without it;
* the *rules context* of :func:`use_rules`, read by :func:`constrain` while a function is
  traced.

Both also enter a ``jax.make_user_context`` value, which is part of ``jax.jit``'s tracing
cache key: a jitted function called inside and outside a ``use_rules`` block (or with
different rules) is traced once for each, so constraints never leak through the cache.
(On a JAX without ``make_user_context`` a function traced inside the block keeps its
constraints when called outside: trace it afresh there.)
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

from haiku_core._src import base

__all__ = [
    "LogicalAxes",
    "LogicalRules",
    "annotate",
    "constrain",
    "logical_axes",
    "logical_to_specs",
    "named_shardings",
    "optimizer_state_specs",
    "sharded_init",
    "specs_from_rules",
    "summary",
    "use_rules",
]

#: Logical names of a parameter's (or activation's) axes, one entry per axis;
#: ``None`` marks an axis that is never sharded.
LogicalAxes = tuple[str | None, ...]
#: A device mesh, or an ``AbstractMesh`` (axis sizes only) where only sizes are needed.
AnyMesh = Mesh | AbstractMesh
#: ``(logical_name, mesh_axis | tuple_of_mesh_axes | None)`` pairs, first match wins.
LogicalRules = Sequence[tuple[str, str | tuple[str, ...] | None]]

# Priorities of recorded logical names (higher wins; equal: the later call wins).
_OWN_DEFAULT = 0  # a built-in module naming its own parameters
_PARENT_DEFAULT = 1  # a built-in module naming its children's parameters (attention)
_USER = 2  # an explicit hk.sharding.annotate call


class _Local(threading.local):
    def __init__(self) -> None:
        self.recorder: _Recorder | None = None
        self.rules: list[tuple[tuple[tuple[str, tuple[str, ...] | None], ...], Mesh | None]] = []


_tls = _Local()

# A jax.jit-cache-sensitive context (``jax.make_user_context``, where this JAX has it):
# entering use_rules / logical_axes changes its value, so a function traced (and cached)
# outside the block is traced again inside it, and vice versa. Created on first use (so
# importing haiku_core adds nothing to JAX's config); a function traced before that first
# use is traced once more afterwards.
_cache_key_lock = threading.Lock()
_cache_key_ctx: list[Any] = []
_record_counter = iter(range(1, 2**62))


def _cache_key(value: Any) -> contextlib.AbstractContextManager:
    """Context manager that puts ``value`` into JAX's tracing-cache key (if supported)."""
    make = getattr(jax, "make_user_context", None)
    if make is None:
        return contextlib.nullcontext()
    if not _cache_key_ctx:
        with _cache_key_lock:
            if not _cache_key_ctx:
                _cache_key_ctx.append(make(None))
    return _cache_key_ctx[0](value)


class _Recorder:
    """Collects ``(module_path, name) -> axes`` while ``logical_axes`` traces ``init``."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[int, LogicalAxes]] = {}
        # Each mapper turns a path of an inner transform (a layer_stack body) into the
        # outer paths it is stored under, with the axes that storage prepends.
        self.mappers: list[Callable[[str], list[tuple[str, LogicalAxes]]]] = []

    def add(self, path: str, name: str, axes: LogicalAxes, priority: int) -> None:
        targets: list[tuple[str, LogicalAxes]] = [(path, ())]
        for mapper in reversed(self.mappers):
            targets = [(outer, lead + extra) for p, extra in targets for outer, lead in mapper(p)]
        for outer, lead in targets:
            key = (outer, name)
            old = self.records.get(key)
            if old is None or old[0] <= priority:
                self.records[key] = (priority, lead + tuple(axes))


def _check_axes(what: str, axes: Any, context: str = "") -> LogicalAxes:
    if isinstance(axes, str) or not isinstance(axes, (tuple, list)):
        raise TypeError(
            f"{what}: {context}`axes` must be a tuple of logical axis names (str or None), "
            f"one per parameter axis, got {axes!r}."
        )
    for a in axes:
        if a is not None and not isinstance(a, str):
            raise TypeError(
                f"{what}: {context}every entry of `axes` must be a str or None, got {a!r} "
                f"in {axes!r}."
            )
    return tuple(axes)


def _record(name: str, axes: Any, module: Any, priority: int, what: str) -> None:
    rec = _tls.recorder
    if rec is None:
        return
    frames = base._local.frames
    if not frames:
        raise ValueError(f"{what}: must be called inside a transformed function.")
    frame = frames[-1]
    if module is not None:
        path = module.module_name
    else:
        path = frame.stack[-1][base.SCOPE]
    if frame.lift_prefix is not None and path != base.ROOT_SCOPE:
        path = frame.lift_prefix + path
    if not isinstance(name, str):
        raise TypeError(f"{what}: `param_name` must be a str, got {name!r}.")
    rec.add(path, name, _check_axes(what, axes), priority)


def annotate(param_name: str, axes: LogicalAxes, *, module: Any = None) -> None:
    """Records logical axis names for a parameter (or state) of the current module.

    Call it inside module code, right after ``hk.get_parameter``. It only has an effect
    while :func:`logical_axes` traces ``init``; otherwise it returns at once. Names set
    here win over the built-in defaults of haiku-core's modules; of two calls for the
    same parameter the later wins.

    Args:
      param_name: the parameter name as given to ``hk.get_parameter`` (e.g. ``"w"``).
      axes: one logical name (str) or ``None`` per axis of the parameter.
      module: optional module whose parameter is meant (e.g. a child ``hk.Linear`` after
        it was called); default: the module (or name scope) that is running.

    Returns:
      None.

    Raises:
      TypeError: while recording, if ``axes`` is not a tuple of str/None.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> def f(x):
    ...     w = hk.get_parameter("w", [x.shape[-1], 4], init=jnp.ones)
    ...     hk.sharding.annotate("w", ("embed", "mlp"))
    ...     return x @ w
    >>> hk.sharding.logical_axes(hk.transform(f).init, jax.random.PRNGKey(0), jnp.ones([2, 3]))
    {'~': {'w': ('embed', 'mlp')}}
    """
    if _tls.recorder is None:
        return
    _record(param_name, axes, module, _USER, "haiku_core.sharding.annotate")


def default_axes(param_name: str, axes: LogicalAxes, *, module: Any = None) -> None:
    """Built-in modules' defaults: like :func:`annotate`, but any annotate call wins."""
    if _tls.recorder is None:
        return
    priority = _OWN_DEFAULT if module is None else _PARENT_DEFAULT
    _record(param_name, axes, module, priority, "haiku_core.sharding.annotate")


def channel_axes(rank: int, name: str) -> LogicalAxes:
    """``(None, ..., None, name)`` of length ``rank`` (``()`` for a scalar)."""
    return (*(None,) * (rank - 1), name) if rank else ()


def _with_mapper(fn: Callable, mapper: Callable[[str], list[tuple[str, LogicalAxes]]]) -> Callable:
    """Wraps ``fn`` so that annotations recorded while it runs go through ``mapper``."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        rec = _tls.recorder
        if rec is None:
            return fn(*args, **kwargs)
        rec.mappers.append(mapper)
        try:
            return fn(*args, **kwargs)
        finally:
            rec.mappers.pop()

    return wrapped


def stacked(fn: Callable, prefix: str, num_layers: int, tmap: Any) -> Callable:
    """Wraps a layer_stack body so annotations inside it land on the stacked paths.

    Without ``tmap`` the stacked parameters live under ``prefix + inner_path`` and gain a
    leading ``"layers"`` axis; with a transparency map each layer's parameters are stored
    unstacked under ``prefix + tmap.stacked_to_flat(inner_path, i)``.
    """

    def mapper(path: str) -> list[tuple[str, LogicalAxes]]:
        if tmap is None:
            return [(prefix + path, ("layers",))]
        return [(prefix + tmap.stacked_to_flat(path, i), ()) for i in range(num_layers)]

    return _with_mapper(fn, mapper)


def prefixed(fn: Callable, prefix: str) -> Callable:
    """Wraps an inner transform's function (e.g. a lifted ``init``) whose parameters the
    outer transform stores under ``prefix + inner_path``; annotations follow them."""
    return _with_mapper(fn, lambda path: [(prefix + path, ())])


# ----------------------------------------------------------------------------- tree helpers


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct))


def _split_static(fn: Callable, args: tuple, kwargs: dict) -> tuple[Callable[..., Any], list[Any]]:
    """``(g, dyn)``: ``g(*dyn)`` calls ``fn(*args, **kwargs)`` with non-array leaves fixed.

    Python scalars, strings and other non-array leaves (flags such as ``is_training``)
    stay Python values inside ``g`` instead of becoming tracers.
    """
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
    dyn_idx = [i for i, leaf in enumerate(leaves) if _is_array_like(leaf)]

    def g(*dyn: Any) -> Any:
        full = list(leaves)
        for i, v in zip(dyn_idx, dyn, strict=True):
            full[i] = v
        a, k = jax.tree_util.tree_unflatten(treedef, full)
        return fn(*a, **k)

    return g, [leaves[i] for i in dyn_idx]


def _key_str(k: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _path_str(path: Sequence[Any]) -> str:
    return "/".join(_key_str(k) for k in path)


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def _is_spec_leaf(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _is_axes_leaf(x: Any) -> bool:
    return x is None or (isinstance(x, tuple) and all(a is None or isinstance(a, str) for a in x))


def _spec_axes(entry: Any) -> tuple[str, ...]:
    """Mesh axis names used by one PartitionSpec entry."""
    if entry is None or entry is PartitionSpec.UNCONSTRAINED:
        return ()
    if isinstance(entry, str):
        return (entry,)
    return tuple(entry)


def _check_spec(
    what: str,
    path: str,
    shape: tuple[int, ...],
    spec: PartitionSpec,
    mesh: AnyMesh | None,
    origin: str = "",
) -> None:
    """Raises ValueError naming ``path`` if ``spec`` cannot lay out ``shape`` on ``mesh``."""
    if len(spec) > len(shape):
        raise ValueError(
            f"{what}: parameter '{path}'{origin}: the spec {spec} has {len(spec)} entries but "
            f"the parameter has rank {len(shape)} (shape {shape}); expected at most "
            f"{len(shape)} entries."
        )
    if mesh is None:
        return
    sizes = dict(mesh.shape)
    for dim, entry in enumerate(spec):
        axes = _spec_axes(entry)
        for a in axes:
            if a not in sizes:
                raise ValueError(
                    f"{what}: parameter '{path}'{origin}: the spec {spec} names mesh axis "
                    f"'{a}', but the mesh has axes {tuple(sizes)}."
                )
        n = math.prod(sizes[a] for a in axes)
        if n > 1 and shape[dim] % n:
            raise ValueError(
                f"{what}: parameter '{path}'{origin}: dimension {dim} of shape {shape} has "
                f"size {shape[dim]}, not divisible by {n} (the size of mesh axes {axes} in "
                f"spec {spec}); expected a multiple of {n}."
            )


def _as_spec(what: str, where: str, spec: Any) -> PartitionSpec:
    if spec is None:
        return PartitionSpec()
    if isinstance(spec, PartitionSpec):
        return spec
    if isinstance(spec, (tuple, list)):
        return PartitionSpec(*spec)
    raise TypeError(f"{what}: {where}: expected a PartitionSpec (or None), got {spec!r}.")


# ----------------------------------------------------------------------------- regex rules


def specs_from_rules(
    tree: Any,
    rules: Sequence[tuple[str, PartitionSpec | None]],
    *,
    mesh: AnyMesh | None = None,
    strict: bool = True,
) -> Any:
    """Maps each parameter to a PartitionSpec by regex rules over its path.

    The path of a parameter is its keys joined by ``/``: ``"module_path/param_name"`` for
    a Haiku params dict (``{"mlp/~/linear_0": {"w": ...}}`` gives
    ``"mlp/~/linear_0/w"``). Rules are tried in order with ``re.search``; the first that
    matches gives the spec.

    Args:
      tree: params (arrays, ``jax.ShapeDtypeStruct`` values or NumPy arrays), e.g. the result
        of ``init``, of ``jax.eval_shape(init, ...)`` or a loaded dm-haiku checkpoint.
      rules: ordered ``(regex, PartitionSpec)`` pairs; ``None`` means ``PartitionSpec()``.
      mesh: when given (a ``Mesh`` or an ``AbstractMesh``), every named mesh axis must
        exist in it and divide its dimension.
      strict: when True, a parameter that no rule matches, and a rule that matches no
        parameter, are errors; when False, unmatched parameters get ``PartitionSpec()``.

    Returns:
      A tree of the structure of ``tree`` with a ``PartitionSpec`` per parameter.

    Raises:
      ValueError: naming the parameter path and rule, for an unmatched parameter or an
        unused rule (strict), a spec longer than the parameter's rank, a mesh axis the
        mesh lacks, or a dimension not divisible by its mesh axes' size.

    >>> import haiku_core as hk, numpy as np
    >>> from jax.sharding import PartitionSpec as P
    >>> params = {"linear": {"w": np.zeros((4, 8)), "b": np.zeros(8)}}
    >>> hk.sharding.specs_from_rules(params, [(r"/w$", P(None, "model")), (r"/b$", P())])
    {'linear': {'b': P(), 'w': P(None, 'model')}}
    """
    what = "haiku_core.sharding.specs_from_rules"
    compiled = []
    for i, rule in enumerate(rules):
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2):
            raise TypeError(
                f"{what}: rule #{i} must be a (regex, PartitionSpec) pair, got {rule!r}."
            )
        pattern, spec = rule
        compiled.append((re.compile(pattern), _as_spec(what, f"rule #{i} ({pattern!r})", spec)))
    used = [False] * len(compiled)
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    out = []
    for keys, leaf in flat:
        path = _path_str(keys)
        shape = _shape_of(leaf)
        for i, (regex, spec) in enumerate(compiled):
            if regex.search(path):
                used[i] = True
                _check_spec(what, path, shape, spec, mesh, f" (rule #{i} {regex.pattern!r})")
                out.append(spec)
                break
        else:
            if strict:
                raise ValueError(
                    f"{what}: parameter '{path}' (shape {shape}) matches none of the "
                    f"{len(compiled)} rules {[r.pattern for r, _ in compiled]}; expected a "
                    "match for every parameter (add a catch-all rule such as "
                    "('.*', PartitionSpec()) or pass strict=False)."
                )
            out.append(PartitionSpec())
    if strict:
        for i, (regex, spec) in enumerate(compiled):
            if not used[i]:
                raise ValueError(
                    f"{what}: rule #{i} ({regex.pattern!r} -> {spec}) matches no parameter "
                    "path, or every path it matches was taken by an earlier rule; expected "
                    "each rule to be used (remove it or pass strict=False)."
                )
    return jax.tree_util.tree_unflatten(treedef, out)


# ----------------------------------------------------------------------------- logical names


def _build_axes(
    tree: Any,
    records: Mapping[tuple[str, str], tuple[int, LogicalAxes]],
    overrides: Sequence[tuple[re.Pattern, LogicalAxes]],
    strict: bool,
    what: str,
) -> Any:
    out: dict = {}
    for module_path, bundle in tree.items():
        sub: dict = {}
        for name, leaf in bundle.items():
            path = f"{module_path}/{name}"
            shape = _shape_of(leaf)
            axes: LogicalAxes | None = None
            source = "annotation"
            hit = records.get((module_path, name))
            if hit is not None:
                axes = hit[1]
            for regex, ov in overrides:
                if regex.search(path):
                    axes, source = ov, f"override {regex.pattern!r}"
                    break
            if axes is None and not shape:
                axes = ()
            if axes is None and strict:
                raise ValueError(
                    f"{what}: parameter '{path}' (shape {shape}) has no logical axis names; "
                    "expected an hk.sharding.annotate call in its module, a built-in "
                    "default, or an `overrides` entry (or pass strict=False to replicate it)."
                )
            if axes is not None and len(axes) != len(shape):
                raise ValueError(
                    f"{what}: parameter '{path}': the {source} {axes} has {len(axes)} names "
                    f"but the parameter has rank {len(shape)} (shape {shape}); expected "
                    f"{len(shape)} names."
                )
            sub[name] = axes
        out[module_path] = sub
    return out


def _is_params_like(x: Any) -> bool:
    return isinstance(x, Mapping) and all(isinstance(v, Mapping) for v in x.values())


def logical_axes(
    init_fn: Callable[..., Any],
    *args: Any,
    strict: bool = False,
    overrides: Sequence[tuple[str, LogicalAxes]] = (),
    **kwargs: Any,
) -> Any:
    """Logical axis names of every parameter that ``init_fn`` creates, without FLOPs.

    ``init_fn`` runs under ``jax.eval_shape`` with a recorder that collects the names
    given by :func:`annotate` and by the built-in defaults (see ``docs/sharding.md``).
    Parameters stored by ``hk.layer_stack`` get a leading ``"layers"`` name.

    Args:
      init_fn: the ``init`` of a transformed function (or anything returning params, or
        ``(params, state)``).
      *args: arguments for ``init_fn`` (arrays may be ``jax.ShapeDtypeStruct``).
      strict: when True, a parameter (or state entry) of rank >= 1 without names is an
        error; when False it gets ``None`` (replicated). Scalars always get ``()``.
      overrides: ``(regex, axes)`` pairs matched with ``re.search`` against
        ``"module_path/param_name"``; the first match replaces whatever was recorded.
      **kwargs: keyword arguments for ``init_fn`` (``strict`` and ``overrides`` are
        taken by this function).

    Returns:
      ``{module_path: {param_name: axes_or_None}}`` (the structure of the params); for an
      ``init`` that returns ``(params, state)``, the pair ``(params_axes, state_axes)``.

    Raises:
      ValueError: naming the parameter, if recorded names disagree with its rank, or
        (``strict``) if a parameter has none.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Linear(4)(x))
    >>> hk.sharding.logical_axes(f.init, jax.random.PRNGKey(0), jnp.ones([2, 3]))
    {'linear': {'b': ('mlp',), 'w': ('embed', 'mlp')}}
    """
    what = "haiku_core.sharding.logical_axes"
    compiled = [(re.compile(p), _check_axes(what, a, f"override {p!r}: ")) for p, a in overrides]
    if _tls.recorder is not None:
        raise RuntimeError(f"{what}: cannot be nested inside another logical_axes call.")
    rec = _Recorder()
    g, dyn = _split_static(init_fn, args, kwargs)
    _tls.recorder = rec
    try:
        # A fresh cache key: an init_fn that is jitted and already traced is traced again,
        # so its annotate calls run.
        with _cache_key(("haiku_core.sharding.logical_axes", next(_record_counter))):
            shapes = jax.eval_shape(g, *dyn)
    finally:
        _tls.recorder = None
    records = rec.records
    if isinstance(shapes, tuple) and len(shapes) == 2 and all(map(_is_params_like, shapes)):
        return tuple(_build_axes(t, records, compiled, strict, what) for t in shapes)
    if not _is_params_like(shapes):
        raise TypeError(
            f"{what}: `init_fn` must return params {{module: {{name: array}}}} or "
            f"(params, state), got {type(shapes).__name__}."
        )
    return _build_axes(shapes, records, compiled, strict, what)


def _normalise_rules(
    what: str, rules: LogicalRules
) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    out = []
    for i, rule in enumerate(rules):
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2 and isinstance(rule[0], str)):
            raise TypeError(
                f"{what}: rule #{i} must be a (logical_name, mesh_axis | tuple of mesh axes | "
                f"None) pair, got {rule!r}."
            )
        name, target = rule
        if target is None:
            out.append((name, None))
        elif isinstance(target, str):
            out.append((name, (target,)))
        elif isinstance(target, (tuple, list)) and all(isinstance(t, str) for t in target):
            out.append((name, tuple(target)))
        else:
            raise TypeError(
                f"{what}: rule #{i} ({name!r}) must map to a mesh axis name, a tuple of mesh "
                f"axis names or None, got {target!r}."
            )
    return tuple(out)


def _resolve(
    what: str,
    path: str,
    axes: LogicalAxes | None,
    rules: tuple[tuple[str, tuple[str, ...] | None], ...],
    mesh: AnyMesh | None,
) -> PartitionSpec:
    """Logical names -> PartitionSpec (first rule per name; a reused mesh axis is dropped)."""
    if axes is None:
        return PartitionSpec()
    used: set[str] = set()
    entries: list[Any] = []
    for name in axes:
        target = None
        if name is not None:
            for rule_name, rule_target in rules:
                if rule_name == name:
                    target = rule_target
                    break
        if target is not None:
            if mesh is not None:
                for a in target:
                    if a not in mesh.shape:
                        raise ValueError(
                            f"{what}: '{path}': logical axis '{name}' maps to mesh axis "
                            f"'{a}', but the mesh has axes {tuple(mesh.shape)}."
                        )
            target = tuple(a for a in target if a not in used)
            used.update(target)
        if not target:
            entries.append(None)
        elif len(target) == 1:
            entries.append(target[0])
        else:
            entries.append(target)
    while entries and entries[-1] is None:
        entries.pop()
    return PartitionSpec(*entries)


def logical_to_specs(
    logical_tree: Any,
    rules: LogicalRules,
    *,
    mesh: AnyMesh | None = None,
    shapes: Any = None,
) -> Any:
    """Maps logical axis names to PartitionSpecs with Flax/MaxText-style rules.

    For each axis the first rule whose logical name matches gives the mesh axis (or
    tuple of mesh axes, or ``None`` = replicated); a name without a rule is replicated.
    A mesh axis may shard only one dimension of an array: where a later dimension would
    reuse a mesh axis already used by an earlier one, that mesh axis is dropped from the
    later dimension (as in Flax). Trailing replicated entries are left out of the spec.

    Args:
      logical_tree: the output of :func:`logical_axes` (tuples of names, or ``None``).
      rules: ``(logical_name, mesh_axis | tuple of mesh axes | None)`` pairs.
      mesh: when given, every mesh axis used must exist in it.
      shapes: optional params (or shapes) tree of the same structure; with ``mesh``,
        each sharded dimension must be divisible by its mesh axes' size.

    Returns:
      A tree of the same structure with a ``PartitionSpec`` per parameter.

    Raises:
      ValueError: naming the parameter path, for a mesh axis the mesh lacks or an
        indivisible dimension.

    >>> import haiku_core as hk
    >>> axes = {"linear": {"w": ("embed", "mlp"), "b": ("mlp",)}}
    >>> hk.sharding.logical_to_specs(axes, [("embed", None), ("mlp", "model")])
    {'linear': {'b': P('model',), 'w': P(None, 'model')}}
    """
    what = "haiku_core.sharding.logical_to_specs"
    norm = _normalise_rules(what, rules)
    flat, treedef = jax.tree_util.tree_flatten_with_path(logical_tree, is_leaf=_is_axes_leaf)
    shape_leaves = None
    if shapes is not None:
        shape_leaves = jax.tree_util.tree_leaves(shapes)
        if len(shape_leaves) != len(flat):
            raise ValueError(
                f"{what}: `shapes` has {len(shape_leaves)} leaves but the logical tree has "
                f"{len(flat)} parameters; expected the same structure."
            )
    out = []
    for i, (keys, axes) in enumerate(flat):
        path = _path_str(keys)
        spec = _resolve(what, path, axes, norm, mesh)
        if shape_leaves is not None:
            _check_spec(what, path, _shape_of(shape_leaves[i]), spec, mesh)
        out.append(spec)
    return jax.tree_util.tree_unflatten(treedef, out)


# ----------------------------------------------------------------------------- sharded init


def named_shardings(specs: Any, mesh: Mesh) -> Any:
    """``NamedSharding(mesh, spec)`` for every PartitionSpec of ``specs``.

    Args:
      specs: a tree of ``PartitionSpec`` (``None`` leaves mean ``PartitionSpec()``).
      mesh: the device mesh.

    Returns:
      The same tree with ``jax.sharding.NamedSharding`` leaves.

    >>> import haiku_core as hk, jax, numpy as np
    >>> from jax.sharding import Mesh, PartitionSpec as P
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("model",))
    >>> hk.sharding.named_shardings({"linear": {"w": P(None, "model")}}, mesh)["linear"]["w"].spec
    P(None, 'model')
    """
    return jax.tree_util.tree_map(
        lambda s: NamedSharding(mesh, s if s is not None else PartitionSpec()),
        specs,
        is_leaf=_is_spec_leaf,
    )


def _align_specs(what: str, shapes: Any, specs: Any, mesh: Mesh) -> Any:
    """Checks ``specs`` against ``shapes`` leaf by leaf; fills state specs if omitted."""
    if (
        isinstance(shapes, tuple)
        and len(shapes) == 2
        and _is_params_like(shapes[0])
        and isinstance(specs, Mapping)
    ):
        state_specs = jax.tree_util.tree_map(lambda _: PartitionSpec(), shapes[1])
        specs = (specs, state_specs)
    spec_flat, _spec_def = jax.tree_util.tree_flatten_with_path(specs, is_leaf=_is_spec_leaf)
    shape_flat, _shape_def = jax.tree_util.tree_flatten_with_path(shapes)
    spec_paths = [_path_str(k) for k, _ in spec_flat]
    shape_paths = [_path_str(k) for k, _ in shape_flat]
    if spec_paths != shape_paths:
        missing = sorted(set(shape_paths) - set(spec_paths))
        extra = sorted(set(spec_paths) - set(shape_paths))
        raise ValueError(
            f"{what}: `specs` does not have the structure of what init_fn returns: "
            f"parameters without a spec {missing[:5]}, specs without a parameter {extra[:5]}."
        )
    for (keys, spec), (_, leaf) in zip(spec_flat, shape_flat, strict=True):
        path = _path_str(keys)
        _check_spec(what, path, _shape_of(leaf), _as_spec(what, f"'{path}'", spec), mesh)
    return specs


def sharded_init(
    init_fn: Callable[..., Any], mesh: Mesh, specs: Any, *args: Any, **kwargs: Any
) -> Any:
    """Runs ``init_fn`` so that each parameter is created directly in its sharded layout.

    Shapes come from ``jax.eval_shape`` (no FLOPs); then ``jax.jit(init_fn,
    out_shardings=...)`` materialises every array on its devices only, so no device ever
    holds a full copy of a sharded parameter.

    Args:
      init_fn: ``init`` of a transformed function; returns params or ``(params, state)``.
      mesh: the device mesh.
      specs: a PartitionSpec tree with the structure of ``init_fn``'s output, or a
        callable taking the shape tree and returning it. For ``(params, state)`` a
        params-only tree is accepted: the state is then replicated.
      *args: arguments for ``init_fn`` (e.g. rng key and example inputs).
      **kwargs: keyword arguments for ``init_fn``.

    Returns:
      What ``init_fn`` returns, as ``jax.Array`` values sharded per ``specs``.

    Raises:
      ValueError: naming the parameter path, if ``specs`` does not match the output's
        structure, a spec is longer than its parameter's rank, names a mesh axis the
        mesh lacks, or a dimension is not divisible.

    >>> import haiku_core as hk, jax, jax.numpy as jnp, numpy as np
    >>> from jax.sharding import Mesh, PartitionSpec as P
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("model",))
    >>> f = hk.transform(lambda x: hk.Linear(4)(x))
    >>> specs = {"linear": {"w": P(None, "model"), "b": P("model")}}
    >>> params = hk.sharding.sharded_init(f.init, mesh, specs, jax.random.PRNGKey(0), jnp.ones([2, 3]))
    >>> params["linear"]["w"].sharding.spec
    P(None, 'model')
    """
    what = "haiku_core.sharding.sharded_init"
    g, dyn = _split_static(init_fn, args, kwargs)
    shapes = jax.eval_shape(g, *dyn)
    if callable(specs):
        specs = specs(shapes)
    specs = _align_specs(what, shapes, specs, mesh)
    return jax.jit(g, out_shardings=named_shardings(specs, mesh))(*dyn)


def optimizer_state_specs(opt_state_shapes: Any, param_specs: Any) -> Any:
    """PartitionSpecs for an optimizer state whose parts mirror the params tree.

    Every subtree of ``opt_state_shapes`` with the structure of the params (optax's
    ``mu``, ``nu``, momentum traces, ...) gets ``param_specs``; every other leaf (step
    counts, scalars, factored statistics) is replicated. A mirrored leaf whose rank is
    smaller than its spec is replicated too.

    Args:
      opt_state_shapes: the optimizer state, or ``jax.eval_shape(optimizer.init, params)``.
      param_specs: the params' PartitionSpec tree.

    Returns:
      A PartitionSpec tree with the structure of ``opt_state_shapes``.

    >>> import haiku_core as hk, jax, optax, numpy as np
    >>> from jax.sharding import PartitionSpec as P
    >>> params = {"linear": {"w": np.zeros((4, 8), np.float32)}}
    >>> shapes = jax.eval_shape(optax.adam(1e-3).init, params)
    >>> specs = hk.sharding.optimizer_state_specs(shapes, {"linear": {"w": P(None, "model")}})
    >>> specs[0].mu["linear"]["w"], specs[0].count
    (P(None, 'model'), P())
    """
    spec_leaves, spec_def = jax.tree_util.tree_flatten(param_specs, is_leaf=_is_spec_leaf)

    def mirrors(x: Any) -> bool:
        if _is_array_like(x) or x is None:
            return False
        try:
            return jax.tree_util.tree_structure(x) == spec_def
        except Exception:
            return False

    def assign(x: Any) -> Any:
        if mirrors(x):
            leaves = jax.tree_util.tree_leaves(x)
            out = [
                (s if s is not None else PartitionSpec())
                if len(_shape_of(v)) >= len(s or ())
                else PartitionSpec()
                for v, s in zip(leaves, spec_leaves, strict=True)
            ]
            return jax.tree_util.tree_unflatten(spec_def, out)
        return PartitionSpec()

    return jax.tree_util.tree_map(assign, opt_state_shapes, is_leaf=mirrors)


# ----------------------------------------------------------------------------- activations


@contextlib.contextmanager
def use_rules(rules: LogicalRules, mesh: Mesh | None = None) -> Iterator[None]:
    """Makes :func:`constrain` map logical names to ``mesh`` with ``rules`` in this block.

    The context is thread-local and nestable (the innermost block is used, whole; rules
    are not merged). It acts while functions are *traced* inside the block: trace (and
    first call) the jitted step inside it. Without ``mesh`` the constraint is a bare
    PartitionSpec, resolved against the mesh set with ``jax.set_mesh``.

    Args:
      rules: ``(logical_name, mesh_axis | tuple of mesh axes | None)`` pairs.
      mesh: the device mesh, or None.

    Yields:
      None.

    Raises:
      TypeError: for a malformed rule.
      ValueError: for a rule naming a mesh axis the mesh lacks.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> with hk.sharding.use_rules([("batch", "data")]):
    ...     pass
    """
    what = "haiku_core.sharding.use_rules"
    norm = _normalise_rules(what, rules)
    if mesh is not None:
        for name, target in norm:
            for a in target or ():
                if a not in mesh.shape:
                    raise ValueError(
                        f"{what}: rule ({name!r} -> {a!r}) names mesh axis '{a}', but the "
                        f"mesh has axes {tuple(mesh.shape)}."
                    )
    _tls.rules.append((norm, mesh))
    try:
        with _cache_key(("haiku_core.sharding.use_rules", norm, mesh)):
            yield
    finally:
        _tls.rules.pop()


def constrain(x: jax.Array, logical_axes: LogicalAxes) -> jax.Array:
    """Constrains the sharding of an activation by logical axis names.

    Inside :func:`use_rules` this is ``jax.lax.with_sharding_constraint`` with the spec
    the rules give; outside it returns ``x`` unchanged, so the same model code runs on
    one device.

    Args:
      x: an array of rank ``len(logical_axes)``.
      logical_axes: one logical name (or None) per axis of ``x``.

    Returns:
      ``x`` (with a sharding constraint inside a rules context).

    Raises:
      ValueError: if ``logical_axes`` does not have one entry per axis of ``x``.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.sharding.constrain(jnp.ones([2, 3]), ("batch", "embed")).shape
    (2, 3)
    """
    if not _tls.rules:
        ndim = np.ndim(x)
        if len(logical_axes) != ndim:
            raise ValueError(
                f"haiku_core.sharding.constrain: `logical_axes` {tuple(logical_axes)} has "
                f"{len(logical_axes)} names but `x` has rank {ndim} (shape {np.shape(x)})."
            )
        return x
    what = "haiku_core.sharding.constrain"
    axes = _check_axes(what, logical_axes)
    ndim = np.ndim(x)
    if len(axes) != ndim:
        raise ValueError(
            f"{what}: `logical_axes` {axes} has {len(axes)} names but `x` has rank {ndim} "
            f"(shape {np.shape(x)})."
        )
    rules, mesh = _tls.rules[-1]
    spec = _resolve(what, "activation", axes, rules, mesh)
    sharding = NamedSharding(mesh, spec) if mesh is not None else spec
    return jax.lax.with_sharding_constraint(x, sharding)


# ----------------------------------------------------------------------------- summary


def _fmt_spec(spec: PartitionSpec) -> str:
    """``P(None, 'model')``, ``P(('data', 'model'))``: a spec as one short cell."""

    def entry(e: Any) -> str:
        if isinstance(e, tuple):
            return "(" + ", ".join(repr(a) for a in e) + ")"
        return repr(e) if isinstance(e, str) else str(e)

    return "P(" + ", ".join(entry(e) for e in spec) + ")"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def summary(params: Any, specs: Any = None, *, mesh: AnyMesh | None = None) -> str:
    """A table of parameters with their shape, dtype, spec and bytes per device.

    The spec and per-device bytes come from the arrays themselves when they are sharded
    ``jax.Array`` values (``.sharding`` and ``addressable_shards``); otherwise from ``specs``,
    with per-device bytes computed from ``mesh`` (without a mesh, only unsharded
    parameters have a known per-device size).

    Args:
      params: params tree (arrays or ``jax.ShapeDtypeStruct`` values).
      specs: optional PartitionSpec tree of the same structure.
      mesh: optional mesh used to compute per-device bytes from ``specs``.

    Returns:
      A multi-line string: one row per parameter, then a total row (total bytes, and the
      most bytes any one device holds).

    >>> import haiku_core as hk, numpy as np
    >>> print(hk.sharding.summary({"linear": {"w": np.zeros((4, 8), np.float32)}}))
    path              shape   dtype    spec  bytes  max bytes/device
    linear/w          (4, 8)  float32  P()   128 B  128 B
    total (1 params)                         128 B  128 B
    """
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    spec_leaves: list[Any] = [None] * len(flat)
    if specs is not None:
        spec_leaves = jax.tree_util.tree_leaves(specs, is_leaf=_is_spec_leaf)
        if len(spec_leaves) != len(flat):
            raise ValueError(
                f"haiku_core.sharding.summary: `specs` has {len(spec_leaves)} leaves but `params` "
                f"has {len(flat)}; expected the same structure."
            )
    rows = []
    per_device: dict[Any, int] = {}
    computed_max = 0
    known = True
    total = 0
    for (keys, leaf), spec in zip(flat, spec_leaves, strict=True):
        shape = _shape_of(leaf)
        dtype = np.dtype(leaf.dtype) if hasattr(leaf, "dtype") else np.asarray(leaf).dtype
        nbytes = math.prod(shape) * dtype.itemsize
        total += nbytes
        sharding = getattr(leaf, "sharding", None)
        shards = None
        if isinstance(leaf, jax.Array):
            try:
                shards = leaf.addressable_shards
            except Exception:  # a tracer has no shards
                shards = None
        if isinstance(sharding, NamedSharding):
            spec = sharding.spec
        if shards:
            local: dict[Any, int] = {}
            for s in shards:
                local[s.device] = local.get(s.device, 0) + s.data.nbytes
            for d, b in local.items():
                per_device[d] = per_device.get(d, 0) + b
            dev_bytes: int | None = max(local.values())
        else:
            pspec = _as_spec("haiku_core.sharding.summary", "spec", spec)
            if mesh is not None:
                sizes = dict(mesh.shape)
                div = 1
                for dim, entry in enumerate(pspec):
                    n = math.prod(sizes[a] for a in _spec_axes(entry))
                    div *= n if shape[dim] % n == 0 else 1
                dev_bytes = nbytes // div
            elif not any(_spec_axes(e) for e in pspec):
                dev_bytes = nbytes
            else:
                dev_bytes = None
                known = False
            computed_max += dev_bytes or 0
        spec_txt = _fmt_spec(_as_spec("haiku_core.sharding.summary", "spec", spec))
        rows.append(
            (
                _path_str(keys),
                str(shape),
                str(dtype),
                spec_txt,
                _human(nbytes),
                "?" if dev_bytes is None else _human(dev_bytes),
            )
        )
    max_dev = max(per_device.values(), default=0) + computed_max
    rows.append(
        (
            f"total ({len(flat)} params)",
            "",
            "",
            "",
            _human(total),
            _human(max_dev) if known else "?",
        )
    )
    header = ("path", "shape", "dtype", "spec", "bytes", "max bytes/device")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines)


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core.sharding")
