"""Jaxpr-based model information: flops, params and state per module, as text or HTML."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from haiku_core._src import module as hk_module

__all__ = [
    "Expression",
    "Module",
    "as_html",
    "as_html_page",
    "css",
    "format_module",
    "js",
    "make_model_info",
]


@dataclasses.dataclass
class Module:
    """A module in the info tree.

    Attributes:
      name: module path (or the function name for the root).
      flops: estimated floating point operations (None if unknown).
      expressions: the jaxpr equations run directly by this module, plus one
        ``module`` expression per submodule.
      total_param_size: number of parameter elements owned (incl. submodules).
      param_info: ``{"path/name": "f32[3,2]"}``.
      total_state_size: number of state elements owned.
      state_info: like ``param_info`` for state.
    """

    name: str
    flops: int | None = None
    expressions: list[Expression] = dataclasses.field(default_factory=list)
    total_param_size: int = 0
    param_info: dict[str, str] = dataclasses.field(default_factory=dict)
    total_state_size: int = 0
    state_info: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Expression:
    """One jaxpr equation.

    Attributes:
      primitive: primitive name (``"module"`` for a submodule entry).
      invars: input variables with their types, as text.
      outvars: output variables, as text.
      flops: estimated flops (None if unknown).
      details: extra description.
      params: the equation's parameters, as text.
      submodule: the submodule for ``module`` entries.
      first_outvar: name of the first output variable.
      name_stack: module scopes the equation was traced in.
    """

    primitive: str
    invars: str
    outvars: str
    flops: int | None = None
    details: str = ""
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    submodule: Module | None = None
    first_outvar: str = ""
    name_stack: Sequence[str] = dataclasses.field(default_factory=list)


_ELEMENTWISE_FREE = {
    "reshape",
    "broadcast_in_dim",
    "squeeze",
    "transpose",
    "convert_element_type",
    "slice",
    "concatenate",
    "pad",
    "copy",
    "select_n",
    "iota",
    "gather",
    "dynamic_slice",
    "dynamic_update_slice",
    "expand_dims",
    "stop_gradient",
}


def _size(aval: Any) -> int:
    shape = getattr(aval, "shape", ())
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _sub_jaxprs(eqn: Any) -> list[Any]:
    out = []
    for v in eqn.params.values():
        for item in v if isinstance(v, (tuple, list)) else (v,):
            inner = getattr(item, "jaxpr", None)
            if inner is not None and hasattr(inner, "eqns"):
                out.append(inner)
            elif hasattr(item, "eqns"):
                out.append(item)
    return out


def _default_flops(eqn: Any) -> int | None:
    name = eqn.primitive.name
    outs = [v.aval for v in eqn.outvars]
    if name == "dot_general":
        (lc, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval
        contract = int(np.prod([lhs.shape[d] for d in lc], dtype=np.int64)) if lc else 1
        return 2 * _size(outs[0]) * contract
    if name == "conv_general_dilated":
        rhs = eqn.invars[1].aval
        out_features = rhs.shape[eqn.params["dimension_numbers"].rhs_spec[0]]
        return 2 * _size(outs[0]) * (_size(rhs) // max(out_features, 1))
    subs = _sub_jaxprs(eqn)
    if subs:
        totals = [_jaxpr_flops(j) for j in subs]
        if any(t is None for t in totals):
            return None
        if name == "scan":
            return int(eqn.params.get("length", 1)) * sum(totals)  # type: ignore[arg-type]
        if name == "cond":
            return max(totals)  # type: ignore[type-var]
        if name == "while":
            return None
        return sum(totals)  # type: ignore[arg-type]
    if name in _ELEMENTWISE_FREE:
        return 0
    return sum(_size(o) for o in outs)


def _jaxpr_flops(jaxpr: Any) -> int | None:
    total = 0
    for eqn in jaxpr.eqns:
        f = _default_flops(eqn)
        if f is None:
            return None
        total += f
    return total


class _Names:
    """Short, stable names (a, b, ..., z, ba, ...) for jaxpr variables."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def __call__(self, v: Any) -> str:
        if not hasattr(v, "aval") or type(v).__name__ == "Literal":
            return str(getattr(v, "val", v))
        key = id(v)
        if key not in self.names:
            n, out = len(self.names), ""
            while True:
                out = chr(ord("a") + n % 26) + out
                n //= 26
                if n == 0:
                    break
            self.names[key] = out
        aval = v.aval
        short = aval.str_short() if hasattr(aval, "str_short") else str(aval)
        return f"{self.names[key]}:{short}"


def _var(v: Any) -> str:
    return _NAMES(v)


_NAMES = _Names()


def _fmt_spec(x: Any) -> str:
    return f"{np.dtype(x.dtype).name}[{','.join(str(d) for d in x.shape)}]"


def make_model_info(
    f: Callable[..., Any],
    name: str | None = None,
    include_module_info: bool = True,
    compute_flops: Callable[[Any, Expression], int] | None = None,
    axis_env: Sequence[tuple[Any, int]] | None = None,
) -> Callable[..., Module]:
    """Wraps ``f`` so calling it traces it and returns a :class:`Module` info tree.

    Args:
      f: a JAX function, typically a transformed ``apply`` (modules it runs are
        grouped when ``include_module_info``).
      name: root name (default: ``f.__name__``).
      include_module_info: group equations by the Haiku module that ran them.
      compute_flops: optional ``compute_flops(eqn, expression) -> int`` overriding the
        built-in estimate (2*M*N*K for dot products, output size for elementwise ops).
      axis_env: ``(axis_name, size)`` pairs for collectives, as in ``jax.make_jaxpr``.

    Returns:
      A function with ``f``'s arguments returning the root :class:`Module`.
    """
    root_name = name or getattr(f, "__name__", "model")

    def wrapper(*args, **kwargs) -> Module:
        module_params: dict[str, dict[str, str]] = {}
        module_state: dict[str, dict[str, str]] = {}

        def interceptor(next_f, a, k, ctx):
            with jax.named_scope(ctx.module.module_name):
                out = next_f(*a, **k)
            mname = ctx.module.module_name
            module_params[mname] = {k2: _fmt_spec(v) for k2, v in ctx.module.params_dict().items()}
            try:
                module_state[mname] = {
                    k2: _fmt_spec(v) for k2, v in ctx.module.state_dict().items()
                }
            except Exception:  # stateless transform
                module_state[mname] = {}
            return out

        def traced(*a, **k):
            if include_module_info:
                with hk_module.intercept_methods(interceptor):
                    return f(*a, **k)
            return f(*a, **k)

        closed = jax.make_jaxpr(traced, axis_env=axis_env)(*args, **kwargs)
        _NAMES.names.clear()
        root = Module(name=root_name)
        modules: dict[str, Module] = {"": root}

        def get_module(path: list[str]) -> Module:
            key = path[-1] if path else ""
            if key in modules:
                return modules[key]
            parent = get_module(path[:-1])
            mod = Module(name=key)
            modules[key] = mod
            parent.expressions.append(
                Expression(
                    primitive="module", invars="", outvars="", submodule=mod, name_stack=list(path)
                )
            )
            return mod

        for eqn in closed.jaxpr.eqns:
            stack = str(eqn.source_info.name_stack) if include_module_info else ""
            scopes = [s for s in stack.split("/") if s] if stack else []
            # named_scope nests module paths: keep the innermost full module paths.
            path = _module_path(scopes, module_params)
            target = get_module(path) if path else root
            expr = Expression(
                primitive=eqn.primitive.name,
                invars=", ".join(_var(v) for v in eqn.invars),
                outvars=", ".join(_var(v) for v in eqn.outvars),
                params={k2: str(v)[:200] for k2, v in eqn.params.items()},
                first_outvar=_var(eqn.outvars[0]).split(":")[0] if eqn.outvars else "",
                name_stack=scopes,
            )
            expr.flops = _default_flops(eqn)
            if compute_flops is not None:
                expr.flops = compute_flops(eqn, expr)
            target.expressions.append(expr)

        for key, mod in modules.items():
            if key and key in module_params:
                mod.param_info = module_params[key]
                mod.total_param_size = sum(_spec_size(s) for s in mod.param_info.values())
                mod.state_info = module_state.get(key, {})
                mod.total_state_size = sum(_spec_size(s) for s in mod.state_info.values())
        _sum_flops(root)
        root.total_param_size = sum(
            m.total_param_size for k, m in modules.items() if k and "/" not in k
        )
        return root

    return wrapper


def _module_path(scopes: list[str], known: dict) -> list[str]:
    """Turns a name stack like ['mlp', 'mlp', '~', 'linear_0'] into module paths."""
    joined = "/".join(scopes)
    path: list[str] = []
    # Greedily match known module names (which contain '/' and '~').
    names = sorted(known, key=len, reverse=True)
    for n in names:
        if joined.endswith(n) or f"{n}/" in joined + "/":
            parts = n.split("/")
            # Build the chain of enclosing known modules.
            chain = []
            for i in range(1, len(parts) + 1):
                cand = "/".join(parts[:i])
                if cand in known:
                    chain.append(cand)
            path = chain
            break
    return path


def _spec_size(spec: str) -> int:
    inside = spec[spec.index("[") + 1 : -1]
    return int(np.prod([int(d) for d in inside.split(",")], dtype=np.int64)) if inside else 1


def _sum_flops(mod: Module) -> int | None:
    total: int | None = 0
    for e in mod.expressions:
        if e.submodule is not None:
            e.flops = _sum_flops(e.submodule)
        if e.flops is None or total is None:
            total = None
        else:
            total += e.flops
    mod.flops = total
    return total


def format_module(module: Module, depth: int = 0) -> str:
    """Renders an info tree as indented text.

    Args:
      module: the root.
      depth: indentation level of the root.

    Returns:
      One line per module/expression.
    """
    pad = "  " * depth
    lines = [
        f"{pad}{module.name} flops: {module.flops} params: {module.total_param_size}"
        + (f" state: {module.total_state_size}" if module.total_state_size else "")
    ]
    for e in module.expressions:
        if e.submodule is not None:
            lines.append(format_module(e.submodule, depth + 1))
        else:
            lines.append(f"{pad}  {e.outvars} = {e.primitive} {e.invars}  flops: {e.flops}")
    return "\n".join(lines)


def as_html(module: Module, min_flop: int = 1000, outvars: str = "", last: bool = False) -> str:
    """Renders an info tree as a collapsible HTML fragment.

    Args:
      module: the root.
      min_flop: expressions with fewer flops are hidden.
      outvars: text shown as the module's outputs.
      last: whether this is the last child of its parent (styling).

    Returns:
      HTML text.
    """
    cls = "module last" if last else "module"
    parts = [
        f'<div class="{cls}"><details open><summary>{html.escape(module.name)} '
        f'<span class="flops">{module.flops} flops</span> '
        f'<span class="params">{module.total_param_size} params</span>'
        f"{' ' + html.escape(outvars) if outvars else ''}</summary>"
    ]
    for i, e in enumerate(module.expressions):
        if e.submodule is not None:
            parts.append(
                as_html(e.submodule, min_flop, e.outvars, i == len(module.expressions) - 1)
            )
        elif e.flops is None or e.flops >= min_flop:
            parts.append(
                f'<div class="expr">{html.escape(e.outvars)} = <b>{html.escape(e.primitive)}</b> '
                f'{html.escape(e.invars)} <span class="flops">{e.flops}</span></div>'
            )
    parts.append("</details></div>")
    return "".join(parts)


def css() -> str:
    """CSS for :func:`as_html` output."""
    return (
        ".module{margin-left:1em;font-family:monospace}"
        ".expr{margin-left:2em;color:#444}"
        ".flops{color:#a33}.params{color:#33a}"
    )


def js() -> str:
    """JavaScript for :func:`as_html_page` (toggles all details)."""
    return "function toggleAll(open){document.querySelectorAll('details').forEach(d=>d.open=open);}"


def as_html_page(module: Module, min_flop: int = 1000) -> str:
    """Renders an info tree as a standalone HTML page.

    Args:
      module: the root.
      min_flop: expressions with fewer flops are hidden.

    Returns:
      HTML text.
    """
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(module.name)}"
        f"</title><style>{css()}</style><script>{js()}</script></head><body>"
        f"{as_html(module, min_flop)}</body></html>"
    )
