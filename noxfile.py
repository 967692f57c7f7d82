"""nox sessions for the haiku-core / rlax-core monorepo.

Quick reference (run from the repository root)::

    nox -s tests                           # both packages, jax CPU wheel, one venv each
    nox -s "tests(package='rlax_core')"    # one package (parametrized session name)
    nox -s tests -- rlax_core              # same, selected through posargs
    nox -s tests -- haiku_core -k linear -n 0   # extra posargs go to pytest
    nox -s tests_latest                    # newest allowed jax on Python 3.12 and 3.13
    nox -s tests_shared                    # shared_testing's own tests
    nox -s tests_examples                  # smoke runs of every example
    nox -s tests_cuda                      # jax[cuda12] wheel, JAX_PLATFORMS=cuda (needs a GPU)
    nox -s tests_floor                     # lowest declared jax / numpy
    nox -s build                           # wheels + sdists into dist/, install each alone
    nox -s lint                            # ruff check + ruff format --check
    nox -s typecheck                       # pyright (standard mode) + type completeness
    nox -s api                             # API coverage figure vs dm-haiku / rlax
    nox -s api_facts                       # opt-in: regenerate tools/api/*.json from upstream
    nox -s compat                          # opt-in: side by side with upstream dm-haiku / rlax
    nox -s bench                           # benchmarks vs upstream and peers
    nox -s demo                            # the main job: the demo examples
    nox -s examples                        # the longer examples (SAC, GRPO, sharded LM)
    nox -s multiprocess                    # sharded LM: 2 processes x 4 devices vs 1 x 8
    nox -s docs                            # docs site (sphinx -W, offline) + docs tests

Every test session installs the package under test as a *built wheel* (never editable)
into a venv that holds only that package, its runtime dependencies, ``shared_testing``
(editable) and the test tools from the package's ``[dependency-groups] test``, then runs
pytest from a scratch directory so the installed copy is imported, not ``src/``. The logic
behind the sessions lives in ``tools/nox_support.py``.

Environment knobs:
  ``NOX_PYTEST_WORKERS``  pytest-xdist workers (default ``2``; ``-n`` in posargs overrides).
  ``NOX_CUDA_EXTRA``      jax extra for tests_cuda (default ``cuda12``; e.g. ``cuda13``).
  ``NOX_FLOOR_JAX``       tests_floor: probe another jax/jaxlib than the declared floor.
  ``NOX_WHEEL_DIR``       test sessions install the wheel found there instead of building
                          one (release pipelines test exactly what they publish).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import nox_support as ns

ROOT = ns.ROOT
PACKAGES = ns.PACKAGES
LATEST_PYTHONS = ["3.12", "3.13"]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "tests_shared", "build", "lint"]
nox.options.reuse_existing_virtualenvs = True
ns.expose_pyenv_interpreters()


# --------------------------------------------------------------------------- tests


@nox.session
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Test one package (installed wheel, jax CPU) in its own venv."""
    pytest_args = ns.skip_unselected(session, package)
    ns.install_test_env(session, package)
    ns.run_suites(session, package, pytest_args, ns.base_test_env("cpu"))


@nox.session(python=LATEST_PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests_latest(session: nox.Session, package: str) -> None:
    """Test one package against the newest jax its declared range allows (Python 3.12+).

    Fails loudly when jax has released a version above the declared cap.
    """
    pytest_args = ns.skip_unselected(session, package)
    newest = ns.newest_allowed_jax(session, package)
    ns.install_test_env(session, package, f"jax=={newest}", f"jaxlib=={newest}")
    session.run(
        "python", "-c", "import jax, sys; print('jax', jax.__version__, sys.version)"
    )
    ns.run_suites(session, package, pytest_args, ns.base_test_env("cpu"))


@nox.session
@nox.parametrize("package", PACKAGES)
def tests_cuda(session: nox.Session, package: str) -> None:
    """Test one package against the jax CUDA wheel, constrained to the declared jax range."""
    pytest_args = ns.skip_unselected(session, package)
    ns.require_gpu(session)
    extra = os.environ.get("NOX_CUDA_EXTRA", "cuda12")
    jax_range = ns.jax_requirement(package).removeprefix("jax")
    session.install(f"jax[{extra}]{jax_range}")
    ns.install_test_env(session, package)
    env = {**ns.base_test_env("cuda"), "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    ns.check_jax_sees_gpu(session, env)
    # Multidevice tests fake CPU devices; they belong to the CPU run.
    ns.run_suites(session, package, pytest_args, env, multidevice=False)


@nox.session
def tests_shared(session: nox.Session) -> None:
    """shared_testing's own tests (each assertion fails with the right message)."""
    session.install("-e", str(ns.SHARED_TESTING), "pytest-xdist>=3")
    ns.run_shared_testing_suite(session)


@nox.session
@nox.parametrize("package", PACKAGES)
def tests_floor(session: nox.Session, package: str) -> None:
    """Test one package against the lowest jax / numpy it declares (proves the floor)."""
    pytest_args = ns.skip_unselected(session, package)
    pins = ns.floor_pins(package)
    if "jax" not in pins:
        session.error(
            f"tests_floor: no 'jax>=' floor in packages/{package}/pyproject.toml"
        )
    # NOX_FLOOR_JAX=<version> tries another jax/jaxlib (to probe where the floor really is).
    jax_floor = os.environ.get("NOX_FLOOR_JAX", pins["jax"])
    py = ns.python_version(session)
    lo, hi = ns.JAXLIB_PYTHONS.get(jax_floor, ((3, 11), (3, 99)))
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
    ns.install_test_env(session, package, *pin_args, wheel_deps=not probing)
    session.run(
        "python",
        "-c",
        "import jax, numpy; print('jax', jax.__version__, 'numpy', numpy.__version__)",
    )
    ns.run_suites(session, package, pytest_args, ns.base_test_env("cpu"))


# --------------------------------------------------------------------------- build


@nox.session
def build(session: nox.Session) -> None:
    """hatch-build wheels + sdists into dist/, check metadata, install each wheel alone."""
    session.install("hatch", "twine")
    ns.check_project_urls(session)
    ns.DIST.mkdir(exist_ok=True)
    wheels = {package: ns.hatch_build(session, package) for package in PACKAGES}
    session.chdir(ROOT)
    session.run(
        "twine", "check", "--strict", *[str(p) for p in sorted(ns.DIST.iterdir())]
    )
    for package, wheel in wheels.items():
        ns.check_wheel_contents(session, package, wheel)
    for package, wheel in wheels.items():
        ns.check_wheel_alone(session, package, wheel)


# --------------------------------------------------------------------------- quality


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check (config: each package's pyproject)."""
    session.install(ns.RUFF)
    session.chdir(ROOT)
    targets = ns.lint_targets()
    session.run("ruff", "check", *targets, *session.posargs)
    session.run("ruff", "format", "--check", *targets)


@nox.session
def typecheck(session: nox.Session) -> None:
    """pyright (standard mode, config: [tool.pyright] per project) + type completeness.

    Fails on any pyright error and when ``pyright --verifytypes`` puts a package below
    ``ns.TYPE_COMPLETENESS_TARGETS`` (both figures are printed).
    """
    ns.install_typecheck_env(session)
    session.chdir(ROOT)
    failed = ns.run_pyright_projects(session)
    below = ns.check_type_completeness(session)
    problems = []
    if failed:
        problems.append(f"pyright reported errors in {', '.join(failed)}")
    if below:
        problems.append(f"type completeness below target for {', '.join(below)}")
    if problems:
        session.error("typecheck: " + "; ".join(problems))


@nox.session
def api(session: nox.Session) -> None:
    """API coverage of haiku_core / rlax_core vs upstream's public API (prints the figure).

    The reference lists live in ``tools/api/``; ``nox -s api_facts`` regenerates them.
    """
    ns.install_built_packages(session)
    session.chdir(ROOT)
    # Exit status is non-zero below 100%: report the figure, do not fail the session.
    session.run(
        "python",
        str(ns.API_DIR / "api_coverage.py"),
        env={"JAX_PLATFORMS": "cpu"},
        success_codes=list(range(256)),
    )


@nox.session
def api_facts(session: nox.Session) -> None:
    """Opt-in: check (or with ``-- --write`` refresh) tools/api/*.json against upstream."""
    session.install(*ns.COMPAT_PINS)
    session.chdir(ROOT)
    session.run(
        "python",
        str(ns.API_DIR / "gen_api.py"),
        *session.posargs,
        env={"JAX_PLATFORMS": "cpu"},
    )


@nox.session
def compat(session: nox.Session) -> None:
    """Opt-in: run packages/*/tests_compat next to upstream dm-haiku / rlax (jax 0.10.2)."""
    selected, pytest_args = ns.split_posargs(session)
    session.install(*ns.COMPAT_PINS)
    tmp = Path(session.create_tmp()).resolve() / "wheel"
    for package in PACKAGES:
        ns.install_wheel(
            session, ns.build_wheel(session, package, tmp), package, *ns.COMPAT_PINS
        )
    deps = sorted({d for p in PACKAGES for d in ns.test_deps(p)})
    session.install(
        "-e", str(ns.SHARED_TESTING), *deps, *ns.UPSTREAM_TEST_DEPS, *ns.COMPAT_PINS
    )
    # Upstream dm-haiku / rlax and upstream-style user code rely on implicit rank
    # promotion, so this session does not set JAX_NUMPY_RANK_PROMOTION=raise.
    env = {**ns.base_test_env("cpu"), "JAX_NUMPY_RANK_PROMOTION": "allow"}
    for package in selected or PACKAGES:
        ns.run_suites(
            session,
            package,
            pytest_args,
            env,
            tests_subdir="tests_compat",
            allow_empty=True,
        )
    for package in selected or PACKAGES:
        ns.run_upstream_suite(session, package, pytest_args, env)


# --------------------------------------------------------------------------- benchmarks


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks vs dm-haiku / rlax / Flax NNX / Equinox: table + JSON into benchmarks/results/.

    ``nox -s bench`` (full, ~10 min on 2 cores); ``nox -s bench -- --quick``;
    ``nox -s bench -- --only rlax``; ``nox -s bench -- --gpu`` on a machine whose jax sees a GPU.
    """
    tmp = Path(session.create_tmp()).resolve() / "wheel"
    for package in PACKAGES:
        ns.install_wheel(
            session, ns.build_wheel(session, package, tmp), package, *ns.COMPAT_PINS
        )
    session.install(*ns.COMPAT_PINS, *ns.BENCH_PEERS)
    session.chdir(ROOT)
    env = {} if "--gpu" in session.posargs else {"JAX_PLATFORMS": "cpu"}
    session.run("python", "-m", "benchmarks.run_all", *session.posargs, env=env)


# --------------------------------------------------------------------------- examples


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: digits ConvNet; fully-jitted PPO and PQN and gymnasium DQN on CartPole-v1.

    Writes plots and metrics JSON under ``out/demo/`` (``nox -s demo -- OUTDIR`` to change).
    """
    ns.install_built_packages(session, *ns.EXAMPLE_DEPS)
    out = Path(
        session.posargs[0] if session.posargs else ROOT / "out" / "demo"
    ).resolve()
    session.chdir(ns.EXAMPLES)
    env = {"JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    session.run("python", "digits_classifier.py", "--out", str(out / "digits"), env=env)
    session.run("python", "ppo_cartpole.py", "--out", str(out / "ppo"), env=env)
    session.run("python", "pqn_cartpole.py", "--out", str(out / "pqn"), env=env)
    session.run("python", "dqn_cartpole.py", "--out", str(out / "dqn"), env=env)
    session.run("python", "summarize.py", str(out), env=env)


@nox.session
def examples(session: nox.Session) -> None:
    """The longer training examples: SAC on Pendulum-v1 (3 seeds), GRPO string reversal and
    the sharded byte-level LM (3-minute budget on a (4, 2) mesh of 8 CPU devices).

    About 25 minutes on 2 CPU cores; ``nox -s examples -- OUTDIR`` writes elsewhere.
    """
    ns.install_built_packages(session, *ns.EXAMPLE_DEPS)
    out = Path(
        session.posargs[0] if session.posargs else ROOT / "out" / "examples"
    ).resolve()
    session.chdir(ns.EXAMPLES)
    env = {"JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    session.run("python", "sac_pendulum.py", "--out", str(out / "sac"), env=env)
    session.run("python", "grpo_reverse.py", "--out", str(out / "grpo"), env=env)
    session.run(
        "python",
        "sharded_lm.py",
        "--fake-devices",
        "8",
        "--mesh",
        "4,2",
        "--minutes",
        "3",
        "--out",
        str(out / "sharded_lm"),
        env=env,
    )
    session.run("python", "summarize.py", str(out), env=env)


@nox.session
def multiprocess(session: nox.Session) -> None:
    """sharded_lm as 2 processes x 4 CPU devices (jax.distributed, gloo collectives) against
    1 process x 8 devices: fails unless the losses agree to 1e-5 relative."""
    ns.install_built_packages(session, *ns.EXAMPLE_DEPS)
    out = Path(session.create_tmp()).resolve() / "sharded_lm_multiprocess"
    session.chdir(ns.EXAMPLES)
    session.run(
        "python",
        "sharded_lm_multiprocess.py",
        "--steps",
        "10",
        "--out",
        str(out),
        *session.posargs,
        env={"JAX_PLATFORMS": "cpu"},
    )


@nox.session
def tests_examples(session: nox.Session) -> None:
    """Fast smoke runs of every example (and the JAX CartPole vs gymnasium) so they cannot rot."""
    ns.install_built_packages(session, *ns.EXAMPLE_DEPS, "pytest", "pytest-xdist")
    session.chdir(ns.EXAMPLES)
    session.run(
        "python",
        "-m",
        "pytest",
        "tests",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env=ns.base_test_env("cpu"),
    )


# --------------------------------------------------------------------------- docs


@nox.session
def docs(session: nox.Session) -> None:
    """Docs site: sphinx-build -W --keep-going into docs/_build/html, then docs/tests.

    Logic in ``tools/docs_nox.py``; pinned requirements in ``docs/requirements.txt``.
    """
    from tools import docs_nox

    docs_nox.run_docs_session(session)
