"""The public namespace of haiku_core: version, __all__ hygiene, every name resolves, README example."""

import pathlib
import re

from shared_testing.public_api import PublicApiSuite

import haiku_core


class TestPublicApi(PublicApiSuite):
    package = haiku_core
    # Importing haiku_core must not pull in the libraries it replaces or its sibling package.
    forbidden_imports = ("haiku", "rlax", "chex", "distrax", "flax", "rlax_core")


def _run_readme_example() -> dict:
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    match = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert match is not None, f"no python example in {readme}"
    namespace: dict = {}
    exec(compile(match.group(1), str(readme), "exec"), namespace)
    return namespace


def test_readme_example_runs_with_upstream_parameter_names():
    ns = _run_readme_example()
    assert ns["logits"].shape == (8, 10)
    params = ns["params"]
    assert sorted(params) == ["mlp/~/linear_0", "mlp/~/linear_1"]
    assert params["mlp/~/linear_0"]["w"].shape == (784, 32)
    assert params["mlp/~/linear_0"]["b"].shape == (32,)
    assert params["mlp/~/linear_1"]["w"].shape == (32, 10)
