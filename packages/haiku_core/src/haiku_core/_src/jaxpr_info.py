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


# Primitives whose body is shown as a nested block: primitive -> (title, body, multiplier).
def _nested_block(eqn: Any) -> tuple[str, Any, int] | None:
    """``(title, body jaxpr, flops multiplier)`` for call-like equations, else None."""
    name = eqn.primitive.name
    p = eqn.params
    if name in ("named_call", "xla_call"):
        return p["name"], p["call_jaxpr"], 1
    if name in ("remat_call", "xla_pmap"):
        return f"{name} {p['name']}", p["call_jaxpr"], 1
    if name in ("remat2", "checkpoint"):
        return "remat", p["jaxpr"], 1
    if name == "while":
        return "while", p["body_jaxpr"], 1
    if name == "scan":
        length, unroll = p["length"], p["unroll"]
        steps = length // unroll if isinstance(unroll, int) and unroll > 0 else length
        return f"scan length={length} unroll={unroll}", p["jaxpr"], steps
    if name in ("jit", "pjit"):
        return p["name"], p["jaxpr"], 1
    if name == "shard_map":
        return "shard_map", p["jaxpr"], p["mesh"].size
    if name in ("custom_jvp_call", "custom_vjp_call"):
        return name[: -len("_call")], p["call_jaxpr"], 1
    if name in ("custom_jvp_call_jaxpr", "custom_vjp_call_jaxpr"):
        return name[: -len("_call_jaxpr")], p["fun_jaxpr"], 1
    return None


def _open(jaxpr: Any) -> Any:
    """The open jaxpr of a (closed) jaxpr."""
    inner = getattr(jaxpr, "jaxpr", None)
    return inner if inner is not None and hasattr(inner, "eqns") else jaxpr


def _letters(n: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'ba', ... (the variable naming of the text format)."""
    out = ""
    while not out or n:
        n, i = divmod(n, 26)
        out = chr(ord("a") + i) + out
    return out


def _order_key(name: str) -> tuple[int, str]:
    return (1000 if name == "_" else len(name), name)


def _shape_text(atom: Any) -> str:
    return atom.aval.str_short().replace("float", "f")


def _is_literal(atom: Any) -> bool:
    return type(atom).__name__ == "Literal"


def _is_drop(atom: Any) -> bool:
    return type(atom).__name__ == "DropVar"


def _describe_jaxpr(jaxpr: Any, compute_flops: Any, module: Module) -> int | None:
    """Fills ``module.expressions`` with the live equations of ``jaxpr`` in definition
    order; returns the summed flops (None without ``compute_flops``)."""
    jaxpr = _open(jaxpr)
    index: dict[Any, int] = {}
    for v in [*jaxpr.constvars, *jaxpr.invars]:
        index[v] = len(index)
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            if not _is_drop(v):
                index[v] = len(index)

    def name_of(atom: Any) -> str:
        if _is_drop(atom):
            return "_"
        if _is_literal(atom):
            return str(atom)
        return _letters(index[atom])

    # Equations that the outputs depend on (walked backwards).
    needed = {v for v in jaxpr.outvars if not _is_literal(v)}
    live = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in needed for v in eqn.outvars if not _is_drop(v)):
            live.append(eqn)
            needed.update(v for v in eqn.invars if not _is_literal(v))
    live.reverse()

    total: int | None = None if compute_flops is None else 0
    expressions = []
    for eqn in live:
        outs = sorted((name_of(v) for v in eqn.outvars), key=_order_key)
        ins = [name_of(v) for v in eqn.invars]
        stack = str(eqn.source_info.name_stack)
        expr = Expression(
            primitive=eqn.primitive.name,
            invars=" ".join(ins) if len(ins) < 10 else f"{len(ins)} inputs",
            outvars=" ".join(outs)
            if len(outs) < 10
            else f"{outs[0]}, {len(outs) - 1} more outputs",
            first_outvar=outs[0] if outs else "_",
            name_stack=stack.split("/") if stack else [],
        )
        block = _nested_block(eqn)
        if block is not None:
            title, body, multiplier = block
            expr.submodule = Module(name=title)
            flops = _describe_jaxpr(body, compute_flops, expr.submodule)
            if flops is not None:
                flops *= multiplier
            expr.submodule.flops = flops
            expr.flops = flops
            if compute_flops is not None and not flops:
                continue  # blocks without any counted work are left out
        else:
            details = []
            if eqn.invars:
                details.append("in " + ", ".join(_shape_text(v) for v in eqn.invars))
            if eqn.outvars:
                details.append("out " + ", ".join(_shape_text(v) for v in eqn.outvars))
            expr.details = ", ".join(details)
            expr.params.update({k: str(v) for k, v in eqn.params.items()})
            flops = None if compute_flops is None else compute_flops(eqn, expr)
            expr.flops = flops
        if total is not None and flops is not None:
            total += flops
        expressions.append(expr)
    expressions.sort(key=lambda e: _order_key(e.first_outvar))
    module.expressions.extend(expressions)
    module.flops = total
    return total


def _group_by_name_stack(module: Module) -> None:
    """Nests each expression under ``name_scope`` blocks following its name stack.

    Consecutive expressions sharing a name-stack prefix share the blocks; the flops
    of every expression are added to all blocks that enclose it.
    """
    flat = list(module.expressions)
    module.expressions.clear()
    if module.flops:
        module.flops = 0
    open_blocks = [module]
    for e in flat:
        if e.submodule is not None:
            _group_by_name_stack(e.submodule)
        del open_blocks[len(e.name_stack) + 1 :]
        for depth, part in enumerate(e.name_stack, start=1):
            if depth < len(open_blocks) and open_blocks[depth].name != part:
                del open_blocks[depth:]
            if depth == len(open_blocks):
                block = Module(name=part)
                open_blocks[-1].expressions.append(
                    Expression(primitive="name_scope", invars="", outvars="", submodule=block)
                )
                open_blocks.append(block)
        open_blocks[-1].expressions.append(e)
        if e.flops:
            for m in open_blocks:
                m.flops = (m.flops or 0) + e.flops


def _short_spec(x: Any) -> str:
    dtype = np.dtype(x.dtype)
    return f"{_DTYPE_SHORT.get(dtype.name, dtype.name)}[{','.join(str(d) for d in x.shape)}]"


_DTYPE_SHORT = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "bfloat16": "bf16",
    "int8": "s8",
    "int16": "s16",
    "int32": "s32",
    "int64": "s64",
    "uint8": "u8",
    "uint32": "u32",
    "bool": "bool",
}


def _size_of(x: Any) -> int:
    return int(np.prod(x.shape, dtype=np.int64)) if x.shape else 1


def _attach_sizes(block: Module, path: str, infos: dict[str, tuple[dict, dict]]) -> None:
    """Sets param/state totals of ``block`` (module path ``path``) and its children."""
    if path in infos:
        params, state = infos[path]
        block.total_param_size = sum(_size_of(v) for v in params.values())
        block.total_state_size = sum(_size_of(v) for v in state.values())
        block.param_info = {
            k.replace("/~/", "/").replace(path, "."): _short_spec(v) for k, v in params.items()
        }
        block.state_info = {
            k.replace("/~/", "/").replace(path, "."): _short_spec(v) for k, v in state.items()
        }
    for e in block.expressions:
        if e.submodule is not None:
            _attach_sizes(e.submodule, f"{path}/{e.submodule.name}", infos)


def make_model_info(
    f: Callable[..., Any],
    name: str | None = None,
    include_module_info: bool = True,
    compute_flops: Callable[[Any, Expression], int] | None = None,
    axis_env: Sequence[tuple[Any, int]] | None = None,
) -> Callable[..., Module]:
    """Wraps ``f`` so calling it traces it and returns a :class:`Module` info tree.

    Every Haiku module method call shows up as a nested block named after the
    module (its last name component; a method other than ``__call__`` adds an
    enclosing block named after the method), as do ``jax.named_scope``/``jax.named_call`` scopes and
    call-like primitives (jit, scan, while, remat, custom_jvp/vjp ...). Only
    equations the outputs depend on are listed, in definition order.

    Args:
      f: a JAX function, typically a transformed ``apply``.
      name: root name (default: ``f.__name__``).
      include_module_info: record the parameter/state sizes of each module block.
      compute_flops: optional ``compute_flops(eqn, expression) -> int`` estimating
        the flops of one equation; without it no flops are reported.
      axis_env: ``(axis_name, size)`` pairs for collectives, as in ``jax.make_jaxpr``.

    Returns:
      A function with ``f``'s arguments returning the root :class:`Module`.
    """
    root_name = name or getattr(f, "__name__", "model")

    def wrapper(*args: Any, **kwargs: Any) -> Module:
        infos: dict[str, tuple[dict, dict]] = {}

        def interceptor(next_f, a, k, ctx):
            if ctx.method_name == "__init__":
                # The module has no name yet while its constructor runs.
                return next_f(*a, **k)
            full = ctx.module.module_name
            local = full.rsplit("/", 1)[-1]
            if ctx.method_name != "__call__":
                with jax.named_scope(ctx.method_name), jax.named_scope(local):
                    out = next_f(*a, **k)
            else:
                with jax.named_scope(local):
                    out = next_f(*a, **k)
            if include_module_info:
                params = dict(ctx.module.params_dict())
                try:
                    state = dict(ctx.module.state_dict())
                except Exception:  # a transform without state
                    state = {}
                infos[full.replace("/~/", "/")] = (params, state)
            return out

        def traced(*a, **k):
            with hk_module.intercept_methods(interceptor):
                return f(*a, **k)

        jaxpr = jax.make_jaxpr(traced, axis_env=axis_env)(*args, **kwargs).jaxpr
        root = Module(name=root_name)
        _describe_jaxpr(jaxpr, compute_flops, root)
        _group_by_name_stack(root)
        if include_module_info:
            for e in root.expressions:
                if e.submodule is not None:
                    _attach_sizes(e.submodule, e.submodule.name, infos)
        return root

    return wrapper


def _with_unit(n: int, unit: str, digits: int = 4) -> str:
    """``1234 -> '1.234 k<unit>'`` (decimal prefixes k, M, G, T, P, E)."""
    for prefix, exponent in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3)):
        scale = 10**exponent
        if n > scale:
            return f"{n / scale:.{digits}g} {prefix}{unit}"
    return f"{n} {unit}"


def format_module(module: Module, depth: int = 0) -> str:
    """Renders an info tree as indented text, one line per block or equation.

    A block line is ``<name>[ <flops> flops][ <params> params][ <state> state]``; an
    equation line is ``<primitive>[ <flops> flops] in <input shapes>, out <output
    shapes>``. Each level is indented by two spaces.

    Args:
      module: the root.
      depth: indentation level of the root.

    Returns:
      The text, ending with a newline.
    """
    line = "  " * depth + module.name
    if module.flops is not None:
        line += " " + _with_unit(module.flops, "flops")
    if module.total_param_size > 0:
        line += " " + _with_unit(module.total_param_size, "params")
    if module.total_state_size > 0:
        line += " " + _with_unit(module.total_state_size, "state")
    out = line + "\n"
    for e in module.expressions:
        out += format_expression(e, depth + 1)
    return out


def format_expression(exp: Expression, depth: int) -> str:
    """Renders one expression (or its nested block) as in :func:`format_module`.

    Args:
      exp: the expression.
      depth: indentation level.

    Returns:
      The text, ending with a newline.
    """
    if exp.submodule is not None:
        return format_module(exp.submodule, depth)
    line = "  " * depth + exp.primitive
    if exp.flops is not None:
        line += " " + _with_unit(exp.flops, "flops")
    return line + " " + exp.details + "\n"


def _html_flops(flops: int | None) -> str:
    return "" if flops is None else _with_unit(flops, "flops")


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
        f'<span class="flops">{_html_flops(module.flops)}</span> '
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
                f'{html.escape(e.invars)} <span class="flops">{_html_flops(e.flops)}</span></div>'
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
