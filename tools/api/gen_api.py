"""Regenerates the introspected facts in ``api_haiku.json`` / ``api_rlax.json`` from upstream.

The reference lists name every public upstream symbol with curated fields (``area``, ``tier``,
``purpose``, ``deprecated`` ...) and introspected fields (``kind``, ``params``, ``signature``,
``fields``, method parameters). This script imports the installed upstream packages (dm-haiku
0.0.17, rlax 0.1.9: ``nox -s api_facts`` installs them in a throwaway venv), recomputes the
introspected fields with :mod:`inspect`, and reports every difference from the stored lists;
``--write`` stores the regenerated values, keeping the curated fields.

Usage::

    python tools/api/gen_api.py            # check: exit 1 if a stored fact is stale
    python tools/api/gen_api.py --write    # refresh the stored facts
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LISTS = {"haiku": HERE / "api_haiku.json", "rlax": HERE / "api_rlax.json"}
EXPECTED_VERSIONS = {"haiku": "0.0.17", "rlax": "0.1.9"}

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def resolve(root: Any, dotted: str) -> Any:
    """``root.a.b`` for ``dotted == "a.b"``; sub-namespaces may be importable submodules."""
    obj = root
    for i, part in enumerate(dotted.split(".")):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            prefix = ".".join(dotted.split(".")[: i + 1])
            obj = importlib.import_module(f"{root.__name__}.{prefix}")
    return obj


def param_facts(
    sig: inspect.Signature, old: list[dict] | None, *, bound: bool = False
) -> list[dict]:
    """Parameter records in the stored format; curated ``deprecated`` marks are kept.

    ``bound``: drop a leading ``self`` / ``cls`` (constructors and methods).
    """
    deprecated = {p["name"] for p in old or [] if p.get("deprecated")}
    params = list(sig.parameters.values())
    if bound and params and params[0].name in ("self", "cls"):
        params = params[1:]
    out = []
    for p in params:
        rec: dict[str, Any] = {"name": p.name, "kind": _KINDS[p.kind]}
        rec["defaulted"] = p.default is not inspect.Parameter.empty
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            if rec["defaulted"]:
                rec["default"] = (
                    repr(p.default) if not hasattr(p.default, "name") else str(p.default)
                )
        if p.name in deprecated:
            rec["deprecated"] = True
        out.append(rec)
    return out


def callable_signature(obj: Any) -> inspect.Signature | None:
    """The signature users call; a ``functools.wraps`` wrapper's own leading parameters
    (``f(tx_pair, *args, **kwargs)`` around ``g(r_t, ...)``) are kept in front."""
    target = obj.__init__ if inspect.isclass(obj) and "__init__" in vars(obj) else obj
    try:
        inner = inspect.signature(target)
        outer = inspect.signature(target, follow_wrapped=False)
    except (TypeError, ValueError):
        return None
    kinds = {p.kind for p in outer.parameters.values()}
    if hasattr(target, "__wrapped__") and inspect.Parameter.VAR_POSITIONAL in kinds:
        lead = [
            p
            for p in outer.parameters.values()
            if p.kind
            in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
        names = set(inner.parameters)
        if lead and not names & {p.name for p in lead}:
            return inner.replace(parameters=[*lead, *inner.parameters.values()])
    return inner


def regenerate(entry: dict, root: Any) -> dict:
    """The entry with its introspected fields recomputed from the upstream object."""
    new = dict(entry)
    if entry["kind"] in ("namespace", "constant", "type_alias"):
        return new
    obj = resolve(root, entry["name"])
    sig = callable_signature(obj)
    if sig is not None and entry.get("params") is not None:
        new["params"] = param_facts(sig, entry.get("params"), bound=inspect.isclass(obj))
    if entry.get("fields") is not None and hasattr(obj, "_fields"):
        new["fields"] = list(obj._fields)
    methods = []
    for m in entry.get("methods") or []:
        member = getattr(obj, m["name"], None)
        msig = None
        if member is not None and callable(member):
            try:
                msig = inspect.signature(member)
            except (TypeError, ValueError):
                msig = None
        mrec = dict(m)
        if msig is not None and m.get("params") is not None:
            mrec["params"] = param_facts(msig, m.get("params"), bound=True)
        methods.append(mrec)
    if entry.get("methods") is not None:
        new["methods"] = methods
    return new


def _comparable(entry: dict) -> dict:
    """Fields compared between stored and regenerated entries (defaults' reprs excluded)."""

    def strip(params: list[dict] | None) -> list | None:
        if params is None:
            return None
        return [(p["name"], p["kind"], p.get("defaulted")) for p in params]

    return {
        "params": strip(entry.get("params")),
        "fields": entry.get("fields"),
        "methods": [(m["name"], strip(m.get("params"))) for m in entry.get("methods") or []],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="store the regenerated facts")
    args = parser.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    stale = 0
    for upstream, path in LISTS.items():
        root = importlib.import_module(upstream)
        dist = "dm-haiku" if upstream == "haiku" else upstream
        version = importlib.metadata.version(dist)
        if version != EXPECTED_VERSIONS[upstream]:
            print(f"{dist} {version} installed; the lists describe {EXPECTED_VERSIONS[upstream]}")
            return 2
        entries = json.loads(path.read_text())
        regenerated = []
        for entry in entries:
            try:
                new = regenerate(entry, root)
            except (AttributeError, ImportError) as exc:
                print(f"{upstream}.{entry['name']}: not found upstream ({exc})")
                stale += 1
                new = entry
            if _comparable(new) != _comparable(entry):
                stale += 1
                print(f"{upstream}.{entry['name']}: stored facts differ from upstream")
            regenerated.append(new)
        if args.write:
            path.write_text(json.dumps(regenerated, indent=1) + "\n")
        print(f"{path.name}: {len(entries)} entries checked against {dist} {version}")
    if stale and not args.write:
        print(f"{stale} stale entries; rerun with --write to refresh")
        return 1
    return 0


if __name__ == "__main__":
    import importlib.metadata

    sys.exit(main())
