"""PublicApiSuite's checks fail, with the right message, on a package that breaks them."""

import types

import pytest

from shared_testing.public_api import PublicApiSuite


def _suite_for(module: types.ModuleType) -> PublicApiSuite:
    class Suite(PublicApiSuite):
        package = module

    return Suite()


def _fake(all_names, **attrs) -> types.ModuleType:
    module = types.ModuleType("fakepkg")
    module.__all__ = all_names
    for k, v in attrs.items():
        setattr(module, k, v)
    return module


def test_duplicate_names_fail():
    suite = _suite_for(_fake(["a", "a"], a=1))
    with pytest.raises(AssertionError, match=r"duplicate names in fakepkg.__all__: \['a'\]"):
        suite.test_all_has_no_duplicates()


def test_unresolvable_name_fails():
    suite = _suite_for(_fake(["missing"]))
    with pytest.raises(AssertionError, match="lists 'missing' but it does not resolve"):
        suite.test_all_entries_are_strings_and_resolve()


def test_private_name_fails():
    suite = _suite_for(_fake(["_hidden"], _hidden=1))
    with pytest.raises(AssertionError, match=r"private names exported in fakepkg.__all__"):
        suite.test_no_private_names_in_all()


def test_a_clean_namespace_passes():
    suite = _suite_for(_fake(["a", "b"], a=1, b=2))
    suite.test_all_has_no_duplicates()
    suite.test_all_entries_are_strings_and_resolve()
    suite.test_no_private_names_in_all()
