"""Test utilities shared by haiku-core and rlax-core (never published).

Modules: ``asserts`` (pytree/shape/rank/dtype assertions), ``variants`` (eager/jit/vmap
agreement), ``grads`` (finite-difference gradient checks), ``strategies`` (hypothesis),
``public_api`` (``PublicApiSuite``: the public-namespace checks both packages run),
``plugin`` (pytest fixtures ``key``/``keys``/``seed``/``np_rng``/``variant``, markers,
hypothesis profile ``ci``; loaded automatically through the ``pytest11`` entry point).
"""

from shared_testing.asserts import (
    assert_dtype,
    assert_rank,
    assert_shape,
    assert_tree_all_finite,
    assert_tree_shapes_equal,
    assert_trees_allclose,
    assert_trees_close,
    assert_trees_equal,
)
from shared_testing.grads import assert_grads_numerical
from shared_testing.variants import (
    Variant,
    assert_max_traces,
    assert_vmap_matches_loop,
    check_variants,
)

__all__ = [
    "Variant",
    "assert_dtype",
    "assert_grads_numerical",
    "assert_max_traces",
    "assert_rank",
    "assert_shape",
    "assert_tree_all_finite",
    "assert_tree_shapes_equal",
    "assert_trees_allclose",
    "assert_trees_close",
    "assert_trees_equal",
    "assert_vmap_matches_loop",
    "check_variants",
]
