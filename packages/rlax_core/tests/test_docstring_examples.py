"""Every ``>>>`` example in the public docstrings of rlax_core runs and prints what it shows.

Examples are found from the public namespaces (see :mod:`shared_testing.doctests`), each
sees its defining module's globals plus ``rlax``, ``jax``, ``jnp`` and ``np``, and one test
runs per docstring, named after its public path.
"""

from __future__ import annotations

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.doctests import collect_examples, run_example

import rlax_core

EXAMPLES = collect_examples(rlax_core, {"rlax": rlax_core, "jax": jax, "jnp": jnp, "np": np})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_docstring_example(example: doctest.DocTest) -> None:
    run_example(example)


def test_examples_were_found() -> None:
    # A broken walk over the public namespaces would silently collect nothing.
    assert len(EXAMPLES) >= 100, [e.name for e in EXAMPLES]
    assert sum(len(e.examples) for e in EXAMPLES) >= 200
