"""Prints one table of the results of a demo or examples run against their targets.

python examples/summarize.py out/demo
python examples/summarize.py out/examples
"""

from __future__ import annotations

import argparse
import json
import pathlib

from rich.console import Console
from rich.table import Table

# (run folder, metric key, label, target, higher is better)
ROWS = [
    ("digits", "test_accuracy", "digits ConvNet: test accuracy", 0.97),
    ("ppo", "final_eval_return", "PPO CartPole-v1: mean greedy eval return", 475.0),
    ("ppo", "env_steps", "PPO CartPole-v1: env steps used", None),
    ("ppo", "env_steps_per_second", "PPO CartPole-v1: env steps / s (jitted)", None),
    ("pqn", "final_eval_return", "PQN CartPole-v1: mean greedy eval return", 475.0),
    ("pqn", "env_steps", "PQN CartPole-v1: env steps used", None),
    ("pqn", "env_steps_per_second", "PQN CartPole-v1: env steps / s (jitted)", None),
    ("dqn", "final_eval_return_20_episodes", "DQN CartPole-v1: mean greedy eval return", 475.0),
    ("dqn", "env_steps_per_second", "DQN CartPole-v1: env steps / s (Python loop)", None),
    ("sac", "min_final_eval_return", "SAC Pendulum-v1: worst seed's mean eval return", -250.0),
    ("sac", "env_steps_per_second", "SAC Pendulum-v1: env steps / s (Python loop)", None),
    ("grpo", "final_held_out_reward", "GRPO reversal: held-out greedy reward", 0.95),
    ("grpo", "final_held_out_exact_match", "GRPO reversal: held-out exact-match rate", None),
    ("grpo", "updates_to_0.95", "GRPO reversal: updates to held-out reward 0.95", None),
    ("grpo", "wall_seconds", "GRPO reversal: wall seconds (compile + train)", None),
    ("sharded_lm", "heldout_bits_per_byte", "sharded LM: held-out bits per byte", None),
    ("sharded_lm", "gzip9_bits_per_byte_same_bytes", "  same bytes under gzip -9", None),
    ("sharded_lm", "lzma_bits_per_byte_same_bytes", "  same bytes under lzma", None),
    ("sharded_lm", "tokens_per_second", "sharded LM: tokens / s on 8 CPU devices", None),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the folder the demo wrote (holds digits/, ppo/, pqn/, dqn/)")
    args = parser.parse_args(argv)
    root = pathlib.Path(args.out)
    table = Table(title=f"demo results ({root})")
    for col in ("result", "value", "target", "met"):
        table.add_column(col)
    for run, key, label, target in ROWS:
        if not (root / run).is_dir():
            continue  # that example was not part of this run (demo vs examples)
        path = root / run / "metrics.json"
        if not path.exists():
            table.add_row(label, "missing", "", "")
            continue
        value = json.loads(path.read_text()).get(key, "missing")
        met = "" if target is None else ("yes" if value >= target else "NO")
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(label, shown, "" if target is None else f">= {target:g}", met)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
