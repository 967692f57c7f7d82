"""Model summaries: ``eval_summary``, ``tabulate``, ``params_summary``, ``to_dot``."""

from __future__ import annotations

import dataclasses
import functools
import html
import pprint
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src import transform as hk_transform

__all__ = [
    "ArraySpec",
    "MethodInvocation",
    "ModuleDetails",
    "ParamSummary",
    "abstract_to_dot",
    "eval_summary",
    "params_summary",
    "tabulate",
    "to_dot",
]

_DTYPE_SHORT = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "bfloat16": "bf16",
    "int32": "s32",
    "int64": "s64",
    "int8": "s8",
    "int16": "s16",
    "uint8": "u8",
    "uint32": "u32",
    "bool": "bool",
    "complex64": "c64",
}


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """Shape and dtype of an array.

    Attributes:
      shape: the shape.
      dtype: the dtype.
    """

    shape: Sequence[int]
    dtype: np.dtype

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @classmethod
    def from_array(cls, array: Any) -> ArraySpec:
        """Builds the spec of an array (or tracer / ShapeDtypeStruct)."""
        return cls(tuple(array.shape), np.dtype(array.dtype))

    def __str__(self) -> str:
        short = _DTYPE_SHORT.get(self.dtype.name, self.dtype.name)
        return f"{short}[{','.join(str(d) for d in self.shape)}]"

    __repr__ = __str__


def _spec_tree(tree: Any) -> Any:
    return jax.tree.map(
        lambda x: ArraySpec.from_array(x) if hasattr(x, "shape") and hasattr(x, "dtype") else x,
        tree,
    )


@dataclasses.dataclass(frozen=True)
class ModuleDetails:
    """A module instance, one of its methods and its params/state specs.

    Attributes:
      module: the module.
      method_name: the method called.
      params: ``{"path/name": ArraySpec}`` of the module and its submodules.
      state: same for state.
    """

    module: Any
    method_name: str
    params: Mapping[str, ArraySpec]
    state: Mapping[str, ArraySpec]

    @classmethod
    def of(cls, module: Any, method_name: str) -> ModuleDetails:
        """Snapshot of ``module``'s params/state (inside a transform)."""
        params = {k: ArraySpec.from_array(v) for k, v in module.params_dict().items()}
        frame = base.frame_or_raise("haiku_core.experimental.ModuleDetails.of")
        state = (
            {k: ArraySpec.from_array(v) for k, v in module.state_dict().items()}
            if frame.state is not None
            else {}
        )
        return cls(module, method_name, params, state)


def _collect(store: Any, name: str, used: set[str]) -> dict[str, ArraySpec]:
    """``{"path/name": spec}`` of module ``name``, modules under its name and ``used``."""
    out: dict[str, ArraySpec] = {}
    if not store:
        return out
    prefix = name + "/"
    for mod, bundle in store.items():
        if mod == name or mod.startswith(prefix) or mod in used:
            for k, v in bundle.items():
                out[f"{mod}/{k}"] = ArraySpec.from_array(v)
    return out


def _details_of(module: Any, method_name: str, used: set[str]) -> ModuleDetails:
    """ModuleDetails whose params/state also cover modules the module called."""
    frame = base.frame_or_raise("haiku_core.experimental.ModuleDetails.of")
    name = module.module_name
    params = _collect(frame.params, name, used)
    state = _collect(frame.state, name, used) if frame.state is not None else {}
    return ModuleDetails(module, method_name, params, state)


@dataclasses.dataclass(frozen=True)
class MethodInvocation:
    """One module method call seen by :func:`eval_summary`.

    Attributes:
      module_details: the module, method and params/state after the call.
      args_spec: ArraySpec pytree of the positional arguments.
      kwargs_spec: ArraySpec pytree of the keyword arguments.
      output_spec: ArraySpec pytree of the output.
      context: the MethodContext of the call.
      call_stack: ModuleDetails of this call and the enclosing calls, innermost
        (this one) first.
    """

    module_details: ModuleDetails
    args_spec: tuple[Any, ...]
    kwargs_spec: dict[str, Any]
    output_spec: Any
    context: hk_module.MethodContext
    call_stack: Sequence[ModuleDetails]


def _underlying(f: Any, unwrap_apply: bool = True) -> Callable[..., Any]:
    """The function using modules behind ``f``.

    ``f`` may be that function, a Transformed/TransformedWithState, or the ``init`` /
    ``apply`` of one (possibly wrapped, e.g. by ``jax.jit``): those are traced
    through the original function.
    """
    if isinstance(f, (hk_transform.Transformed, hk_transform.TransformedWithState)):
        orig = getattr(f.init, "_hk_original", None)
        if orig is None:
            raise TypeError(
                "haiku_core.experimental.eval_summary: cannot find the function behind this "
                "Transformed; "
                "pass the untransformed function instead."
            )
        return orig
    if not callable(f):
        raise TypeError(
            f"haiku_core.experimental.eval_summary: `f` must be a function, got {type(f).__name__}."
        )
    # An ``init``/``apply`` (maybe jitted): summarise the function behind it (called with
    # the same arguments, as dm-haiku does). With ``unwrap_apply=False`` an ``apply`` is
    # run as given, inside the summary's transform (its arguments are apply's).
    g, seen = f, 0
    while g is not None and seen < 32:
        orig = getattr(g, "_hk_original", None)
        if orig is not None:
            return orig if unwrap_apply or getattr(g, "__name__", "").endswith("init") else f
        g, seen = getattr(g, "__wrapped__", None), seen + 1
    return f


def eval_summary(
    f: Callable[..., Any] | hk_transform.Transformed | hk_transform.TransformedWithState,
) -> Callable[..., Sequence[MethodInvocation]]:
    """Wraps ``f`` so calling it returns the module method calls it makes.

    ``f`` is run abstractly (``jax.eval_shape``) under ``init``; nothing is computed.

    Args:
      f: a function using modules, or a Transformed/TransformedWithState of one.

    Returns:
      A function taking ``f``'s arguments (arrays or ``jax.ShapeDtypeStruct``)
      and returning a list of :class:`MethodInvocation`, in call order.
    """
    return _summary_of(_underlying(f))


def _summary_of(fn: Callable[..., Any]) -> Callable[..., Sequence[MethodInvocation]]:
    """:func:`eval_summary` of the function ``fn`` itself (no unwrapping)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> list[MethodInvocation]:
        records: list[Any] = []
        stack: list[Any] = []
        # Names of the modules called (directly or not) inside each module's methods.
        used: dict[int, set[str]] = {}

        def details(module: Any, method_name: str) -> ModuleDetails:
            return _details_of(module, method_name, used.get(id(module), set()))

        def interceptor(next_f, a, k, ctx):
            if ctx.method_name in ("__init__", "params_dict", "state_dict"):
                return next_f(*a, **k)
            name = ctx.module.module_name
            for outer in stack:
                used.setdefault(id(outer.module), set()).add(name)
            slot = len(records)
            records.append(None)
            stack.append(ctx)
            try:
                out = next_f(*a, **k)
                call_stack = tuple(details(c.module, c.method_name) for c in reversed(stack))
            finally:
                stack.pop()
            records[slot] = MethodInvocation(
                module_details=call_stack[0],
                args_spec=_spec_tree(a),
                kwargs_spec=_spec_tree(k),
                output_spec=_spec_tree(out),
                context=ctx,
                call_stack=call_stack,
            )
            return out

        def run(*a, **k):
            with hk_module.intercept_methods(interceptor):
                return fn(*a, **k)

        t = hk_transform.transform_with_state(run)
        # With jit disabled, functions jitted (and cached) before are traced again, so
        # their module calls are seen.
        with jax.disable_jit():
            jax.eval_shape(lambda a, k: t.init(jax.random.PRNGKey(0), *a, **k), args, kwargs)
        return [r for r in records if r is not None]

    return wrapper


def _fmt(tree: Any) -> str:
    leaves = jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, ArraySpec))
    parts = [str(x) for x in leaves]
    return ", ".join(parts) if parts else ""


def _grid(header: list[str], rows: list[list[str]], right: Sequence[bool]) -> str:
    """A ``+---+`` bordered text table; ``right[i]`` right-aligns column ``i``."""
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in header]
    # Each column is at least two characters wider than its header.
    widths = [
        max([len(h) + 2] + [len(line) for cell in col for line in str(cell).split("\n")])
        for h, col in zip(header, cols, strict=True)
    ]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    hsep = "+" + "+".join("=" * (w + 2) for w in widths) + "+"

    def render(row, align_right):
        cells = [str(c).split("\n") for c in row]
        height = max(len(c) for c in cells)
        lines = []
        for i in range(height):
            parts = []
            for c, w, r in zip(cells, widths, align_right, strict=True):
                text = c[i] if i < len(c) else ""
                parts.append(text.rjust(w) if r else text.ljust(w))
            lines.append("| " + " | ".join(parts) + " |")
        return lines

    out = [sep, *render(header, right), hsep]
    for r in rows:
        out += render(r, right)
        out.append(sep)
    return "\n".join(out)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    """The table as HTML (``tablefmt="html"``)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>\n<thead>\n<tr>{head}</tr>\n</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _render_table(
    rows: Sequence[Sequence[str]],
    *,
    headers: Sequence[str],
    colalign: Sequence[str] | None = None,
    tablefmt: str = "grid",
    **unused: Any,
) -> str:
    """Renders ``rows`` under ``headers``: ``tablefmt`` "grid" (text) or "html".

    Args:
      rows: the cell texts, one list per row.
      headers: the column titles.
      colalign: "left"/"right" per column (grid only).
      tablefmt: "grid" or "html" (any other value renders a grid).
      **unused: other table options, ignored.

    Returns:
      The table.
    """
    del unused
    if tablefmt == "html":
        return _html_table(list(headers), [list(r) for r in rows])
    right = [a == "right" for a in (colalign or ["left"] * len(headers))]
    return _grid(list(headers), [list(r) for r in rows], right)


# The table renderer used by :func:`tabulate` (replaceable, e.g. in tests, through
# ``tabulate_lib.tabulate``).
tabulate_lib = types.SimpleNamespace(tabulate=_render_table)


_HEADERS = {
    "module": "Module",
    "config": "Config",
    "owned_params": "Module params",
    "input": "Input",
    "output": "Output",
    "params_size": "Param count",
    "params_bytes": "Param bytes",
}
_RIGHT = frozenset({"params_size", "params_bytes"})


def _call_stack_text(inv: Any) -> str:
    def entry(d: ModuleDetails) -> str:
        cls_name = type(d.module).__name__
        if d.method_name == "__call__":
            return f"{d.module.module_name} ({cls_name})"
        return f"{d.module.module_name} ({cls_name}.{d.method_name})"

    return "\n └ ".join(entry(d) for d in inv.call_stack)


def _input_text(inv: Any) -> str:
    text = ", ".join(pprint.pformat(a) for a in inv.args_spec)
    if inv.kwargs_spec:
        text += "\n" + ", ".join(f"{k}={pprint.pformat(v)}" for k, v in inv.kwargs_spec.items())
    return text


_COLUMNS = ("module", "config", "owned_params", "input", "output", "params_size", "params_bytes")


def _module_config(module: Any) -> str:
    items = []
    for k, v in vars(module).items():
        if k.startswith("_") or isinstance(v, hk_module.Module) or callable(v):
            continue
        if isinstance(v, (int, float, str, bool, tuple, type(None))):
            items.append(f"{k}={v!r}")
    return f"{type(module).__name__}({', '.join(items)})"


def tabulate(
    f: Callable[..., Any] | hk_transform.Transformed | hk_transform.TransformedWithState,
    *,
    columns: Sequence[str] | None = _COLUMNS,
    filters: Sequence[str] | None = ("has_output",),
    tabulate_kwargs: Mapping[str, Any] = {"tablefmt": "grid"},
) -> Callable[..., str]:
    """Wraps ``f`` so calling it returns a text table of its module calls.

    Columns: ``module`` (path and method), ``config`` (constructor settings),
    ``owned_params`` (params created directly by the module), ``input``, ``output``,
    ``params_size`` (elements incl. submodules), ``params_bytes``.

    Args:
      f: a function using modules, or a Transformed of one.
      columns: which columns to show (default: all).
      filters: ``"has_output"`` (skip calls returning nothing), ``"has_params"``.
      tabulate_kwargs: ``{"tablefmt": "grid"}`` (default, a bordered text table) or
        ``{"tablefmt": "html"}``; other keys are ignored.

    Returns:
      A function taking ``f``'s arguments and returning the table as a string.

    Raises:
      ValueError: for an unknown column or filter.
    """
    tabulate_kwargs = dict(tabulate_kwargs or {})
    columns = tuple(columns or _COLUMNS)
    for c in columns:
        if c not in _COLUMNS:
            raise ValueError(
                f"haiku_core.experimental.tabulate: unknown column {c!r}; use {_COLUMNS}."
            )
    filters = ("has_output",) if filters is None else tuple(filters)
    for flt in filters:
        if flt not in ("has_output", "has_params"):
            raise ValueError(
                f"haiku_core.experimental.tabulate: unknown filter {flt!r}; use 'has_output' or "
                "'has_params'."
            )
    summarise = eval_summary(f)

    def wrapper(*args, **kwargs) -> str:
        rows = []
        for inv in summarise(*args, **kwargs):
            d = inv.module_details
            if "has_output" in filters and inv.output_spec is None:
                continue
            if "has_params" in filters and not d.params:
                continue
            name = d.module.module_name
            owned = [
                (k.rsplit("/", 1)[1], v) for k, v in d.params.items() if k.rsplit("/", 1)[0] == name
            ]
            owned.sort(key=lambda kv: (-kv[1].size, kv[0]))
            size = sum(v.size for v in d.params.values())
            nbytes = sum(v.size * v.dtype.itemsize for v in d.params.values())
            cells = {
                "module": _call_stack_text(inv),
                "config": repr(d.module),
                "owned_params": "\n".join(f"{k}: {v}" for k, v in owned),
                "input": _input_text(inv),
                "output": pprint.pformat(inv.output_spec),
                "params_size": f"{size:,}",
                "params_bytes": _human_bytes(nbytes),
            }
            rows.append([cells[c] for c in columns])
        if not rows:
            return "No modules matching filters."
        header = [_HEADERS[c] for c in columns]
        align = ["right" if c in _RIGHT else "left" for c in columns]
        return tabulate_lib.tabulate(rows, headers=header, colalign=align, **tabulate_kwargs)

    return wrapper


def _human_bytes(n: int) -> str:
    """``92 -> '92.00 B'``, ``504000 -> '504.00 KB'`` (decimal units up to TB)."""
    value = float(n)
    unit = "B"
    for bigger in ("KB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value /= 1000
        unit = bigger
    return f"{value:.2f} {unit}"


class ParamSummary(NamedTuple):
    """One row of :func:`params_summary`.

    Attributes:
      module: module path.
      name: parameter name.
      shape: parameter shape.
      dtype: parameter dtype.
      size: number of elements.
      bytes: storage in bytes.
    """

    module: str
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    size: int
    bytes: int


def params_summary(params: Mapping[str, Mapping[str, Any]]) -> list[ParamSummary]:
    """Flat per-parameter summary of a params (or state) tree, in tree order.

    Args:
      params: ``{module_path: {name: array}}`` (arrays or ShapeDtypeStructs).

    Returns:
      A list of :class:`ParamSummary` rows (module, name, shape, dtype, size, bytes).

    Example:
      >>> rows = params_summary({"linear": {"w": np.zeros([3, 2], np.float32)}})
      >>> rows[0].size, rows[0].bytes
      (6, 24)
    """
    rows = []
    for m, bundle in params.items():
        for n, v in bundle.items():
            spec = ArraySpec.from_array(v)
            rows.append(
                ParamSummary(
                    m, n, tuple(spec.shape), spec.dtype, spec.size, spec.size * spec.dtype.itemsize
                )
            )
    return rows


def to_dot(fun: Callable[..., Any]) -> Callable[..., str]:
    """Wraps ``fun`` so calling it returns a Graphviz ``dot`` graph of its computation.

    Modules become clusters labelled with their path; every JAX primitive is a node.

    Args:
      fun: a function using modules (it is transformed and traced under ``init``),
        or a pure JAX function.

    Returns:
      A function taking ``fun``'s arguments and returning the dot source.
    """

    @functools.wraps(fun)
    def wrapper(*args, **kwargs) -> str:
        calls = _summary_of(_underlying(fun, unwrap_apply=False))(*args, **kwargs)
        t = hk_transform.transform(fun)

        def run(a, k):
            return t.apply(t.init(jax.random.PRNGKey(0), *a, **k), jax.random.PRNGKey(0), *a, **k)

        jaxpr = jax.make_jaxpr(run)(args, kwargs)
        lines = [f"digraph {_dot_id(getattr(fun, '__name__', 'fun'))} {{", "  rankdir=TB;"]
        for i, inv in enumerate(calls):
            name = inv.module_details.module.module_name
            lines.append(
                f'  subgraph cluster_{i} {{ label="{html.escape(name)} '
                f'({inv.module_details.method_name})"; m{i} [shape=box,label="'
                f'{html.escape(_fmt(inv.output_spec))}"]; }}'
            )
        for i, inv in enumerate(calls):
            if len(inv.call_stack) >= 2:
                parent = inv.call_stack[-2].module
                for j, other in enumerate(calls):
                    if other.module_details.module is parent:
                        lines.append(f"  m{j} -> m{i} [style=dashed];")
                        break
        names: dict[Any, str] = {}
        for k, eqn in enumerate(jaxpr.jaxpr.eqns):
            node = f"op{k}"
            lines.append(f'  {node} [label="{eqn.primitive.name}"];')
            for v in eqn.invars:
                src = names.get(id(v))
                if src is not None:
                    lines.append(f"  {src} -> {node};")
            for v in eqn.outvars:
                names[id(v)] = node
        lines.append("}")
        return "\n".join(lines)

    return wrapper


def abstract_to_dot(fun: Callable[..., Any]) -> Callable[..., str]:
    """Like :func:`to_dot`, for abstract inputs (``jax.ShapeDtypeStruct`` allowed).

    Args:
      fun: a function using modules.

    Returns:
      A function taking ``fun``'s (abstract) arguments and returning dot source.
    """
    return to_dot(fun)


def _dot_id(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "fun"


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), [n for n in __all__ if n != "to_dot"], "haiku_core.experimental")
set_public_module(globals(), ["to_dot"], "haiku_core")
