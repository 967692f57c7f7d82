"""The upstream-suite import alias, on two small fake packages made in ``tmp_path``."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from shared_testing import upstream_suite as us


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """``fakeup`` plays the upstream package, ``fakeours`` ours; alias installed."""
    up = tmp_path / "up" / "fakeup"
    _write(up / "__init__.py", "raise RuntimeError('upstream itself must not load')\n")
    _write(up / "_src" / "__init__.py", "")
    _write(up / "_src" / "thing.py", "raise RuntimeError('upstream _src must not load')\n")
    _write(
        up / "_src" / "test_utils.py",
        "from fakeup._src import thing\nWIDGET = thing.Widget\n",
    )
    _write(
        up / "_src" / "thing_test.py",
        "from fakeup._src import thing, test_utils\nRESULT = thing.Widget is test_utils.WIDGET\n",
    )
    # A public upstream module re-exporting a _src name (as haiku.data_structures does).
    _write(up / "tools.py", "from fakeup._src.thing import mapper as mapper\n")
    ours = tmp_path / "ours" / "fakeours"
    _write(ours / "tools.py", "def mapper():\n    return 'tools'\n")
    # A public function named like an upstream submodule (as hk.transform is).
    _write(
        ours / "__init__.py",
        "class Widget: ...\n\n\ndef thing():\n    pass\n\n\ndef mapper():\n    return 'root'\n",
    )
    _write(ours / "nets.py", "NET = 'ours'\n")
    _write(ours / "_src" / "__init__.py", "")
    _write(
        ours / "_src" / "thing.py",
        "SWITCH = False\n\n\ndef helper():\n    return 'ours-private' if not SWITCH else 'on'\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "ours"))
    finder = us.install_alias("fakeup", ours="fakeours", updir=up)
    yield
    sys.meta_path.remove(finder)
    for name in list(sys.modules):
        if name.split(".")[0] in ("fakeup", "fakeours"):
            del sys.modules[name]


def test_top_level_and_public_submodules_are_ours(fake):
    import fakeours
    import fakeours.nets
    import fakeup
    import fakeup.nets

    assert fakeup.Widget is fakeours.Widget
    assert fakeup.nets is fakeours.nets
    # The upstream _src stand-in must not replace our package's own attributes.
    import fakeup._src.thing

    assert not hasattr(fakeours, "_src") or fakeours._src.__name__ == "fakeours._src"


def test_src_module_answers_public_then_private_names(fake):
    import fakeours
    from fakeup._src import thing

    assert thing.Widget is fakeours.Widget
    assert thing.helper() == "ours-private"
    # Re-exported upstream names follow upstream's own public re-export.
    assert thing.mapper() == "tools"
    with pytest.raises(us.UpstreamPrivateName, match=r"fakeup\._src\.thing\.nope"):
        _ = thing.nope
    assert not hasattr(thing, "nope")


def test_module_switches_set_on_a_stand_in_reach_ours(fake):
    import fakeours._src.thing as mine
    from fakeup._src import thing

    thing.SWITCH = True
    assert mine.SWITCH is True
    assert thing.helper() == "on"
    thing.SWITCH = False
    assert mine.helper() == "ours-private"
    # The import system's submodule slots stay on the stand-in package.
    import fakeours._src
    import fakeup._src

    assert fakeours._src.thing is mine
    assert fakeup._src.thing is thing


def test_upstream_test_files_run_in_place_through_the_alias(fake):
    import fakeup._src.thing_test as t

    assert t.RESULT is True  # `from fakeup._src import thing` gave the module
    assert t.thing.__name__ == "fakeup._src.thing"
    assert "/up/fakeup/_src/thing_test.py" in t.__file__


def test_summary_counts_and_known_differences(tmp_path):
    report = {
        "a_test.py": {
            "passed": ["a_test.py::T::ok"],
            "wording": ["a_test.py::T::msg"],
            "behaviour": ["a_test.py::T::nan_grad", "a_test.py::T::bug"],
        }
    }
    known_file = tmp_path / "known.txt"
    known_file.write_text("# comment\nT::nan_grad = finite gradient on purpose\n")
    known = us.load_known(known_file)
    table, unexplained = us.summarize(report, known)
    assert unexplained == ["a_test.py::T::bug"]
    total = table.splitlines()[-1].split()
    # run passed wording internals environment deliberate behaviour skipped
    assert total == ["TOTAL", "4", "1", "1", "0", "0", "1", "1", "0"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert us.main([str(path), str(known_file)]) == 1
    known_file.write_text(known_file.read_text() + "T::bug = also known\n")
    assert us.main([str(path), str(known_file)]) == 0


def test_known_file_rejects_lines_without_a_reason(tmp_path):
    bad = tmp_path / "known.txt"
    bad.write_text("some_test.py::T::x\n")
    with pytest.raises(ValueError, match="expected '<test id> = <reason>'"):
        us.load_known(bad)


def test_failures_that_also_fail_upstream_are_environment(tmp_path):
    report = {"a_test.py": {"behaviour": ["a_test.py::T::needs_data", "a_test.py::T::bug"]}}
    baseline = {"a_test.py": {"behaviour": ["a_test.py::T::needs_data"]}}
    table, unexplained = us.summarize(report, {}, baseline)
    assert unexplained == ["a_test.py::T::bug"]
    total = table.splitlines()[-1].split()
    assert total == ["TOTAL", "2", "0", "0", "0", "1", "0", "1", "0"]
