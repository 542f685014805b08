"""The same search with 1 worker and with 2 workers on this machine: trials per hour and speed-up.

- 1 worker: `run_search(workers=1)`, the whole search in this process.
- 1 worker, cluster: a chief and one worker process (KerasTuner's gRPC
  oracle on 127.0.0.1), to show what the processes alone cost.
- 2 workers: a chief and two worker processes, each limited to its share of
  TensorFlow threads.

Every search runs the same trials (same recipe, same oracle seed) for a fixed
number of epochs (no early stopping). Wall times include the worker processes
starting up, as a user sees them. The contenders are interleaved, rotating
the order every round.

Usage:
    python benchmarks/tuning_parallel.py [--trials 8] [--epochs 10] [--repeats 2]
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _timing import interleaved, median, print_table

from kerasforge.recipes import load_recipe
from kerasforge.tuning import SearchCluster, run_search
from kerasforge.tuning.search_folder import SearchFolder


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
    root = tempfile.mkdtemp(prefix="tuning-parallel-")
    counter = iter(range(10**6))

    def local():
        run_search(recipe, run_dir=os.path.join(root, f"run{next(counter)}"), verbose=0)

    def cluster(workers):
        def run():
            folder = SearchFolder(os.path.join(root, f"run{next(counter)}"), recipe, "random", "val_loss")
            folder.prepare()
            stopped = SearchCluster(
                recipe, "random", folder.path, args.trials, workers, "val_loss", verbose=0
            ).run()
            if stopped:
                raise RuntimeError(stopped)

        return run

    times = interleaved(
        {"1 worker": local, "1 worker, cluster": cluster(1), "2 workers": cluster(2)}, args.repeats
    )
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
        f"speed-up 2 workers vs 1 worker: {median(times['1 worker']) / median(times['2 workers']):.2f}x; "
        f"vs 1-worker cluster: {median(times['1 worker, cluster']) / median(times['2 workers']):.2f}x "
        f"({args.trials} trials x {args.epochs} epochs of digits, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
