"""The public namespace of rlax_core: version, __all__ hygiene, every name resolves, README example."""

import pathlib
import re

from shared_testing.public_api import PublicApiSuite

import rlax_core


class TestPublicApi(PublicApiSuite):
    package = rlax_core
    # Importing rlax_core must not pull in the libraries it replaces or its sibling package.
    forbidden_imports = ("haiku", "rlax", "chex", "distrax", "flax", "haiku_core")


def _run_readme_example() -> dict:
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    match = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert match is not None, f"no python example in {readme}"
    namespace: dict = {}
    exec(compile(match.group(1), str(readme), "exec"), namespace)
    return namespace


def test_readme_example_runs_and_gives_hand_computed_values():
    ns = _run_readme_example()
    # r + discount * max_a q_t - q_tm1[a] = 0.5 + 0.99 * 3 - 2
    assert abs(float(ns["td"]) - 1.47) < 1e-5
    # batch: r = 1, discount = 1, max q_t = 3; a = 0 -> 3 - 1, a = 1 -> 3 - 2 (plus r = 1)
    assert [round(float(v), 5) for v in ns["tds"]] == [3.0, 2.0]
