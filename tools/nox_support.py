"""Helpers behind the nox sessions: wheels, test venvs, pytest runs, version pins.

``noxfile.py`` stays a readable list of sessions; everything with logic lives here. Nothing in
this module is published: it is repository tooling.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("haiku_core", "rlax_core")
DIST = ROOT / "dist"
SHARED_TESTING = ROOT / "shared_testing"
EXAMPLES = ROOT / "examples"
MULTIDEVICE_XLA_FLAGS = "--xla_force_host_platform_device_count=8"
# API reference lists (facts about upstream's public API) and the checker that reads them.
API_DIR = ROOT / "tools" / "api"

# Tool versions pinned so lint/typecheck agree between laptops and CI.
RUFF = "ruff==0.17.6"
PYRIGHT = "pyright==1.1.414"
# Upstream versions the compat session compares against.
COMPAT_PINS = ["jax==0.10.2", "jaxlib==0.10.2", "dm-haiku==0.0.17", "rlax==0.1.9"]
# What upstream's own test files import beyond their runtime dependencies (compat only).
UPSTREAM_TEST_DEPS = ["absl-py", "cloudpickle", "dill", "dm-env", "scipy"]
# upstream package whose shipped test files run against each of ours
UPSTREAM_OF = {"haiku_core": "haiku", "rlax_core": "rlax"}
# Installed into the bench venv only (never package dependencies); versions measured together.
BENCH_PEERS = ["flax==0.12.8", "equinox==0.13.8", "optax"]
# Example-only dependencies (never package dependencies).
EXAMPLE_DEPS = [
    "optax",
    "scikit-learn",
    "gymnasium",
    "matplotlib",
    "tqdm",
    "rich",
    "orbax-checkpoint",
]

# Python versions for which jaxlib publishes wheels, for the jaxlib floors we declare.
# (From PyPI; extend when a floor moves.)
JAXLIB_PYTHONS = {
    "0.4.36": ((3, 10), (3, 13)),
    "0.5.0": ((3, 10), (3, 13)),
    "0.5.3": ((3, 10), (3, 13)),
    "0.6.0": ((3, 10), (3, 13)),
    "0.6.1": ((3, 10), (3, 13)),
    "0.6.2": ((3, 11), (3, 13)),
    "0.7.0": ((3, 11), (3, 13)),
}


# --------------------------------------------------------------------------- metadata


def pyproject(package: str) -> dict:
    with open(ROOT / "packages" / package / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def dist_name(package: str) -> str:
    return pyproject(package)["project"]["name"]


def version(package: str) -> str:
    text = (ROOT / "packages" / package / "src" / package / "_version.py").read_text()
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no __version__ in packages/{package}/src/{package}/_version.py")
    return match.group(1)


def test_deps(package: str) -> list[str]:
    groups = pyproject(package).get("dependency-groups", {})
    return [d for d in groups.get("test", []) if isinstance(d, str)]


def jax_requirement(package: str) -> str:
    """The package's declared ``jax`` requirement, e.g. ``jax>=0.6.1,<0.13``."""
    for req in pyproject(package)["project"]["dependencies"]:
        if re.match(r"^\s*jax\s*[<>=!~]", req):
            return req.strip()
    raise RuntimeError(f"packages/{package}/pyproject.toml declares no jax requirement")


def floor_pins(package: str) -> dict[str, str]:
    """Lowest allowed versions from the package's ``name>=X`` runtime requirements."""
    pins = {}
    for req in pyproject(package)["project"]["dependencies"]:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^]]*\])?\s*>=\s*([0-9][^,;\s]*)", req)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def upper_bound(requirement: str) -> str | None:
    """The exclusive ``<X`` cap of a requirement string, if any."""
    match = re.search(r"<\s*([0-9][^,;\s]*)", requirement)
    return match.group(1) if match else None


def released_versions(project: str) -> list[str]:
    """Final releases of ``project`` on the package index (PyPI JSON API), oldest first."""
    index = os.environ.get("NOX_PYPI_JSON", "https://pypi.org/pypi")
    with urllib.request.urlopen(f"{index}/{project}/json", timeout=30) as response:
        data = json.load(response)
    versions = [v for v, files in data["releases"].items() if files and re.fullmatch(r"[\d.]+", v)]
    return sorted(versions, key=_version_key)


# --------------------------------------------------------------------------- wheels


def uses_uv(session: nox.Session) -> bool:
    return session.venv_backend == "uv"


def build_wheel(session: nox.Session, package: str, outdir: Path) -> Path:
    """Builds packages/<package> into a wheel in ``outdir`` and returns its path."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob(f"{package}-*.whl"):
        old.unlink()
    src = str(ROOT / "packages" / package)
    if uses_uv(session):
        session.run("uv", "build", "--wheel", "--out-dir", str(outdir), src, external=True)
    else:
        session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(outdir), src)
    wheels = sorted(outdir.glob(f"{package}-*.whl"))
    if len(wheels) != 1:
        session.error(f"expected one {package} wheel in {outdir}, found {wheels}")
    return wheels[0]


def install_wheel(session: nox.Session, wheel: Path, package: str, *extra: str) -> None:
    """Installs ``wheel`` non-editable, forcing a reinstall of the package itself."""
    if uses_uv(session):
        session.install("--reinstall-package", dist_name(package), str(wheel), *extra)
    else:
        session.install(str(wheel), *extra)
        session.install("--force-reinstall", "--no-deps", str(wheel))


def install_built_packages(session: nox.Session, *extra: str) -> None:
    """Both packages as freshly built wheels (non-editable), plus ``extra`` requirements."""
    tmp = Path(session.create_tmp()).resolve() / "wheel"
    wheels = [build_wheel(session, package, tmp) for package in PACKAGES]
    session.install(*map(str, wheels), *extra)


def install_test_env(
    session: nox.Session, package: str, *pins: str, wheel_deps: bool = True
) -> None:
    """Installs the package's wheel (built here, or from $NOX_WHEEL_DIR) and test deps."""
    wheel_dir = os.environ.get("NOX_WHEEL_DIR")
    if wheel_dir:
        # Release pipelines test the exact wheel they are about to publish.
        found = sorted(Path(wheel_dir).resolve().glob(f"{package}-*-py3-none-any.whl"))
        if len(found) != 1:
            session.error(f"NOX_WHEEL_DIR={wheel_dir}: expected one {package} wheel, got {found}")
        wheel = found[0]
    else:
        wheel = build_wheel(session, package, Path(session.create_tmp()).resolve() / "wheel")
    if wheel_deps:
        install_wheel(session, wheel, package, *pins)
    else:  # probing versions outside the declared range
        session.install(*pins)
        install_wheel(session, wheel, package, "--no-deps")
    session.install("-e", str(SHARED_TESTING), *test_deps(package), *pins)


def check_installed_copy(session: nox.Session, package: str) -> None:
    """Fails unless the venv imports the installed wheel (not the checkout's src/)."""
    code = (
        f"import {package}, pathlib, sys; f = pathlib.Path({package}.__file__).resolve(); "
        f"print('{package}', {package}.__version__, 'from', f); "
        "sys.exit(0 if 'site-packages' in f.parts else "
        f"'{package} imported from ' + str(f) + ', expected the installed wheel')"
    )
    session.run("python", "-c", code, silent=False)


def python_version(session: nox.Session) -> tuple[int, int]:
    out = session.run("python", "-c", "import sys; print(*sys.version_info[:2])", silent=True)
    major, minor = str(out).split()
    return int(major), int(minor)


# --------------------------------------------------------------------------- posargs / env


def split_posargs(session: nox.Session) -> tuple[list[str], list[str]]:
    """Splits posargs into (package names, remaining pytest args)."""
    selected = [a for a in session.posargs if a in PACKAGES]
    rest = [a for a in session.posargs if a not in PACKAGES]
    return selected, rest


def skip_unselected(session: nox.Session, package: str) -> list[str]:
    selected, rest = split_posargs(session)
    if selected and package not in selected:
        session.skip(f"{package} not selected (posargs select {', '.join(selected)})")
    return rest


def drop_worker_args(args: list[str]) -> list[str]:
    """``args`` without pytest-xdist's worker options."""
    out: list[str] = []
    skip_next = False
    for a in args:
        if skip_next:
            skip_next = False
            continue
        if a in ("-n", "--numprocesses", "--dist"):
            skip_next = True
            continue
        if a.startswith(("-n=", "--numprocesses=", "--dist=")) or re.fullmatch(r"-n\d+", a):
            continue
        out.append(a)
    return out


def base_test_env(platform: str) -> dict[str, str]:
    return {
        "JAX_PLATFORMS": platform,
        "JAX_NUMPY_RANK_PROMOTION": "raise",
        "HYPOTHESIS_PROFILE": "ci",
        "PYTHONHASHSEED": "0",
    }


def workers() -> list[str]:
    return ["-n", os.environ.get("NOX_PYTEST_WORKERS", "2")]


# --------------------------------------------------------------------------- pytest runs


def run_suites(
    session: nox.Session,
    package: str,
    pytest_args: list[str],
    env: dict[str, str],
    *,
    multidevice: bool = True,
    tests_subdir: str = "tests",
    allow_empty: bool = False,
) -> None:
    """Runs packages/<package>/<tests_subdir> from a scratch dir, then its multidevice run."""
    tests_dir = ROOT / "packages" / package / tests_subdir
    scratch = Path(session.create_tmp()).resolve() / f"run-{package}"
    scratch.mkdir(parents=True, exist_ok=True)
    session.chdir(scratch)
    check_installed_copy(session, package)
    if not any(a == "-n" or a.startswith(("-n=", "--numprocesses")) for a in pytest_args):
        pytest_args = [*workers(), *pytest_args]
    common = [
        str(tests_dir),
        "--rootdir",
        str(tests_dir.parent),
        "-p",
        "no:cacheprovider",
    ]
    session.run(
        "python",
        "-m",
        "pytest",
        *common,
        "-m",
        "not multidevice",
        *pytest_args,
        env=env,
        success_codes=[0, 5] if allow_empty else [0],
    )
    if not multidevice:
        return
    if not any("multidevice" in p.read_text() for p in tests_dir.rglob("*.py")):
        session.log(f"no multidevice tests in {tests_dir}: skipping the 8-device run")
        return
    # Device count is process-global: a separate invocation, without xdist (few tests);
    # exit code 5 (nothing collected) is fine.
    session.run(
        "python",
        "-m",
        "pytest",
        *common,
        "-m",
        "multidevice",
        "-p",
        "no:xdist",
        *drop_worker_args(pytest_args),
        env={**env, "XLA_FLAGS": MULTIDEVICE_XLA_FLAGS},
        success_codes=[0, 5],
    )


def run_shared_testing_suite(session: nox.Session) -> None:
    """shared_testing's own tests: the main run, then the 8-device run."""
    tests_dir = SHARED_TESTING / "tests"
    common = [
        str(tests_dir),
        "--rootdir",
        str(SHARED_TESTING),
        "-p",
        "no:cacheprovider",
    ]
    with session.chdir(Path(session.create_tmp()).resolve()):
        args = session.posargs or workers()
        session.run(
            "python",
            "-m",
            "pytest",
            *common,
            "-m",
            "not multidevice",
            *args,
            env=base_test_env("cpu"),
        )
        session.run(
            "python",
            "-m",
            "pytest",
            *common,
            "-p",
            "no:xdist",
            "-m",
            "multidevice",
            env={**base_test_env("cpu"), "XLA_FLAGS": MULTIDEVICE_XLA_FLAGS},
        )


# --------------------------------------------------------------------------- GPU


def require_gpu(session: nox.Session) -> None:
    """Stops the session at once when no NVIDIA GPU is visible."""
    smi = shutil.which("nvidia-smi")
    probe = (
        subprocess.run([smi, "-L"], capture_output=True, text=True, check=False) if smi else None
    )
    if probe is None or probe.returncode != 0 or "GPU" not in probe.stdout:
        detail = "nvidia-smi not found" if probe is None else (probe.stderr or probe.stdout)
        session.error(
            "tests_cuda: no NVIDIA GPU visible on this machine "
            f"({detail.strip()}); run this session on a GPU host (CPU tests: nox -s tests)"
        )


def check_jax_sees_gpu(session: nox.Session, env: dict[str, str]) -> None:
    session.run(
        "python",
        "-c",
        "import jax, sys; d = jax.devices(); print('jax', jax.__version__, d); "
        "sys.exit(0 if d and d[0].platform == 'gpu' else 'tests_cuda: jax sees no GPU')",
        env=env,
    )


# --------------------------------------------------------------------------- newest jax


def newest_allowed_jax(session: nox.Session, package: str) -> str:
    """Newest released jax inside ``package``'s declared range; errors if a newer one exists.

    A jax release above the declared cap means the cap must be raised on purpose (after this
    lane passes against it), so the session fails loudly instead of testing an old jax.
    """
    requirement = jax_requirement(package)
    cap = upper_bound(requirement)
    try:
        versions = released_versions("jax")
    except OSError as exc:
        session.error(f"tests_latest: cannot read jax's releases from the index: {exc}")
    allowed = [v for v in versions if cap is None or _version_key(v) < _version_key(cap)]
    if not allowed:
        session.error(f"tests_latest: no released jax satisfies {requirement!r}")
    above = [v for v in versions if cap is not None and _version_key(v) >= _version_key(cap)]
    if above:
        session.error(
            f"tests_latest: jax {above[-1]} is released but packages/{package} declares "
            f"{requirement!r}; test against it and raise the cap on purpose"
        )
    session.log(f"tests_latest: newest jax allowed by {requirement!r} is {allowed[-1]}")
    return allowed[-1]


# --------------------------------------------------------------------------- build


# Run inside a fresh venv holding one wheel (+ its declared deps) and nothing else.
_ALONE_CHECK = """\
import importlib.metadata as md
import importlib.util

import {package}

meta = md.metadata("{dist}")
print("{wheel}: import {package} ->", {package}.__version__, "from", {package}.__file__)
print("  metadata:", meta["Name"], meta["Version"], "| requires:", md.requires("{dist}"))
print("  summary:", meta["Summary"])
assert {package}.__version__ == meta["Version"], "__version__ != wheel metadata version"
assert importlib.util.find_spec("{other}") is None, "{other} is installed in this venv"
assert importlib.util.find_spec("shared_testing") is None, "shared_testing is installed"
"""

NO_UV_OVERRIDES: dict[str, str | None] = {
    "UV_PYTHON": None,
    "UV_PROJECT_ENVIRONMENT": None,
}


def hatch_build(session: nox.Session, package: str) -> Path:
    """``hatch build`` of one package into dist/; returns its wheel."""
    for old in list(DIST.glob(f"{package}-*")):
        old.unlink()
    session.chdir(ROOT / "packages" / package)
    # nox exports UV_PYTHON=<this venv>; unset it so hatch's own uv-managed build
    # environment gets hatchling installed into itself.
    session.run("hatch", "build", str(DIST), env=NO_UV_OVERRIDES)
    hatch_version = session.run("hatch", "version", silent=True, env=NO_UV_OVERRIDES)
    hatch_version = str(hatch_version).strip().splitlines()[-1]
    if hatch_version != version(package):
        session.error(f"hatch version {hatch_version} != _version.py {version(package)}")
    wheel = DIST / f"{package}-{hatch_version}-py3-none-any.whl"
    if not wheel.exists():
        session.error(f"build: expected {wheel.name} in dist/, found {os.listdir(DIST)}")
    return wheel


def check_project_urls(session: nox.Session) -> None:
    """Both packages' ``project.urls`` name the same monorepo and their own folder in it."""
    urls = {package: pyproject(package)["project"].get("urls", {}) for package in PACKAGES}
    homes = {package: u.get("Homepage") for package, u in urls.items()}
    if len(set(homes.values())) != 1 or None in homes.values():
        session.error(f"build: project.urls.Homepage differs between packages: {homes}")
    home = next(iter(homes.values()))
    for package, u in urls.items():
        for key, value in u.items():
            if "github.com" in value and not value.startswith(home):
                session.error(f"build: {package} project.urls.{key}={value} is outside {home}")
        if not u.get("Source", "").endswith(f"/packages/{package}"):
            session.error(f"build: {package} project.urls.Source must end in /packages/{package}")


def check_wheel_contents(session: nox.Session, package: str, wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    bad = [n for n in names if not n.startswith((f"{package}/", f"{package}-"))]
    test_like = r"(^|/)(tests?|tests_compat)/|(^|/)conftest\.py$|shared_testing"
    bad += [n for n in names if re.search(test_like, n)]
    if bad:
        session.error(f"build: {wheel.name} contains unexpected files: {bad}")
    if f"{package}/py.typed" not in names:
        session.error(f"build: {wheel.name} lacks {package}/py.typed")
    session.log(f"{wheel.name}: {len(names)} files, no tests, no shared_testing")


def check_wheel_alone(session: nox.Session, package: str, wheel: Path) -> None:
    """Installs ``wheel`` alone (plus its declared deps) into a fresh venv and imports it."""
    tmp = Path(session.create_tmp()).resolve()
    venv = tmp / f"alone-{package}"
    if venv.exists():
        shutil.rmtree(venv)
    if shutil.which("uv"):
        session.run("uv", "venv", "-q", "--python", sys.executable, str(venv), external=True)
        py = str(venv / "bin" / "python")
        session.run("uv", "pip", "install", "-q", "--python", py, str(wheel), external=True)
    else:
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
        py = str(venv / "bin" / "python")
        session.run(py, "-m", "pip", "install", "-q", str(wheel), external=True)
    other = next(p for p in PACKAGES if p != package)
    check = tmp / f"check_{package}.py"
    check.write_text(
        _ALONE_CHECK.format(package=package, dist=dist_name(package), other=other, wheel=wheel.name)
    )
    with session.chdir(tmp):
        session.run(py, str(check), external=True, env={"JAX_PLATFORMS": "cpu"})


def lint_targets() -> list[str]:
    targets = ["packages", "shared_testing", "noxfile.py", "tools"]
    targets += [d for d in ("examples", "benchmarks", "docs") if (ROOT / d).is_dir()]
    return targets


# --------------------------------------------------------------------------- upstream suites


def run_upstream_suite(
    session: nox.Session, package: str, pytest_args: list[str], env: dict[str, str]
) -> None:
    """Runs upstream's own ``*_test.py`` files, in place from its wheel, against ``package``.

    ``shared_testing.upstream_suite`` aliases ``import haiku`` / ``import rlax`` to our
    package. The session fails when a test fails on behaviour and is not listed, with its
    reason, in ``packages/<package>/tests_compat/upstream_known.txt``.
    """
    upstream = UPSTREAM_OF[package]
    files = session.run(
        "python",
        "-c",
        "from shared_testing.upstream_suite import upstream_test_files as f; "
        f"print(*f({upstream!r}), sep=chr(10))",
        silent=True,
    )
    scratch = Path(session.create_tmp()).resolve() / f"upstream-{upstream}"
    scratch.mkdir(parents=True, exist_ok=True)
    report = scratch / "report.json"
    baseline = scratch / "baseline.json"
    session.chdir(scratch)
    if upstream == "rlax":
        # pop_art_test asks chex for 4 CPU devices; that only works if XLA starts with 4.
        env = {**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    n = workers() if drop_worker_args(pytest_args) == pytest_args else []
    common = ["-p", "shared_testing.upstream_suite", f"--upstream={upstream}"]
    common += ["-p", "no:cacheprovider", "-q", "--continue-on-collection-errors"]
    common += [*n, *pytest_args]
    session.run(
        "python",
        "-m",
        "pytest",
        *common,
        f"--upstream-report={report}",
        *str(files).split(),
        env=env,
        success_codes=[0, 1],  # failures are judged by the summary below
    )
    # The tests that failed against ours run again against upstream itself: what fails
    # there too (optional dependencies, data files the wheel does not ship) is environment.
    failed_ids = _failed_test_ids(report)
    if failed_ids:
        session.run(
            "python",
            "-m",
            "pytest",
            *common,
            "--upstream-native",
            f"--upstream-report={baseline}",
            *failed_ids,
            env=env,
            success_codes=[0, 1],
        )
    else:
        baseline.write_text("{}")
    known = ROOT / "packages" / package / "tests_compat" / "upstream_known.txt"
    session.run(
        "python",
        "-m",
        "shared_testing.upstream_suite",
        str(report),
        str(known),
        str(baseline),
    )


def _failed_test_ids(report: Path) -> list[str]:
    data = json.loads(report.read_text())
    ids = {
        name
        for kinds in data.values()
        for kind, names in kinds.items()
        if kind not in ("passed", "skipped") and not kind.startswith("collection")
        for name in names
    }
    return sorted(i for i in ids if "::" in i)


# --------------------------------------------------------------------------- interpreters


def expose_pyenv_interpreters() -> None:
    """Lets pyenv's shims answer ``python3.12`` / ``python3.13`` for nox's version lookup.

    With one pyenv version selected, the shim for another minor version exits with
    "command not found" although that interpreter is installed (and uv then tries to
    download one). Appending every installed CPython to ``PYENV_VERSION`` (the selected
    versions stay first) makes each ``pythonX.Y`` shim resolve. Does nothing without pyenv.
    """
    if shutil.which("pyenv") is None:
        return
    try:
        installed = subprocess.run(
            ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=True
        ).stdout.split()
        current = (
            os.environ.get("PYENV_VERSION")
            or subprocess.run(
                ["pyenv", "version-name"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        return
    selected = [v for v in current.split(":") if v]
    extra = [v for v in installed if re.fullmatch(r"3\.\d+\.\d+", v) and v not in selected]
    if extra:
        os.environ["PYENV_VERSION"] = ":".join([*selected, *extra])


# --------------------------------------------------------------------------- typecheck

# Projects pyright checks (each has its own [tool.pyright] in its pyproject.toml).
PYRIGHT_PROJECTS = (*(f"packages/{p}" for p in PACKAGES), "shared_testing")
# Lowest accepted `pyright --verifytypes <package> --ignoreexternal` completeness score. Both
# reached 100%; the floor stays there so a public name without types fails the session.
TYPE_COMPLETENESS_TARGETS = {"haiku_core": 1.0, "rlax_core": 1.0}


def install_typecheck_env(session: nox.Session) -> None:
    """pyright, both packages as built wheels (non-editable) and shared_testing.

    ``--verifytypes`` only sees a package installed as a regular (non-editable) copy with its
    ``py.typed``; an editable install leaves it with "0 symbols".
    """
    session.install(PYRIGHT)
    install_built_packages(session)
    # absl-py: an optional import of shared_testing.upstream_suite, resolved for pyright.
    session.install("-e", str(SHARED_TESTING), "absl-py")


def run_pyright_projects(session: nox.Session) -> list[str]:
    """Runs pyright on every project; returns the projects that reported errors."""
    python = session.run("python", "-c", "import sys; print(sys.executable)", silent=True)
    python = str(python).strip()
    failed = []
    for project in PYRIGHT_PROJECTS:
        try:
            session.run("pyright", "--pythonpath", python, "-p", project)
        except CommandFailed:
            failed.append(project)
    return failed


def parse_type_completeness(report: dict) -> tuple[float, int, int, int]:
    """``(score, known, ambiguous, unknown)`` from ``pyright --verifytypes --outputjson``."""
    completeness = report["typeCompleteness"]
    counts = completeness["exportedSymbolCounts"]
    return (
        float(completeness["completenessScore"]),
        int(counts["withKnownType"]),
        int(counts["withAmbiguousType"]),
        int(counts["withUnknownType"]),
    )


def check_type_completeness(session: nox.Session) -> list[str]:
    """Prints each package's type-completeness figure; returns the packages below target.

    A package pyright cannot find (0 exported symbols, e.g. an editable install) counts as
    below target, so the figure printed is always a real one.
    """
    below = []
    for package in PACKAGES:
        target = TYPE_COMPLETENESS_TARGETS[package]
        # Exit status 1 only says "not 100%"; the JSON report is the verdict.
        out = session.run(
            "pyright",
            "--verifytypes",
            package,
            "--ignoreexternal",
            "--outputjson",
            silent=True,
            success_codes=[0, 1],
        )
        try:
            text = str(out)
            # pyright's own start-up notes (node download, ...) may precede the JSON.
            report = json.loads(text[text.index("{") : text.rindex("}") + 1])
            score, known, ambiguous, unknown = parse_type_completeness(report)
        except (ValueError, KeyError) as e:
            session.log(f"type completeness {package}: unreadable pyright report ({e})")
            below.append(package)
            continue
        total = known + ambiguous + unknown
        session.log(
            f"type completeness {package}: {score:.1%} ({known} known, {ambiguous} ambiguous, "
            f"{unknown} unknown of {total} exported symbols; target {target:.0%})"
        )
        if total == 0 or score < target:
            if total == 0:
                session.log(f"type completeness {package}: pyright found no installed package")
            else:
                # The human-readable listing names each symbol that is not fully typed.
                session.run(
                    "pyright", "--verifytypes", package, "--ignoreexternal", success_codes=[0, 1]
                )
            below.append(package)
    return below
