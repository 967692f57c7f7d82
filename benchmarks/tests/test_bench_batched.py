"""Smoke test of bench_batched: every contender computes the same numbers (no timing)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import rlax_core

from benchmarks import bench_batched


@pytest.mark.parametrize("op", ["gae", "lambda_returns", "vtrace", "retrace"])
def test_contenders_agree_on_a_small_batch(op):
    # Flags folded into discount and reward (the single-trajectory form, vmapped over the
    # batch axis of time-major data) must give the batched op's numbers.
    host = bench_batched.make_inputs(12, 5, seed=3)
    # A tiny batch may draw no boundary at all: put some in.
    host["term"][3, 0], host["trunc"][3, 1], host["term"][7, 2] = True, True, True
    host = bench_batched.refold(host)
    inputs = jax.device_put(host)
    ref = jax.tree.leaves(jax.jit(bench_batched.batched_fns()[op])(inputs))
    vm = jax.tree.leaves(jax.jit(bench_batched.vmapped_fns(rlax_core, 1)[op])(inputs))
    bm_inputs = jax.device_put(bench_batched._batch_major(host))
    bm = jax.tree.leaves(
        jax.jit(bench_batched.vmapped_fns(rlax_core, 0)[op])(bm_inputs)
    )
    for x, y, z in zip(ref, vm, bm, strict=True):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            np.swapaxes(np.asarray(z), 0, 1), np.asarray(x), rtol=1e-5, atol=1e-5
        )
