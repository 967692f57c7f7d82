"""nox sessions for the haiku-core / rlax-core monorepo.

Quick reference (run from the repository root)::

    nox -s tests                           # both packages, jax CPU wheel, one venv each
    nox -s "tests(package='rlax_core')"    # one package (parametrized session name)
    nox -s tests -- rlax_core              # same, selected through posargs
    nox -s tests -- haiku_core -k linear -n 0   # extra posargs go to pytest
    nox -s tests_shared                    # shared_testing's own tests
    nox -s tests_cuda                      # jax[cuda12] wheel, JAX_PLATFORMS=cuda (needs a GPU)
    nox -s tests_floor                     # lowest declared jax / numpy
    nox -s build                           # wheels + sdists into dist/, install each alone
    nox -s lint                            # ruff check + ruff format --check
    nox -s typecheck                       # pyright (informative; not part of .ci/run)
    nox -s api                             # API coverage figure vs dm-haiku / rlax
    nox -s compat                          # opt-in: side by side with upstream dm-haiku / rlax
    nox -s bench                           # benchmarks vs upstream and peers

Every test session installs the package under test as a *built wheel* (never editable)
into a venv that holds only that package, its runtime dependencies, ``shared_testing``
(editable) and the test tools from the package's ``[dependency-groups] test``, then runs
pytest from a scratch directory so the installed copy is imported, not ``src/``.

Environment knobs:
  ``NOX_PYTEST_WORKERS``  pytest-xdist workers (default ``2``; ``-n`` in posargs overrides).
  ``NOX_CUDA_EXTRA``      jax extra for tests_cuda (default ``cuda12``; e.g. ``cuda13``).
  ``NOX_FLOOR_JAX``       tests_floor: probe another jax/jaxlib than the declared floor.
  ``NOX_WHEEL_DIR``       test sessions install the wheel found there instead of building
                          one (release pipelines test exactly what they publish).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).resolve().parent
PACKAGES = ("haiku_core", "rlax_core")
DIST = ROOT / "dist"
SHARED_TESTING = ROOT / "shared_testing"
MULTIDEVICE_XLA_FLAGS = "--xla_force_host_platform_device_count=8"
# The API reference lists live next to the project, not inside it.
API_COVERAGE_SCRIPT = (ROOT / ".." / "shared" / "api" / "api_coverage.py").resolve()
# Tool versions pinned so lint/typecheck agree between laptops and CI.
RUFF = "ruff==0.17.6"
PYRIGHT = "pyright==1.1.414"
# Upstream versions the compat session compares against.
COMPAT_PINS = ["jax==0.10.2", "jaxlib==0.10.2", "dm-haiku==0.0.17", "rlax==0.1.9"]
# What upstream's own test files import beyond their runtime dependencies (compat only).
UPSTREAM_TEST_DEPS = ["absl-py", "cloudpickle", "dill", "dm-env", "scipy"]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "tests_shared", "build", "lint"]
nox.options.reuse_existing_virtualenvs = True


# --------------------------------------------------------------------------- helpers


def _pyproject(package: str) -> dict:
    with open(ROOT / "packages" / package / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _dist_name(package: str) -> str:
    return _pyproject(package)["project"]["name"]


def _version(package: str) -> str:
    text = (ROOT / "packages" / package / "src" / package / "_version.py").read_text()
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if match is None:
        raise RuntimeError(
            f"no __version__ in packages/{package}/src/{package}/_version.py"
        )
    return match.group(1)


def _test_deps(package: str) -> list[str]:
    groups = _pyproject(package).get("dependency-groups", {})
    return [d for d in groups.get("test", []) if isinstance(d, str)]


def _uses_uv(session: nox.Session) -> bool:
    return session.venv_backend == "uv"


def _build_wheel(session: nox.Session, package: str, outdir: Path) -> Path:
    """Builds packages/<package> into a wheel in ``outdir`` and returns its path."""
    outdir.mkdir(parents=True, exist_ok=True)
    for old in outdir.glob(f"{package}-*.whl"):
        old.unlink()
    src = str(ROOT / "packages" / package)
    if _uses_uv(session):
        session.run(
            "uv", "build", "--wheel", "--out-dir", str(outdir), src, external=True
        )
    else:
        session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(outdir), src)
    wheels = sorted(outdir.glob(f"{package}-*.whl"))
    if len(wheels) != 1:
        session.error(f"expected one {package} wheel in {outdir}, found {wheels}")
    return wheels[0]


def _install_wheel(
    session: nox.Session, wheel: Path, package: str, *extra: str
) -> None:
    """Installs ``wheel`` non-editable, forcing a reinstall of the package itself."""
    if _uses_uv(session):
        session.install("--reinstall-package", _dist_name(package), str(wheel), *extra)
    else:
        session.install(str(wheel), *extra)
        session.install("--force-reinstall", "--no-deps", str(wheel))


def _split_posargs(session: nox.Session) -> tuple[list[str], list[str]]:
    """Splits posargs into (package names, remaining pytest args)."""
    selected = [a for a in session.posargs if a in PACKAGES]
    rest = [a for a in session.posargs if a not in PACKAGES]
    return selected, rest


def _skip_unselected(session: nox.Session, package: str) -> list[str]:
    selected, rest = _split_posargs(session)
    if selected and package not in selected:
        session.skip(f"{package} not selected (posargs select {', '.join(selected)})")
    return rest


def _check_installed_copy(session: nox.Session, package: str) -> None:
    """Fails unless the venv imports the installed wheel (not the checkout's src/)."""
    code = (
        f"import {package}, pathlib, sys; f = pathlib.Path({package}.__file__).resolve(); "
        f"print('{package}', {package}.__version__, 'from', f); "
        "sys.exit(0 if 'site-packages' in f.parts else "
        f"'{package} imported from ' + str(f) + ', expected the installed wheel')"
    )
    session.run("python", "-c", code, silent=False)


def _run_suites(
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
    _check_installed_copy(session, package)
    if not any(
        a == "-n" or a.startswith(("-n=", "--numprocesses")) for a in pytest_args
    ):
        pytest_args = ["-n", os.environ.get("NOX_PYTEST_WORKERS", "2"), *pytest_args]
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
    serial_args = _drop_worker_args(pytest_args)
    session.run(
        "python",
        "-m",
        "pytest",
        *common,
        "-m",
        "multidevice",
        "-p",
        "no:xdist",
        *serial_args,
        env={**env, "XLA_FLAGS": MULTIDEVICE_XLA_FLAGS},
        success_codes=[0, 5],
    )


def _drop_worker_args(args: list[str]) -> list[str]:
    out: list[str] = []
    skip_next = False
    for a in args:
        if skip_next:
            skip_next = False
            continue
        if a in ("-n", "--numprocesses", "--dist"):
            skip_next = True
            continue
        if a.startswith(("-n=", "--numprocesses=", "--dist=")) or re.fullmatch(
            r"-n\d+", a
        ):
            continue
        out.append(a)
    return out


def _base_test_env(platform: str) -> dict[str, str]:
    return {
        "JAX_PLATFORMS": platform,
        "JAX_NUMPY_RANK_PROMOTION": "raise",
        "HYPOTHESIS_PROFILE": "ci",
        "PYTHONHASHSEED": "0",
    }


def _install_test_env(
    session: nox.Session, package: str, *pins: str, wheel_deps: bool = True
) -> None:
    """Installs the package's wheel (built here, or from $NOX_WHEEL_DIR) and test deps."""
    wheel_dir = os.environ.get("NOX_WHEEL_DIR")
    if wheel_dir:
        # Release pipelines test the exact wheel they are about to publish.
        found = sorted(Path(wheel_dir).resolve().glob(f"{package}-*-py3-none-any.whl"))
        if len(found) != 1:
            session.error(
                f"NOX_WHEEL_DIR={wheel_dir}: expected one {package} wheel, got {found}"
            )
        wheel = found[0]
    else:
        tmp = Path(session.create_tmp()).resolve()
        wheel = _build_wheel(session, package, tmp / "wheel")
    if wheel_deps:
        _install_wheel(session, wheel, package, *pins)
    else:  # probing versions outside the declared range
        session.install(*pins)
        _install_wheel(session, wheel, package, "--no-deps")
    session.install("-e", str(SHARED_TESTING), *_test_deps(package), *pins)


# --------------------------------------------------------------------------- tests


@nox.session
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Test one package (installed wheel, jax CPU) in its own venv."""
    pytest_args = _skip_unselected(session, package)
    _install_test_env(session, package)
    _run_suites(session, package, pytest_args, _base_test_env("cpu"))


@nox.session
@nox.parametrize("package", PACKAGES)
def tests_cuda(session: nox.Session, package: str) -> None:
    """Test one package against the jax CUDA wheel (``jax[cuda12]``) with JAX_PLATFORMS=cuda."""
    pytest_args = _skip_unselected(session, package)
    smi = shutil.which("nvidia-smi")
    probe = (
        subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
        if smi
        else None
    )
    if probe is None or probe.returncode != 0 or "GPU" not in probe.stdout:
        detail = (
            "nvidia-smi not found" if probe is None else (probe.stderr or probe.stdout)
        )
        session.error(
            "tests_cuda: no NVIDIA GPU visible on this machine "
            f"({detail.strip()}); run this session on a GPU host (CPU tests: nox -s tests)"
        )
    extra = os.environ.get("NOX_CUDA_EXTRA", "cuda12")
    session.install(f"jax[{extra}]")
    _install_test_env(session, package)
    env = {**_base_test_env("cuda"), "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    session.run(
        "python",
        "-c",
        "import jax, sys; d = jax.devices(); print('jax', jax.__version__, d); "
        "sys.exit(0 if d and d[0].platform == 'gpu' else 'tests_cuda: jax sees no GPU')",
        env=env,
    )
    # Multidevice tests fake CPU devices; they belong to the CPU run.
    _run_suites(session, package, pytest_args, env, multidevice=False)


@nox.session
def tests_shared(session: nox.Session) -> None:
    """shared_testing's own tests (each assertion fails with the right message)."""
    session.install("-e", str(SHARED_TESTING), "pytest-xdist>=3")
    tests_dir = SHARED_TESTING / "tests"
    with session.chdir(Path(session.create_tmp()).resolve()):
        args = session.posargs or ["-n", os.environ.get("NOX_PYTEST_WORKERS", "2")]
        session.run(
            "python",
            "-m",
            "pytest",
            str(tests_dir),
            "--rootdir",
            str(SHARED_TESTING),
            "-p",
            "no:cacheprovider",
            "-m",
            "not multidevice",
            *args,
            env=_base_test_env("cpu"),
        )
        session.run(
            "python",
            "-m",
            "pytest",
            str(tests_dir),
            "--rootdir",
            str(SHARED_TESTING),
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-m",
            "multidevice",
            env={**_base_test_env("cpu"), "XLA_FLAGS": MULTIDEVICE_XLA_FLAGS},
        )


def _floor_pins(package: str) -> dict[str, str]:
    """Lowest allowed versions from the package's ``name>=X`` runtime requirements."""
    pins = {}
    for req in _pyproject(package)["project"]["dependencies"]:
        match = re.match(
            r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^]]*\])?\s*>=\s*([0-9][^,;\s]*)", req
        )
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


# Python versions for which jaxlib publishes wheels, for the jaxlib floors we declare.
# (From PyPI; extend when a floor moves.)
_JAXLIB_PYTHONS = {
    "0.4.36": ((3, 10), (3, 13)),
    "0.5.0": ((3, 10), (3, 13)),
    "0.5.3": ((3, 10), (3, 13)),
    "0.6.0": ((3, 10), (3, 13)),
    "0.6.1": ((3, 10), (3, 13)),
    "0.6.2": ((3, 11), (3, 13)),
    "0.7.0": ((3, 11), (3, 13)),
}


@nox.session
@nox.parametrize("package", PACKAGES)
def tests_floor(session: nox.Session, package: str) -> None:
    """Test one package against the lowest jax / numpy it declares (proves the floor)."""
    pytest_args = _skip_unselected(session, package)
    pins = _floor_pins(package)
    if "jax" not in pins:
        session.error(
            f"tests_floor: no 'jax>=' floor in packages/{package}/pyproject.toml"
        )
    # NOX_FLOOR_JAX=<version> tries another jax/jaxlib (to probe where the floor really is).
    jax_floor = os.environ.get("NOX_FLOOR_JAX", pins["jax"])
    py = tuple(
        int(x)
        for x in session.run(
            "python", "-c", "import sys; print(*sys.version_info[:2])", silent=True
        ).split()
    )
    lo, hi = _JAXLIB_PYTHONS.get(jax_floor, ((3, 11), (3, 99)))
    if not lo <= py <= hi:
        session.skip(
            f"tests_floor: jax=={jax_floor} has no wheels for Python {py[0]}.{py[1]} "
            f"(supports {lo[0]}.{lo[1]}-{hi[0]}.{hi[1]}); run nox under one of those"
        )
    pin_args = [f"jax=={jax_floor}", f"jaxlib=={jax_floor}"]
    pin_args += [
        f"{name}=={v}" for name, v in pins.items() if name not in ("jax", "jaxlib")
    ]
    session.log(f"floor pins: {' '.join(pin_args)}")
    probing = "NOX_FLOOR_JAX" in os.environ
    _install_test_env(session, package, *pin_args, wheel_deps=not probing)
    session.run(
        "python",
        "-c",
        "import jax, numpy; print('jax', jax.__version__, 'numpy', numpy.__version__)",
    )
    _run_suites(session, package, pytest_args, _base_test_env("cpu"))


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

_NO_UV_OVERRIDES: dict[str, str | None] = {
    "UV_PYTHON": None,
    "UV_PROJECT_ENVIRONMENT": None,
}


@nox.session
def build(session: nox.Session) -> None:
    """hatch-build wheels + sdists into dist/, check metadata, install each wheel alone."""
    session.install("hatch", "twine")
    DIST.mkdir(exist_ok=True)
    wheels = {}
    for package in PACKAGES:
        for old in list(DIST.glob(f"{package}-*")):
            old.unlink()
        session.chdir(ROOT / "packages" / package)
        # nox exports UV_PYTHON=<this venv>; unset it so hatch's own uv-managed build
        # environment gets hatchling installed into itself.
        session.run("hatch", "build", str(DIST), env=_NO_UV_OVERRIDES)
        hatch_version = session.run(
            "hatch", "version", silent=True, env=_NO_UV_OVERRIDES
        )
        hatch_version = str(hatch_version).strip().splitlines()[-1]
        if hatch_version != _version(package):
            session.error(
                f"hatch version {hatch_version} != _version.py {_version(package)}"
            )
        wheel = DIST / f"{package}-{hatch_version}-py3-none-any.whl"
        if not wheel.exists():
            session.error(
                f"build: expected {wheel.name} in dist/, found {os.listdir(DIST)}"
            )
        wheels[package] = wheel
    session.chdir(ROOT)
    session.run("twine", "check", "--strict", *[str(p) for p in sorted(DIST.iterdir())])

    for package, wheel in wheels.items():
        names = zipfile.ZipFile(wheel).namelist()
        bad = [n for n in names if not n.startswith((f"{package}/", f"{package}-"))]
        test_like = r"(^|/)(tests?|tests_compat)/|(^|/)conftest\.py$|shared_testing"
        bad += [n for n in names if re.search(test_like, n)]
        if bad:
            session.error(f"build: {wheel.name} contains unexpected files: {bad}")
        if f"{package}/py.typed" not in names:
            session.error(f"build: {wheel.name} lacks {package}/py.typed")
        session.log(f"{wheel.name}: {len(names)} files, no tests, no shared_testing")

    # Fresh venv per wheel: the wheel alone (plus its declared deps, i.e. jax + numpy).
    tmp = Path(session.create_tmp()).resolve()
    for package, wheel in wheels.items():
        venv = tmp / f"alone-{package}"
        if venv.exists():
            shutil.rmtree(venv)
        if shutil.which("uv"):
            session.run(
                "uv", "venv", "-q", "--python", sys.executable, str(venv), external=True
            )
            py = str(venv / "bin" / "python")
            session.run(
                "uv", "pip", "install", "-q", "--python", py, str(wheel), external=True
            )
        else:
            session.run(sys.executable, "-m", "venv", str(venv), external=True)
            py = str(venv / "bin" / "python")
            session.run(py, "-m", "pip", "install", "-q", str(wheel), external=True)
        other = next(p for p in PACKAGES if p != package)
        check = tmp / f"check_{package}.py"
        check.write_text(
            _ALONE_CHECK.format(
                package=package, dist=_dist_name(package), other=other, wheel=wheel.name
            )
        )
        with session.chdir(tmp):
            session.run(py, str(check), external=True, env={"JAX_PLATFORMS": "cpu"})


# --------------------------------------------------------------------------- quality


def _lint_targets() -> list[str]:
    targets = ["packages", "shared_testing", "noxfile.py"]
    targets += [d for d in ("examples", "benchmarks", "docs") if (ROOT / d).is_dir()]
    return targets


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check (config: each package's pyproject)."""
    session.install(RUFF)
    session.chdir(ROOT)
    targets = _lint_targets()
    session.run("ruff", "check", *targets, *session.posargs)
    session.run("ruff", "format", "--check", *targets)


@nox.session
def typecheck(session: nox.Session) -> None:
    """pyright (config: [tool.pyright] per project) + public-API type-completeness figure."""
    session.install(PYRIGHT)
    for package in PACKAGES:
        session.install("-e", str(ROOT / "packages" / package))
    session.install("-e", str(SHARED_TESTING))
    session.chdir(ROOT)
    python = session.run(
        "python", "-c", "import sys; print(sys.executable)", silent=True
    ).strip()
    failed = []
    for project in [*(f"packages/{p}" for p in PACKAGES), "shared_testing"]:
        # Config: [tool.pyright] in each project's pyproject.toml.
        try:
            session.run("pyright", "--pythonpath", python, "-p", project)
        except CommandFailed:
            failed.append(project)
    # Type completeness of the public API (informative figure).
    for package in PACKAGES:
        session.run(
            "pyright",
            "--pythonpath",
            python,
            "--verifytypes",
            package,
            "--ignoreexternal",
            success_codes=[0, 1],
        )
    if failed:
        session.error(f"typecheck: pyright reported errors in {', '.join(failed)}")


@nox.session
def api(session: nox.Session) -> None:
    """API coverage of haiku_core / rlax_core vs the upstream reference lists (prints the figure)."""
    if not API_COVERAGE_SCRIPT.exists():
        session.skip(
            f"api: {API_COVERAGE_SCRIPT} not found (it lives beside the checkout)"
        )
    for package in PACKAGES:
        wheel = _build_wheel(
            session, package, Path(session.create_tmp()).resolve() / "wheel"
        )
        _install_wheel(session, wheel, package)
    session.chdir(ROOT)
    # Exit status is non-zero below 100%: report the figure, do not fail the session.
    session.run(
        "python",
        str(API_COVERAGE_SCRIPT),
        env={"JAX_PLATFORMS": "cpu"},
        success_codes=list(range(256)),
    )


@nox.session
def compat(session: nox.Session) -> None:
    """Opt-in: run packages/*/tests_compat next to upstream dm-haiku / rlax (jax 0.10.2)."""
    selected, pytest_args = _split_posargs(session)
    session.install(*COMPAT_PINS)
    for package in PACKAGES:
        wheel = _build_wheel(
            session, package, Path(session.create_tmp()).resolve() / "wheel"
        )
        _install_wheel(session, wheel, package, *COMPAT_PINS)
    deps = sorted({d for p in PACKAGES for d in _test_deps(p)})
    session.install("-e", str(SHARED_TESTING), *deps, *UPSTREAM_TEST_DEPS, *COMPAT_PINS)
    # Upstream dm-haiku / rlax and upstream-style user code rely on implicit rank
    # promotion, so this session does not set JAX_NUMPY_RANK_PROMOTION=raise.
    env = {**_base_test_env("cpu"), "JAX_NUMPY_RANK_PROMOTION": "allow"}
    for package in selected or PACKAGES:
        _run_suites(
            session,
            package,
            pytest_args,
            env,
            tests_subdir="tests_compat",
            allow_empty=True,
        )
    for package in selected or PACKAGES:
        _run_upstream_suite(session, package, pytest_args, env)


# upstream package whose shipped test files run against each of ours
UPSTREAM_OF = {"haiku_core": "haiku", "rlax_core": "rlax"}


def _run_upstream_suite(
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
    session.chdir(scratch)
    baseline = scratch / "baseline.json"
    if upstream == "rlax":
        # pop_art_test asks chex for 4 CPU devices; that only works if XLA starts with 4.
        env = {**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    workers = ["-n", os.environ.get("NOX_PYTEST_WORKERS", "2")]
    if _drop_worker_args(pytest_args) != pytest_args:
        workers = []
    common = ["-p", "shared_testing.upstream_suite", f"--upstream={upstream}"]
    common += ["-p", "no:cacheprovider", "-q", "--continue-on-collection-errors"]
    common += [*workers, *pytest_args]
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
    failed = session.run(
        "python",
        "-c",
        "import json, sys; r = json.load(open(sys.argv[1])); "
        "print(*sorted({n for k in r.values() for kind, ns in k.items() "
        "if kind not in ('passed', 'skipped') and not kind.startswith('collection') "
        "for n in ns}), sep=chr(10))",
        str(report),
        silent=True,
    )
    failed_ids = [line for line in str(failed).splitlines() if "::" in line]
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


# --------------------------------------------------------------------------- benchmarks

# Installed into the bench venv only (never package dependencies); versions measured together.
BENCH_PEERS = ["flax==0.12.8", "equinox==0.13.8", "optax"]


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks vs dm-haiku / rlax / Flax NNX / Equinox: table + JSON into benchmarks/results/.

    ``nox -s bench`` (full, ~10 min on 2 cores); ``nox -s bench -- --quick``;
    ``nox -s bench -- --only rlax``; ``nox -s bench -- --gpu`` on a machine whose jax sees a GPU.
    """
    tmp = Path(session.create_tmp()).resolve()
    for package in PACKAGES:
        wheel = _build_wheel(session, package, tmp / "wheel")
        _install_wheel(session, wheel, package, *COMPAT_PINS)
    session.install(*COMPAT_PINS, *BENCH_PEERS)
    session.chdir(ROOT)
    env = {} if "--gpu" in session.posargs else {"JAX_PLATFORMS": "cpu"}
    session.run("python", "-m", "benchmarks.run_all", *session.posargs, env=env)


# --------------------------------------------------------------------------- examples

EXAMPLE_DEPS = ["optax", "scikit-learn", "gymnasium", "matplotlib", "tqdm", "rich"]
EXAMPLES = ROOT / "examples"


def _install_examples_env(session: nox.Session) -> None:
    """Both packages (built wheels) plus the example-only dependencies."""
    tmp = Path(session.create_tmp()).resolve()
    wheels = [_build_wheel(session, package, tmp / "wheel") for package in PACKAGES]
    session.install(*map(str, wheels), *EXAMPLE_DEPS)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: digits ConvNet, fully-jitted PPO and gymnasium DQN on CartPole-v1.

    Writes plots and metrics JSON under ``out/demo/`` (``nox -s demo -- OUTDIR`` to change).
    """
    _install_examples_env(session)
    out = Path(
        session.posargs[0] if session.posargs else ROOT / "out" / "demo"
    ).resolve()
    session.chdir(EXAMPLES)
    env = {"JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    session.run("python", "digits_classifier.py", "--out", str(out / "digits"), env=env)
    session.run("python", "ppo_cartpole.py", "--out", str(out / "ppo"), env=env)
    session.run("python", "dqn_cartpole.py", "--out", str(out / "dqn"), env=env)
    session.run("python", "summarize.py", str(out), env=env)


@nox.session
def tests_examples(session: nox.Session) -> None:
    """Fast smoke runs of every example (and the JAX CartPole vs gymnasium) so they cannot rot."""
    _install_examples_env(session)
    session.install("pytest", "pytest-xdist")
    session.chdir(EXAMPLES)
    env = _base_test_env("cpu")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env=env,
    )
