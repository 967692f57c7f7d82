"""Helpers of the docs tests: the built site, the inventory, and the guides' code blocks."""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent

#: Folders under docs/ that hold no guide pages (build output, generated API pages, tests).
NOT_GUIDES = ("_build", "_generated", "api", "tests")

#: A code block may be skipped only for these reasons (the docs tests run on CPU, offline).
SKIP_REASONS = ("GPU", "network")
SKIP_MARKER = re.compile(r"^<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
EIGHT_DEVICES = "xla_force_host_platform_device_count"


def build_dir() -> Path:
    """The HTML build folder the tests read (``DOCS_BUILD_DIR``, default docs/_build/html)."""
    return Path(os.environ.get("DOCS_BUILD_DIR", DOCS / "_build" / "html")).resolve()


def inventory_names(path: Path) -> dict[str, set[str]]:
    """Names in a Sphinx ``objects.inv`` (format version 2), per role (``py:function``...).

    Read with the format's own layout (four header lines, then zlib-compressed lines
    ``name role priority uri dispname``), cross-checked against ``sphinx.util.inventory``
    when Sphinx is importable.
    """
    raw = path.read_bytes()
    lines = raw.split(b"\n", 4)
    if not lines[0].startswith(b"# Sphinx inventory version 2"):
        raise ValueError(f"{path}: not a Sphinx inventory version 2 file")
    body = zlib.decompress(lines[4]).decode("utf-8")
    names: dict[str, set[str]] = {}
    pattern = re.compile(r"(?P<name>.+?)\s+(?P<role>\S+:\S+)\s+(?P<prio>-?\d+)\s+(?P<rest>.*)")
    for line in body.splitlines():
        match = pattern.match(line.rstrip())
        if match:
            names.setdefault(match["role"], set()).add(match["name"])
    try:
        from sphinx.util.inventory import InventoryFile
    except ImportError:
        return names
    loaded = InventoryFile.loads(raw, uri="")
    data = getattr(loaded, "data", loaded)
    via_sphinx = {role: set(entries) for role, entries in data.items()}
    if via_sphinx != names:
        raise AssertionError(f"{path}: sphinx.util.inventory reads other names than the parser")
    return names


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of a guide page.

    Attributes:
        source: the file the block is written in (a page, or a file a page includes).
        line: 1-based line of the opening fence in ``source``.
        language: the fence's info string (``python``).
        code: the block's text.
        skip_reason: the reason given by a skip marker just above the block, or ``None``.
    """

    source: Path
    line: int
    language: str
    code: str
    skip_reason: str | None = None


def guide_pages() -> list[Path]:
    """Every Markdown page under docs/ that is a guide (not build output or API pages)."""
    pages = []
    for path in sorted(DOCS.rglob("*.md")):
        rel = path.relative_to(DOCS)
        if rel.parts[0] in NOT_GUIDES:
            continue
        pages.append(path)
    return pages


def _include_slice(text: str, options: dict[str, str]) -> tuple[str, int]:
    """The part of ``text`` an ``{include}`` with ``options`` takes, and its first line index."""
    lines = text.splitlines(keepends=True)
    start = int(options.get("start-line", 0))
    end = int(options["end-line"]) if "end-line" in options else len(lines)
    lines = lines[start:end]
    chunk = "".join(lines)
    offset = start
    after = options.get("start-after")
    if after is not None:
        after = after.strip().strip('"')
        pos = chunk.find(after)
        if pos < 0:
            raise ValueError(f"include: start-after text {after!r} not found")
        offset += chunk[: pos + len(after)].count("\n")
        chunk = chunk[pos + len(after) :]
    before = options.get("end-before")
    if before is not None:
        before = before.strip().strip('"')
        pos = chunk.find(before)
        if pos < 0:
            raise ValueError(f"include: end-before text {before!r} not found")
        chunk = chunk[:pos]
    return chunk, offset


def code_blocks(path: Path, text: str | None = None, first_line: int = 0) -> list[CodeBlock]:
    """The fenced code blocks of a page, in order, following MyST ``{include}`` directives.

    Args:
        path: the Markdown file.
        text: its text (read from ``path`` when ``None``); a slice of it for an include.
        first_line: the 0-based line of ``path`` that ``text`` starts at.

    Returns:
        The blocks, included files' blocks in place of their include directive.
    """
    text = path.read_text(encoding="utf-8") if text is None else text
    lines = text.splitlines()
    blocks: list[CodeBlock] = []
    pending_skip: str | None = None
    i = 0
    while i < len(lines):
        marker = SKIP_MARKER.match(lines[i].strip())
        if marker:
            pending_skip = marker["reason"].strip()
            i += 1
            continue
        fence = FENCE.match(lines[i])
        if fence and fence["fence"][0] == "`" and "`" in fence["info"]:
            fence = None  # an inline code span, not a fence (CommonMark)
        if not fence:
            if lines[i].strip():
                pending_skip = None
            i += 1
            continue
        indent, mark, info = fence["indent"], fence["fence"], fence["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(mark[0] * len(mark)) and not closing.strip(mark[0]):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        language = info.split()[0] if info else ""
        if language == "{include}":
            target = (path.parent / info.split(maxsplit=1)[1].strip()).resolve()
            options = {}
            for option in body:
                m = re.match(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$", option.strip())
                if m:
                    options[m["key"]] = m["value"]
            chunk, offset = _include_slice(target.read_text(encoding="utf-8"), options)
            blocks.extend(code_blocks(target, chunk, offset))
        else:
            blocks.append(
                CodeBlock(path, first_line + i + 1, language, "\n".join(body) + "\n", pending_skip)
            )
        pending_skip = None
        i = j + 1
    return blocks


def python_blocks(path: Path) -> list[CodeBlock]:
    """The ``python`` blocks of a guide page (included files followed)."""
    return [b for b in code_blocks(path) if b.language == "python"]


def needs_eight_devices(path: Path) -> bool:
    """Whether a page's examples ask for 8 fake CPU devices (it mentions the XLA flag)."""
    return EIGHT_DEVICES in path.read_text(encoding="utf-8")


RUNNER = """\
import sys, traceback
blocks = {blocks!r}
namespace = {{"__name__": "__main__"}}
for label, code, skip in blocks:
    if skip is not None:
        print(f"[docs-test] {{label}}: skipped ({{skip}})", flush=True)
        continue
    print(f"[docs-test] {{label}}", flush=True)
    try:
        exec(compile(code, label, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"[docs-test] FAILED in the block at {{label}}", flush=True)
        sys.exit(1)
"""


def runner_script(blocks: list[CodeBlock]) -> str:
    """A Python script that runs ``blocks`` in order in one namespace, naming a failing one."""
    items = [(f"{b.source.relative_to(ROOT)}:{b.line}", b.code, b.skip_reason) for b in blocks]
    return RUNNER.format(blocks=items)
