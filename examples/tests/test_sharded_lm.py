"""sharded_lm on 8 host devices: meshes agree, sharded init splits parameters, checkpoints move.

Each test starts a fresh Python process, because the number of host devices is fixed
when JAX starts (``--fake-devices 8`` sets XLA_FLAGS before the import).
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import sharded_lm
import sharded_lm_multiprocess as launcher

SCRIPT = pathlib.Path(sharded_lm.__file__).resolve()


def _run(args: list[str], out: pathlib.Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    cmd = [sys.executable, str(SCRIPT), "--fake-devices", "8", "--tiny", "--quiet"]
    proc = subprocess.run(
        [*cmd, *args, "--out", str(out)], env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text())


def test_loss_curves_agree_across_meshes_and_init_is_split(tmp_path):
    m = _run(["--check-meshes", "--check-steps", "6"], tmp_path)
    diffs = m["max_rel_diff_vs_single_device"]
    assert sorted(diffs) == ["2,4", "4,2", "8,1"]
    assert max(diffs.values()) <= 1e-5
    curves = m["curves"]
    # The curves are the training losses: they start near ln(256) and go down.
    assert abs(curves["1,1"][0] - np.log(256)) < 0.3
    assert curves["1,1"][-1] < curves["1,1"][0]
    # Every sharded parameter is split exactly: the largest piece is 1/k of it.
    assert all(w == pytest.approx(1.0) for k, w in m["worst_shard_fraction"].items() if k != "1,1")
    # TINY has 26,368 float32 parameters (pure count, below); one device holds them all,
    # 8 devices each hold only a fraction.
    d, mlp, t, layers = 32, 64, 32, 2
    per_layer = 4 * (d * d + d) + (d * mlp + mlp) + (mlp * d + d) + 4 * d
    n_params = 256 * d + t * d + layers * per_layer + 2 * d
    assert n_params == 26368
    per_device = m["param_bytes_per_device"]
    assert list(per_device["1,1"].values()) == [4 * n_params]
    for mesh in ("8,1", "4,2", "2,4"):
        assert len(per_device[mesh]) == 8
        assert max(per_device[mesh].values()) < 4 * n_params / 4


def test_checkpoint_from_4x2_restores_onto_2x4_and_one_device(tmp_path):
    m = _run(["--check-checkpoint", "--check-steps", "3", "--resume-steps", "2"], tmp_path)
    diffs = m["max_rel_diff_vs_source_mesh"]
    assert sorted(diffs) == ["1,1", "2,4"]
    assert max(diffs.values()) <= 1e-5
    assert len(m["losses_before_save"]) == 3
    resumed = m["resumed_losses"]
    assert all(len(v) == 2 for v in resumed.values())


def test_launcher_comparison_measures_relative_differences():
    ref = [5.0, 4.0]
    diffs = launcher.rel_diffs(
        {launcher.REFERENCE: ref, "same": [5.0, 4.0], "off": [5.0, 4.0 * (1 + 2e-5)]}
    )
    assert diffs == {launcher.REFERENCE: 0.0, "same": 0.0, "off": pytest.approx(2e-5, rel=1e-6)}
    with pytest.raises(SystemExit, match="ran 1 steps, not 2"):
        launcher.rel_diffs({launcher.REFERENCE: ref, "short": [5.0]})
