"""Fast smoke runs of each example so they cannot rot (the full runs are `nox -s demo`)."""

import json

import numpy as np

import digits_classifier
import dqn_cartpole
import ppo_cartpole


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
