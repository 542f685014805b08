"""What `training.mixed_precision` costs on CPU: seconds per epoch against float32, per dtype policy.

Why `training.mixed_precision: true` falls back to float32 on CPU: trains
`digits_mlp`'s recipe on `--rows` synthetic rows of 64 features and 10 classes
under each policy on the backend this process runs (`KERAS_BACKEND`), in
interleaved rounds, and prints the median training seconds per epoch (epochs
after the first, which compiles) and its ratio to float32, paired within each
round. `--hidden` widens the network so the matrix products, not the dispatch,
dominate a step.

Usage:
    KERAS_BACKEND=jax python benchmarks/mixed_precision_cpu.py [--rounds 3] [--hidden 512 512]
        [--epochs 3] [--batch-size 256] [--rows 20000]
"""

import argparse
import statistics
import warnings

import keras
from _timing import interleaved, median, print_table

from kerasforge.recipes import load_recipe, prepare_data, train

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rows", type=int, default=20000)
    arguments = parser.parse_args()
    base = {
        "data.source": "synthetic",
        "data.synthetic": {"rows": arguments.rows, "features": 64, "classes": 10},
        "model.hidden": arguments.hidden,
        "training.epochs": arguments.epochs,
        "training.batch_size": arguments.batch_size,
        "callbacks.early_stopping.enabled": False,
        "callbacks.gradient_monitor.enabled": False,
        "callbacks.activation_monitor.enabled": False,
    }
    data = prepare_data(load_recipe("digits_mlp", base))

    def runner(policy):
        recipe = load_recipe("digits_mlp", {**base, "training.mixed_precision": policy})

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                history = train(recipe, verbose=0, write=False, data=data).history
            return statistics.mean(history["train_seconds"][1:])

        return run

    results = interleaved({policy: runner(policy) for policy in POLICIES}, arguments.rounds)
    rows = []
    for policy in POLICIES:
        ratios = [mine / full for mine, full in zip(results[policy], results["float32"], strict=True)]
        rows.append(
            {
                "policy": policy,
                "s/epoch": f"{median(results[policy]):.3f}",
                "/ float32": f"{median(ratios):.2f}x",
            }
        )
    shape = f"hidden {arguments.hidden}, batch {arguments.batch_size}, {arguments.rows} rows"
    print(f"{keras.backend.backend()}, {shape}:")
    print_table(rows, ["policy", "s/epoch", "/ float32"])


if __name__ == "__main__":
    main()
