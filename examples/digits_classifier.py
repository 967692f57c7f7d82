"""Supervised example: a haiku-core ConvNet trained with optax on scikit-learn's digits.

The data set (1,797 8x8 grey-scale handwritten digits, UCI ML hand-written digits,
Alpaydin & Kaynak 1998) ships inside scikit-learn, so nothing is downloaded.
A stratified 75/25 split gives a held-out test set; the script prints the test
accuracy, writes a learning-curve PNG and a JSON of final metrics.

    python examples/digits_classifier.py --help
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import common
import haiku_core as hk


def net(images: jax.Array, is_training: bool) -> jax.Array:
    """[B, 8, 8, 1] images in [0, 1] -> [B, 10] logits."""
    x = hk.Conv2D(32, 3)(images)
    x = jax.nn.relu(x)
    x = hk.Conv2D(64, 3, stride=2)(x)
    x = jax.nn.relu(x)
    x = hk.Flatten()(x)
    x = hk.Linear(128)(x)
    x = jax.nn.relu(x)
    if is_training:
        x = hk.dropout(hk.next_rng_key(), 0.2, x)
    return hk.Linear(10)(x)


def load(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int32)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/digits")
    args = parser.parse_args(argv)

    out = common.out_dir(args.out)
    x_train, x_test, y_train, y_test = load(args.seed)
    model = hk.transform(net)
    key = jax.random.PRNGKey(args.seed)
    params = model.init(key, x_train[:1], is_training=True)
    opt = optax.adam(args.lr)
    opt_state = opt.init(params)

    def loss_fn(params, key, x, y):
        logits = model.apply(params, key, x, is_training=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def train_step(params, opt_state, key, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, key, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def accuracy(params, x, y):
        logits = model.apply(params, None, x, is_training=False)
        return jnp.mean(jnp.argmax(logits, -1) == y)

    n = len(x_train)
    steps_per_epoch = n // args.batch_size
    rng = np.random.default_rng(args.seed)
    history: dict[str, list[float]] = {
        "train loss": [],
        "train acc": [],
        "test acc": [],
    }
    start = time.perf_counter()
    bar = tqdm(range(args.epochs), desc="digits", unit="epoch")
    for _ in bar:
        perm = rng.permutation(n)
        losses = []
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            key, sub = jax.random.split(key)
            params, opt_state, loss = train_step(params, opt_state, sub, x_train[idx], y_train[idx])
            losses.append(loss)
        history["train loss"].append(float(np.mean(jax.device_get(losses))))
        history["train acc"].append(float(accuracy(params, x_train, y_train)))
        history["test acc"].append(float(accuracy(params, x_test, y_test)))
        bar.set_postfix(
            loss=f"{history['train loss'][-1]:.3f}",
            test_acc=f"{history['test acc'][-1]:.3f}",
        )
    wall = time.perf_counter() - start

    epochs = list(range(1, args.epochs + 1))
    common.plot_curves(
        out / "learning_curve.png",
        epochs,
        {"train acc": history["train acc"], "test acc": history["test acc"]},
        xlabel="epoch",
        ylabel="accuracy",
        title="haiku-core ConvNet on sklearn digits",
        hline=0.97,
    )
    metrics = {
        "test_accuracy": history["test acc"][-1],
        "train_accuracy": history["train acc"][-1],
        "final_train_loss": history["train loss"][-1],
        "epochs": args.epochs,
        "train_examples": n,
        "test_examples": len(x_test),
        "wall_seconds": wall,
    }
    common.write_json(out / "metrics.json", metrics)
    common.print_summary("digits classifier", {**metrics, "outputs": str(out)})
    return metrics


if __name__ == "__main__":
    main()
