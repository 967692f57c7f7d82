"""A static check of the error-message prefix style of a package.

Both packages start every error message they build with the public name of what
failed::

    rlax_core.<public name>: `arg` must ..., got ...
    haiku_core.<public path>: `arg` must ..., got ...
    haiku_core.<Class> '<module path>': `arg` must ..., got ...

:func:`scan_package` finds every exception built from a literal message in a source
tree (``SomethingError("...")`` / ``SomethingError(f"...")``, a local variable that
holds such a literal, or a same-file helper function that returns one:
``SomethingError(make_message(...))``) and checks how the message starts:

1. **Literal prefix**: the message text (with module-level string constants of the
   same file substituted, other placeholders read as a name segment) starts with
   ``<package>.<dotted name>`` optionally followed by `` '<module path>'``, then
   ``": "``.
2. **Helper prefix**: the message starts with a placeholder that calls one of the
   package's prefix helpers (``helper_calls``, e.g. ``module_prefix(self)``), then
   ``": "``.
3. **Forwarded prefix**: the message starts with a placeholder that is a name from
   ``prefix_names`` (e.g. ``fn``, ``owner``), or an attribute of that name
   (``self.fn``), then ``": "``. Every value that name can take is then checked
   the same way: its assignments in the enclosing function, its default, and when
   it is a parameter, the matching argument at every call site in the package (a
   forwarded name at a call site is followed to its own bindings in turn). A value
   that is neither a conforming literal, a helper call nor a forwarded name fails.

:func:`literal_prefixes` lists every fully literal prefix found, so a test can check
that each names a real public object.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["Finding", "literal_prefixes", "resolve_public_path", "scan_package"]

_UNKNOWN = "\x00"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One message whose start does not follow the rule.

    Attributes:
      path: the file, relative to the scanned root.
      lineno: the line of the message (or of the offending prefix value).
      text: the message start as rendered by the scan (placeholders as ``{...}``).
      reason: why it fails.
    """

    path: str
    lineno: int
    text: str
    reason: str

    def key(self) -> tuple[str, str]:
        """``(path, text)``: a line-number-free key for exemption lists."""
        return (self.path, self.text)


def _is_exception_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name.endswith(("Error", "Exception"))


def _func_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class _File:
    def __init__(self, path: Path, rel: str):
        self.rel = rel
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.constants: dict[str, str] = {}
        for node in self.tree.body:
            value = getattr(node, "value", None)
            if (
                isinstance(node, ast.Assign | ast.AnnAssign)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        self.constants[t.id] = value.value
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None


class _Scanner:
    def __init__(
        self, root: Path, package: str, prefix_names: frozenset[str], helpers: frozenset[str]
    ):
        self.package = package
        self.prefix_names = prefix_names
        self.helpers = helpers
        self.files = [_File(p, str(p.relative_to(root))) for p in sorted(root.rglob("*.py"))]
        pkg = re.escape(package)
        self.start_re = re.compile(rf"^{pkg}(\.[\w{_UNKNOWN}]+)+( '[^']*')?: ")
        self.value_re = re.compile(rf"^{pkg}(\.[\w{_UNKNOWN}]+)+( '[^']*')?$")
        self.findings: list[Finding] = []
        self.literals: list[tuple[str, int, str]] = []
        self._checked: set[tuple[str, str, str]] = set()

    # Rendering ---------------------------------------------------------------------

    def _render(self, f: _File, node: ast.expr) -> tuple[str, ast.expr | None, str]:
        """Returns (text, leading placeholder or None, kind of the leading placeholder).

        Placeholders that are module constants are substituted; a leading helper call
        or forwarded name is reported separately; any other placeholder becomes the
        ``_UNKNOWN`` marker (read as a name segment).
        """
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, None, ""
        if isinstance(node, ast.Name) and node.id in f.constants:
            return f.constants[node.id], None, ""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            # ``PREFIX + "name"`` / ``f"..." + HINT``: the start comes from the left side.
            left, left_lead, left_kind = self._render(f, node.left)
            if left_kind == "opaque":
                return "", None, "opaque"
            right, _, right_kind = self._render(f, node.right)
            return left + (right if right_kind == "" else _UNKNOWN), left_lead, left_kind
        if not isinstance(node, ast.JoinedStr):
            return "", None, "opaque"
        parts: list[str] = []
        lead: ast.expr | None = None
        kind = ""
        for i, value in enumerate(node.values):
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            assert isinstance(value, ast.FormattedValue)
            expr = value.value
            if isinstance(expr, ast.Name) and expr.id in f.constants:
                parts.append(f.constants[expr.id])
                continue
            if i == 0:
                if isinstance(expr, ast.Call) and _func_name(expr) in self.helpers:
                    lead, kind = expr, "helper"
                    parts.append("{helper}")
                    continue
                name = expr.id if isinstance(expr, ast.Name) else getattr(expr, "attr", None)
                if name in self.prefix_names:
                    lead, kind = expr, "forwarded"
                    parts.append("{" + name + "}")
                    continue
            parts.append(_UNKNOWN)
        return "".join(parts), lead, kind

    # Messages ----------------------------------------------------------------------

    def _message_nodes(self, f: _File) -> Iterator[tuple[ast.Call, ast.expr]]:
        for node in ast.walk(f.tree):
            if not _is_exception_call(node):
                continue
            assert isinstance(node, ast.Call)
            msg = node.args[0]
            if (
                isinstance(msg, ast.Call)
                and isinstance(msg.func, ast.Attribute)
                and msg.func.attr == "format"
            ):
                # ``TEMPLATE.format(...)`` / ``"...".format(...)``: the template is the message.
                msg = msg.func.value
            if isinstance(msg, ast.Constant | ast.JoinedStr | ast.BinOp):
                yield node, msg
            elif isinstance(msg, ast.Name) and msg.id in f.constants:
                yield node, msg
            elif isinstance(msg, ast.Call) and isinstance(msg.func, ast.Name):
                # ``SomeError(make_message(...))``: the literals that helper returns.
                for value in self._returned_literals(f, msg.func.id):
                    yield node, value
            elif isinstance(msg, ast.Name):
                fn = f.enclosing_function(node)
                for value in self._assignments(fn, msg.id) if fn else []:
                    if isinstance(value, ast.Constant | ast.JoinedStr | ast.BinOp):
                        yield node, value

    def _returned_literals(self, f: _File, func_name: str) -> Iterator[ast.expr]:
        for node in f.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == func_name:
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Return) and isinstance(
                        sub.value, ast.Constant | ast.JoinedStr | ast.BinOp
                    ):
                        yield sub.value

    def check_messages(self) -> None:
        for f in self.files:
            for call, msg in self._message_nodes(f):
                text, lead, kind = self._render(f, msg)
                if isinstance(msg, ast.Constant) and not isinstance(msg.value, str):
                    continue
                if kind == "opaque":
                    continue
                shown = text.replace(_UNKNOWN, "{...}")[:90]
                if kind == "":
                    if not self.start_re.match(text):
                        self.findings.append(
                            Finding(
                                f.rel, msg.lineno, shown, "does not start with the package prefix"
                            )
                        )
                    elif _UNKNOWN not in text.split(": ", 1)[0]:
                        self.literals.append((f.rel, msg.lineno, text.split(": ", 1)[0]))
                    continue
                rest = text.split("}", 1)[1]
                if not rest.startswith(": "):
                    self.findings.append(
                        Finding(f.rel, msg.lineno, shown, "prefix placeholder not followed by ': '")
                    )
                    continue
                if kind == "forwarded":
                    assert lead is not None
                    name = lead.id if isinstance(lead, ast.Name) else lead.attr  # type: ignore[attr-defined]
                    fn = f.enclosing_function(call)
                    if isinstance(lead, ast.Attribute):
                        self._check_attribute(f, name, msg.lineno)
                    elif fn is not None:
                        self._check_name(f, fn, name, msg.lineno)

    # Prefix values -----------------------------------------------------------------

    def _assignments(self, fn: ast.AST, name: str) -> list[ast.expr]:
        out = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                    out.append(node.value)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                t = node.target
                if isinstance(t, ast.Name) and t.id == name and node.value is not None:
                    out.append(node.value)
        return out

    def _check_value(self, f: _File, value: ast.expr, lineno: int, fn: ast.AST | None) -> None:
        if isinstance(value, ast.Call) and _func_name(value) in self.helpers:
            return
        if isinstance(value, ast.Name) and value.id in self.prefix_names:
            if fn is not None:
                self._check_name(f, fn, value.id, lineno)
            return
        if isinstance(value, ast.Attribute) and value.attr in self.prefix_names:
            self._check_attribute(f, value.attr, lineno)
            return
        if isinstance(value, ast.Constant | ast.JoinedStr | ast.BinOp):
            text, _, kind = self._render(f, value)
            if kind == "" and self.value_re.match(text):
                if _UNKNOWN not in text:
                    self.literals.append((f.rel, value.lineno, text))
                return
            if kind == "helper" and text.startswith("{helper}"):
                return
        shown = ast.unparse(value)[:90]
        self.findings.append(
            Finding(
                f.rel,
                getattr(value, "lineno", lineno),
                shown,
                "prefix value is not a package prefix",
            )
        )

    def _check_name(self, f: _File, fn: ast.AST, name: str, lineno: int) -> None:
        assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        key = (f.rel, f"{fn.name}:{fn.lineno}", name)
        if key in self._checked:
            return
        self._checked.add(key)
        for value in self._assignments(fn, name):
            self._check_value(f, value, lineno, fn)
        args = fn.args
        positional = [*args.posonlyargs, *args.args]
        names = [a.arg for a in positional]
        if name in names:
            index = names.index(name)
            defaults = args.defaults
            offset = len(positional) - len(defaults)
            if index >= offset:
                self._check_value(f, defaults[index - offset], fn.lineno, fn)
            if names and names[0] in ("self", "cls"):
                index -= 1
            self._check_call_sites(fn.name, name, index)
        kwonly = [a.arg for a in args.kwonlyargs]
        if name in kwonly:
            default = args.kw_defaults[kwonly.index(name)]
            if default is not None:
                self._check_value(f, default, fn.lineno, fn)
            self._check_call_sites(fn.name, name, None)

    def _check_call_sites(self, func_name: str, param: str, index: int | None) -> None:
        for g in self.files:
            for node in ast.walk(g.tree):
                if not isinstance(node, ast.Call) or _func_name(node) != func_name:
                    continue
                if any(isinstance(a, ast.Starred) for a in node.args):
                    continue
                value = None
                for kw in node.keywords:
                    if kw.arg == param:
                        value = kw.value
                if value is None and index is not None and index < len(node.args):
                    value = node.args[index]
                if value is not None:
                    self._check_value(g, value, node.lineno, g.enclosing_function(node))

    def _check_attribute(self, f: _File, attr: str, lineno: int) -> None:
        """``self.<attr>``: checks every ``<x>.<attr> = value`` in the same file."""
        key = (f.rel, "<attr>", attr)
        if key in self._checked:
            return
        self._checked.add(key)
        for node in ast.walk(f.tree):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Attribute) and t.attr == attr:
                        self._check_value(f, node.value, node.lineno, f.enclosing_function(node))


def _scan(
    root: Path, package: str, prefix_names: Iterable[str], helper_calls: Iterable[str]
) -> _Scanner:
    scanner = _Scanner(Path(root), package, frozenset(prefix_names), frozenset(helper_calls))
    scanner.check_messages()
    return scanner


def scan_package(
    root: str | Path,
    package: str,
    *,
    prefix_names: Iterable[str],
    helper_calls: Iterable[str],
) -> list[Finding]:
    """Checks the start of every literal error message under ``root``.

    Args:
      root: the package's source directory (e.g. ``.../src/rlax_core``).
      package: the public package name every prefix starts with (``"rlax_core"``).
      prefix_names: variable / parameter / attribute names that carry a prefix.
      helper_calls: names of functions that return a prefix.

    Returns:
      The findings (empty when every message follows the rule), sorted by file and line.
    """
    scanner = _scan(Path(root), package, prefix_names, helper_calls)
    return sorted(set(scanner.findings), key=lambda x: (x.path, x.lineno, x.text))


def literal_prefixes(
    root: str | Path,
    package: str,
    *,
    prefix_names: Iterable[str],
    helper_calls: Iterable[str],
) -> list[tuple[str, int, str]]:
    """Every fully literal prefix found (``(path, lineno, "pkg.name")``), for a name check.

    Args:
      root, package, prefix_names, helper_calls: as for :func:`scan_package`.

    Returns:
      ``(path, lineno, prefix)`` triples; the prefix has no trailing colon and no
      module path.
    """
    scanner = _scan(Path(root), package, prefix_names, helper_calls)
    out = set()
    for path, lineno, text in scanner.literals:
        out.add((path, lineno, text.split(" '", 1)[0]))
    return sorted(out)


def resolve_public_path(path: str) -> tuple[object, list[str]]:
    """Follows a dotted public path (``pkg.sub.Name``) by attribute access, importing
    submodules where an attribute is missing.

    Returns:
      ``(obj, rest)``: the deepest object reached and the parts that did not resolve
      (empty when the whole path names an object).
    """
    parts = path.split(".")
    obj: object = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                return obj, parts[i:]
    return obj, []
