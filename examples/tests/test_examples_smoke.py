"""Fast smoke runs of each example so they cannot rot (the full runs are `nox -s demo`)."""

import json

import numpy as np

import digits_classifier
import dqn_cartpole
import grpo_reverse
import ppo_cartpole
import pqn_cartpole
import sac_pendulum
import sharded_lm


def test_digits_learns_in_a_few_epochs(tmp_path):
    m = digits_classifier.main(["--epochs", "3", "--out", str(tmp_path)])
    # Chance is 10%; three epochs of the ConvNet already separate most digits.
    assert m["test_accuracy"] > 0.8
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 3


def test_ppo_runs_and_improves_a_random_policy(tmp_path):
    m = ppo_cartpole.main(
        [
            "--total-steps",
            "16384",
            "--num-envs",
            "4",
            "--num-steps",
            "64",
            "--updates-per-chunk",
            "8",
            "--out",
            str(tmp_path),
        ]
    )
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["env_steps"] == 16384
    assert np.isfinite(m["final_eval_return"])
    # A uniformly random CartPole policy averages ~22 steps; 16k PPO steps do better.
    assert m["best_eval_return"] > 30
    assert (tmp_path / "eval_return.png").exists()


def test_dqn_loop_runs(tmp_path):
    m = dqn_cartpole.main(
        [
            "--total-steps",
            "600",
            "--learning-starts",
            "200",
            "--eval-every",
            "300",
            "--eval-episodes",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert m["env_steps"] == 600
    assert m["training_episodes"] >= 1
    assert (tmp_path / "eval_return.png").exists()


def test_sac_loop_runs(tmp_path):
    m = sac_pendulum.main(
        [
            "--total-steps",
            "300",
            "--warmup-steps",
            "200",
            "--batch-size",
            "32",
            "--hidden",
            "32",
            "--eval-every",
            "150",
            "--eval-episodes",
            "2",
            "--seeds",
            "0",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert set(data["seeds"]) == {"0", "1"}
    for run in data["seeds"].values():
        assert run["env_steps"] == 300
        assert run["curve"]["steps"] == [150, 300]
        # Pendulum-v1 rewards lie in [-16.27, 0], so a 200-step return is in [-3254, 0].
        assert all(-3300 < r <= 0 for r in run["curve"]["eval"])
        assert np.isfinite(run["final_alpha"]) and run["final_alpha"] != 1.0
    assert m["min_final_eval_return"] == min(r["final_eval_return"] for r in data["seeds"].values())
    assert (tmp_path / "eval_return.png").stat().st_size > 0


def test_pqn_runs_and_beats_a_constant_policy(tmp_path):
    m = pqn_cartpole.main(
        [
            "--total-steps",
            "16384",
            "--num-envs",
            "8",
            "--num-steps",
            "32",
            "--minibatches",
            "4",
            "--lr",
            "3e-3",
            "--updates-per-chunk",
            "16",
            "--out",
            str(tmp_path),
        ]
    )
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["env_steps"] == 16384
    assert data["curve"]["steps"] == [4096, 8192, 12288, 16384]
    assert np.isfinite(m["final_eval_return"])
    # Pushing one way drops the pole in about 9 steps (the untrained greedy policy's score)
    # and a uniformly random policy lasts about 22; 16k steps of PQN balance it longer.
    assert m["best_eval_return"] > 30
    assert (tmp_path / "eval_return.png").stat().st_size > 0


def test_grpo_reverse_learns_from_reward_alone(tmp_path):
    train, held_out = grpo_reverse.split_strings(0)
    assert train.shape == (9000, 4) and held_out.shape == (1000, 4)
    # The split covers all 10^4 strings exactly once: held-out strings are never prompts.
    codes = np.concatenate([train, held_out]) @ np.array([1000, 100, 10, 1])
    assert sorted(codes.tolist()) == list(range(10_000))
    m = grpo_reverse.main(
        [
            "--updates",
            "20",
            "--prompts",
            "16",
            "--group",
            "8",
            "--d-model",
            "32",
            "--updates-per-chunk",
            "10",
            "--out",
            str(tmp_path),
        ]
    )
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["updates"] == 20 and data["samples"] == 20 * 16 * 8
    # Chance is 0.1 per digit; 20 small GRPO updates already beat it on held-out strings.
    assert data["curve"]["held_out_reward"][0] < 0.15
    assert m["final_held_out_reward"] > 0.2
    assert (tmp_path / "reward.png").stat().st_size > 0


def test_sharded_lm_trains_and_scores_heldout_on_one_device(tmp_path):
    # The (1, 1) mesh runs the same sharded code path (rules, constraints, sharded init,
    # jit with shardings) on the single device of this process; meshes of 8 host devices
    # need a fresh process (tests/test_sharded_lm.py).
    args = ["--mesh", "1,1", "--tiny", "--steps", "4", "--eval-bytes", "1024", "--quiet"]
    m = sharded_lm.main([*args, "--max-files", "60", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["steps"] == 4 and len(data["losses"]) == 4
    # A fresh model predicts bytes almost uniformly: about ln(256) = 5.545 nats.
    assert abs(data["losses"][0] - np.log(256)) < 0.3
    assert np.isfinite(m["heldout_bits_per_byte"]) and 0 < m["heldout_bits_per_byte"] < 12
    assert 0 < m["gzip9_bits_per_byte_same_bytes"] < 8
    assert (tmp_path / "train_loss.png").stat().st_size > 0
