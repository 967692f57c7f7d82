"""API coverage check: haiku_core vs dm-haiku 0.0.17 and rlax_core vs rlax 0.1.9.

Run from the project root with a Python that has jax:  python tools/api/api_coverage.py  (or
`nox -s api`). The reference lists are api_haiku.json and api_rlax.json beside this file; their
introspected fields (kind, parameters, signatures, fields, methods) are regenerated from the
real upstream packages by gen_api.py (`nox -s api_facts`).

For every listed name that is not deprecated it checks:
  * presence: the dotted name resolves under the package ("nets.MLP" ->
    haiku_core.nets.MLP; sub-namespaces may also be importable submodules);
    an object that is really defined by upstream `haiku`/`rlax` (re-exported)
    does not count as present;
  * signature compatibility, for callables (functions, class constructors and
    the listed public methods of classes):
      - the same required positional parameters, in the same order, with the
        same names (names are not compared where upstream is positional-only);
      - every upstream positional parameter with a default keeps its position
        and name (so `hk.Conv2D(32, 3, 2)` keeps working), unless ours takes
        *args there;
      - every upstream keyword-passable parameter is accepted by keyword (a
        parameter of that name, or **kwargs);
      - upstream *args / **kwargs are matched by ours;
      - ours requires nothing that upstream does not;
      - parameters marked deprecated upstream are ignored;
    plus, for classes: ours must be a class too (users subclass and
    isinstance-check them), and the listed properties / class attributes /
    enum members / instance attributes exist (instance attributes are found
    via class attributes, annotations or `self.<name> =` in the source).
    A bare (*args, **kwargs) signature fails against an upstream signature
    with required positionals unless it can be unwrapped (__wrapped__, the
    functools.wraps pattern that adds leading parameters, or .fun of a
    jax.custom_vjp / custom_jvp).

Environment:
  API_OURS_HAIKU / API_OURS_RLAX  import name used as "ours" (default
      haiku_core / rlax_core).  Set them to haiku / rlax to check the
      reference lists against upstream itself (must give 100%).
  API_MISSING_MAX  how many missing / incompatible names to list (default 30).
  API_TIERS  comma-separated tiers to count (default: core,advanced,experimental);
      e.g. API_TIERS=core for a first milestone.  Others are reported as not
      counted, like deprecated names.

Exit status 0 only when both packages are 100% present and compatible.
The last line printed is the figure:
  api coverage: haiku_core X/Y (Z sig-compatible), rlax_core X/Y (Z sig-compatible)
"""

import importlib
import inspect
import json
import os
import re
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
# What api_haiku.json / api_rlax.json were generated from (gen_api.py checks).
UPSTREAM_VERSIONS = {"haiku": "dm-haiku 0.0.17", "rlax": "rlax 0.1.9"}

_EMPTY = inspect.Parameter.empty
_P = inspect.Parameter
KIND_NAMES = {
    _P.POSITIONAL_ONLY: "positional_only",
    _P.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    _P.VAR_POSITIONAL: "var_positional",
    _P.KEYWORD_ONLY: "keyword_only",
    _P.VAR_KEYWORD: "var_keyword",
}


# ---------------------------------------------------------------- signatures
def _sig(obj, **kw):
    try:
        return inspect.signature(obj, **kw)
    except (TypeError, ValueError):
        return None


def _is_opaque(sig):
    """True for a signature that is just (*args, **kwargs) (or one of them)."""
    if sig is None:
        return True
    kinds = [p.kind for p in sig.parameters.values()]
    return bool(kinds) and all(k in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) for k in kinds)


def _compose(raw, follow):
    """Signature of a functools.wraps wrapper that adds leading parameters.

    e.g. rlax.transformed_lambda_returns = wraps(lambda_returns)(
        lambda tx_pair, *args, **kwargs: ...): its real call signature is
    (tx_pair, <lambda_returns parameters>).
    """
    if raw is None or follow is None:
        return None
    params = list(raw.parameters.values())
    lead = []
    for p in params:
        if p.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
            break
        lead.append(p)
    rest = [p for p in params[len(lead) :]]
    if not lead or [p.kind for p in rest] != [_P.VAR_POSITIONAL, _P.VAR_KEYWORD]:
        return None
    if any(p.name in follow.parameters for p in lead):
        return None
    try:
        return follow.replace(parameters=lead + list(follow.parameters.values()))
    except ValueError:
        return None


def candidate_signatures(obj, is_class=None):
    """Plausible call signatures of obj, most faithful first."""
    if is_class is None:
        is_class = inspect.isclass(obj)
    cands = []
    if is_class:
        cands.append(_sig(obj))
        init = getattr(obj, "__init__", None)
        if init is not None and init is not object.__init__:
            s = _sig(init)
            if s is not None and s.parameters:
                ps = list(s.parameters.values())
                if ps and ps[0].kind != _P.VAR_POSITIONAL:
                    ps = ps[1:]
                try:
                    cands.append(s.replace(parameters=ps))
                except ValueError:
                    pass
    else:
        fun = getattr(obj, "fun", None)  # jax.custom_vjp / custom_jvp
        if fun is not None and callable(fun) and type(obj).__name__.startswith("custom_"):
            cands.append(_sig(fun))
        follow = _sig(obj)
        raw = _sig(obj, follow_wrapped=False)
        cands.append(_compose(raw, follow))
        cands.append(follow)
        cands.append(raw)
    out, seen = [], set()
    for s in cands:
        if s is None:
            continue
        key = str(s)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def canonical_signature(obj, is_class=None):
    cands = candidate_signatures(obj, is_class)
    for s in cands:
        if not _is_opaque(s):
            return s
    return cands[0] if cands else None


def method_signature(cls, name):
    """(kind, [signatures]) of attribute `name` of class cls, or (None, [])."""
    raw = None
    for klass in getattr(cls, "__mro__", (cls,)):
        if name in getattr(klass, "__dict__", {}):
            raw = klass.__dict__[name]
            break
    if raw is None:
        if hasattr(cls, name):
            raw = getattr(cls, name)
        else:
            return None, []
    if isinstance(raw, property) or type(raw).__name__ in (
        "cached_property",
        "getset_descriptor",
        "member_descriptor",
    ):
        return "property", []
    if isinstance(raw, staticmethod):
        return "staticmethod", candidate_signatures(raw.__func__, False)
    if isinstance(raw, classmethod):
        return "classmethod", candidate_signatures(getattr(cls, name), False)
    if inspect.isclass(raw):
        return "class", []
    if not callable(raw):
        return "attr", []
    sigs = []
    for s in candidate_signatures(raw, False):
        ps = list(s.parameters.values())
        if ps and ps[0].kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
            ps = ps[1:]  # self
        try:
            sigs.append(s.replace(parameters=ps))
        except ValueError:
            pass
    return "method", sigs


def compatible(up_params, sig):
    """'' if sig accepts every call upstream accepts (see module doc), else why."""
    if sig is None:
        return "no signature"
    up = [p for p in up_params if not p.get("deprecated")]
    ours = list(sig.parameters.values())
    o_pos = [p for p in ours if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    o_varpos = any(p.kind == _P.VAR_POSITIONAL for p in ours)
    o_varkw = any(p.kind == _P.VAR_KEYWORD for p in ours)
    o_kw = {p.name for p in ours if p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)}
    u_pos = [p for p in up if p["kind"] in ("positional_only", "positional_or_keyword")]
    u_req = [p for p in u_pos if not p["defaulted"]]
    o_req = [p for p in o_pos if p.default is _EMPTY]
    if len(o_req) != len(u_req):
        return "required positionals: upstream (%s), ours (%s)" % (
            ", ".join(p["name"] for p in u_req),
            ", ".join(p.name for p in o_req),
        )
    for i, u in enumerate(u_pos):
        if i >= len(o_pos):
            if o_varpos:
                break
            return "positional %r (#%d) missing" % (u["name"], i)
        o = o_pos[i]
        if u["kind"] == "positional_or_keyword" and o.name != u["name"]:
            return "positional #%d is %r, upstream %r" % (i, o.name, u["name"])
    for u in up:
        if u["kind"] in ("positional_or_keyword", "keyword_only"):
            if u["name"] not in o_kw and not o_varkw:
                return "keyword %r not accepted" % u["name"]
        elif u["kind"] == "var_positional" and not o_varpos:
            return "*%s not accepted" % u["name"]
        elif u["kind"] == "var_keyword" and not o_varkw:
            return "**%s not accepted" % u["name"]
    up_names = {u["name"] for u in up_params}
    for p in ours:
        if p.kind == _P.KEYWORD_ONLY and p.default is _EMPTY and p.name not in up_names:
            return "ours requires keyword %r" % p.name
    return ""


def best_compat(up_params, sigs):
    why = "no signature"
    for s in sigs:
        if _is_opaque(s) and any(
            p["kind"] in ("positional_only", "positional_or_keyword") and not p["defaulted"]
            for p in up_params
        ):
            why = "opaque (*args, **kwargs) signature"
            continue
        w = compatible(up_params, s)
        if not w:
            return ""
        why = w
    return why


# ---------------------------------------------------------------- resolution
def resolve(root, dotted):
    obj = root
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
            continue
        except AttributeError:
            pass
        except Exception as e:  # pylint: disable=broad-except
            raise LookupError("%s: %s" % (type(e).__name__, e)) from e
        if inspect.ismodule(obj):
            try:
                obj = importlib.import_module(obj.__name__ + "." + part)
                continue
            except ModuleNotFoundError:
                pass
            except BaseException as e:  # pylint: disable=broad-except
                if isinstance(e, KeyboardInterrupt):
                    raise
                raise LookupError(
                    "importing %s.%s failed: %s: %s" % (obj.__name__, part, type(e).__name__, e)
                ) from e
        raise LookupError("no attribute %r" % part)
    return obj


def _defined_by(obj):
    mod = getattr(obj, "__module__", None)
    if not isinstance(mod, str) and not inspect.ismodule(obj):
        mod = getattr(type(obj), "__module__", None)
    if inspect.ismodule(obj):
        mod = obj.__name__
    return mod if isinstance(mod, str) else ""


def _has_attr(cls, name):
    if hasattr(cls, name):
        return True
    for klass in getattr(cls, "__mro__", ()):
        if name in getattr(klass, "__annotations__", {}):
            return True
        try:
            src = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if re.search(r"self\.%s\s*(:[^=\n]*)?=" % re.escape(name), src):
            return True
    return False


def check_entry(root, entry, upstream_name, ours_name):
    """Returns (present: bool, compatible: bool, why: str)."""
    try:
        obj = resolve(root, entry["name"])
    except LookupError as e:
        return False, False, "missing (%s)" % e
    if ours_name != upstream_name:
        mod = _defined_by(obj)
        if mod == upstream_name or mod.startswith(upstream_name + "."):
            return False, False, "re-exported from upstream %s" % mod
    kind = entry["kind"]
    if kind == "namespace":
        return True, True, ""
    if kind in ("class", "function") and not callable(obj):
        return True, False, "not callable"
    if kind == "class" and not inspect.isclass(obj):
        return (
            True,
            False,
            "not a class (upstream is one; users subclass / isinstance it)",
        )
    if entry.get("params") is not None:
        sigs = candidate_signatures(obj, inspect.isclass(obj))
        why = best_compat(entry["params"], sigs)
        if why:
            return True, False, why
    for m in entry.get("methods", []):
        mkind, sigs = method_signature(obj, m["name"])
        if mkind is None:
            return True, False, "method %s missing" % m["name"]
        if m.get("params") is not None:
            if not sigs:
                return True, False, "method %s has no signature" % m["name"]
            why = best_compat(m["params"], sigs)
            if why:
                return True, False, "method %s: %s" % (m["name"], why)
    for a in entry.get("attrs", []):
        if not _has_attr(obj, a):
            return True, False, "attribute %s missing" % a
    return True, True, ""


# ---------------------------------------------------------------- main
def check_package(label, upstream_name, ours_name, entries):
    """Returns dict with counts and problems."""
    res = {
        "label": label,
        "ours": ours_name,
        "total": 0,
        "present": 0,
        "compat": 0,
        "areas": {},
        "problems": [],
        "error": None,
        "deprecated_present": 0,
        "deprecated_total": 0,
        "tiers": {},
    }
    tiers = [
        t.strip()
        for t in os.environ.get("API_TIERS", "core,advanced,experimental").split(",")
        if t.strip()
    ]
    res["skipped_tiers"] = sum(
        1 for e in entries if not e.get("deprecated") and e["tier"] not in tiers
    )
    entries = [e for e in entries if e.get("deprecated") or e["tier"] in tiers]
    counted = [e for e in entries if not e.get("deprecated")]
    res["total"] = len(counted)
    had_upstream = upstream_name in sys.modules
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = importlib.import_module(ours_name)
        if ours_name != upstream_name and not had_upstream and upstream_name in sys.modules:
            res["note"] = "importing %s also imported upstream %r" % (
                ours_name,
                upstream_name,
            )
    except BaseException as e:  # pylint: disable=broad-except
        if isinstance(e, KeyboardInterrupt):
            raise
        res["error"] = "%s: %s" % (
            type(e).__name__,
            str(e).splitlines()[0] if str(e) else "",
        )
        for e2 in counted:
            a = res["areas"].setdefault(e2["area"], [0, 0, 0])
            a[0] += 1
            res["tiers"].setdefault(e2["tier"], [0, 0, 0])[0] += 1
        res["deprecated_total"] = len(entries) - len(counted)
        return res
    res["file"] = getattr(root, "__file__", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in entries:
            present, ok, why = check_entry(root, e, upstream_name, ours_name)
            if e.get("deprecated"):
                res["deprecated_total"] += 1
                res["deprecated_present"] += present
                continue
            for a in (
                res["areas"].setdefault(e["area"], [0, 0, 0]),
                res["tiers"].setdefault(e["tier"], [0, 0, 0]),
            ):
                a[0] += 1
                a[1] += present
                a[2] += ok
            res["present"] += present
            res["compat"] += ok
            if not ok:
                res["problems"].append((e["name"], e["tier"], why, present))
    return res


def main():
    cwd = os.getcwd()
    for rel in (
        "packages/rlax_core",
        "packages/rlax_core/src",
        "packages/haiku_core",
        "packages/haiku_core/src",
    ):
        p = os.path.join(cwd, rel)
        if os.path.isdir(p) and p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    max_missing = int(os.environ.get("API_MISSING_MAX", "30"))
    specs = [
        (
            "haiku_core",
            "haiku",
            os.environ.get("API_OURS_HAIKU", "haiku_core"),
            "api_haiku.json",
            "packages/haiku_core/src, packages/haiku_core",
        ),
        (
            "rlax_core",
            "rlax",
            os.environ.get("API_OURS_RLAX", "rlax_core"),
            "api_rlax.json",
            "packages/rlax_core/src, packages/rlax_core",
        ),
    ]
    results = []
    for label, upstream, ours, fname, where in specs:
        with open(os.path.join(HERE, fname)) as f:
            entries = json.load(f)
        r = check_package(label, upstream, ours, entries)
        results.append(r)
        shown = ours if ours == label else "%s (as %s)" % (ours, label)
        print("== %s vs %s" % (shown, UPSTREAM_VERSIONS[upstream]))
        if r["error"]:
            print(
                "  NOT IMPORTABLE: %s (looked on sys.path incl. %s, relative to %s)"
                % (r["error"], where, "the current directory")
            )
        if r.get("note"):
            print("  note: " + r["note"])
        for area in sorted(r["areas"], key=lambda a: [e["area"] for e in entries].index(a)):
            t, p, c = r["areas"][area]
            print("  %-22s %3d/%-3d present, %3d sig-compatible" % (area, p, t, c))
        tier_line = []
        for t in ("core", "advanced", "experimental"):
            tt = r["tiers"].get(t)
            if tt:
                tier_line.append("%s %d/%d (%d sig-compatible)" % (t, tt[1], tt[0], tt[2]))
        print("  by tier: " + ", ".join(tier_line))
        print(
            "  deprecated names (not counted): %d, present: %d"
            % (r["deprecated_total"], r["deprecated_present"])
        )
        if r["skipped_tiers"]:
            print("  names in tiers outside API_TIERS (not counted): %d" % r["skipped_tiers"])
    tiers = {"core": 0, "advanced": 1, "experimental": 2}
    problems = [(r["label"], n, t, w, p) for r in results for (n, t, w, p) in r["problems"]]
    # present-but-incompatible first, then missing; core before advanced.
    problems.sort(key=lambda x: (not x[4], tiers.get(x[2], 3)))
    if problems:
        n_inc = sum(1 for x in problems if x[4])
        print(
            "missing or incompatible: %d (%d missing, %d present but "
            "incompatible); first %d:"
            % (
                len(problems),
                len(problems) - n_inc,
                n_inc,
                min(max_missing, len(problems)),
            )
        )
        for label, n, t, w, _ in problems[:max_missing]:
            print("  %s.%s [%s]: %s" % (label, n, t, w))
    for r in results:
        if r["error"]:
            print("%s counted 0: not importable (%s)" % (r["label"], r["error"]))
    ok = all(
        not r["error"] and r["present"] == r["total"] and r["compat"] == r["total"] for r in results
    )
    print(
        "api coverage: "
        + ", ".join(
            "%s %d/%d (%d sig-compatible)" % (r["label"], r["present"], r["total"], r["compat"])
            for r in results
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
