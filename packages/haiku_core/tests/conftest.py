"""pytest configuration for the haiku_core suite.

Fixtures (`key`, `keys`, `seed`, `np_rng`, `variant`), markers (`slow`, `x64`, `gpu`,
`multidevice`) and the hypothesis "ci" profile come from the shared_testing plugin
(loaded through its pytest11 entry point). This file only reports which copy of
`haiku_core` is under test.
"""

import importlib.util

import pytest


def pytest_report_header(config: pytest.Config) -> str:
    spec = importlib.util.find_spec("haiku_core")
    origin = spec.origin if spec is not None else "<not importable>"
    return f"haiku_core under test: {origin}"
