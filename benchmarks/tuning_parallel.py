"""The same search with 1 worker and with 2 workers on this machine: trials per hour and speed-up.

Both run `kerasforge tune` as a user does, in a fresh process, so each wall
time includes importing the backend, and for 2 workers starting the worker
processes:

- 1 worker: the whole search in the `kerasforge tune` process.
- 2 workers: two long-lived worker processes, each limited to its share of
  the backend's threads, asking the `tune` process's oracle for trials.

Every search runs the same trials (same recipe, same oracle seed) for a fixed
number of epochs (no early stopping, no pruning). The contenders are
interleaved, rotating the order every round. The last line gives the speed-up
of 2 workers over 1 as `N.NNx` (the ratio of the median wall times).

Usage:
    python benchmarks/tuning_parallel.py [--trials 8] [--epochs 10] [--repeats 2]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import interleaved, median, print_table

from kerasforge.recipes.schema.loading import load_recipe, recipe_to_yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    recipe = load_recipe(
        "digits_mlp",
        {
            "training.epochs": args.epochs,
            "callbacks.early_stopping.enabled": False,
            "search": {
                "max_trials": args.trials,
                "layers": {"min": 1, "max": 3},
                "units": {"min": 32, "max": 256, "step": 32},
                "batch_size": [32, 64],
            },
        },
    )
    root = Path(tempfile.mkdtemp(prefix="tuning-parallel-"))
    recipe_path = root / "search.yaml"
    recipe_path.write_text(recipe_to_yaml(recipe), encoding="utf-8")
    counter = iter(range(10**6))

    def search(workers):
        def run():
            run_dir = root / f"run{next(counter)}"
            command = [sys.executable, "-m", "kerasforge", "tune", str(recipe_path), "--prune", "none"]
            command += ["--workers", str(workers), "--run-dir", str(run_dir)]
            finished = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            if finished.returncode:
                raise RuntimeError(finished.stderr)

        return run

    times = interleaved({"1 worker": search(1), "2 workers": search(2)}, args.repeats)
    rows = [
        {
            "contender": name,
            "median s": f"{median(values):.1f}",
            "trials/hour": f"{args.trials * 3600 / median(values):.0f}",
            "runs s": " ".join(f"{value:.1f}" for value in values),
        }
        for name, values in times.items()
    ]
    print_table(rows, ["contender", "median s", "trials/hour", "runs s"])
    print(
        f"2 workers vs 1: {median(times['1 worker']) / median(times['2 workers']):.2f}x "
        f"({args.trials} trials x {args.epochs} epochs of digits, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    main()
