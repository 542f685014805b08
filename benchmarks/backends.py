"""Trains the bundled task recipes on each Keras backend and prints seconds and the ratio to TensorFlow.

Each run is `KERAS_BACKEND=B kerasforge train NAME --quiet` in its own
subprocess (a backend is chosen once per process), in interleaved rounds: every
round runs each contender once, in a rotated order, so the drift of a shared
machine is spread over all of them. Contenders are backends, plus any
`--jit` settings to compare (`training.jit_compile` is passed with `--set`).

Two figures per run: `fit s`, the wall time of `fit` that the run folder
records (`fit_seconds`, compilation included), and `wall s`, the whole
command as a user waits for it (Python, backend import, data, fit, test,
report). Medians over the rounds; the ratio is to TensorFlow at `auto`.

Usage:
    python benchmarks/backends.py [--rounds 3] [--recipes digits_mlp ...]
        [--backends tensorflow jax torch] [--jit auto false true] [--epochs N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import interleaved, median, print_table

TASK_RECIPES = ("digits_mlp", "breast_cancer_mlp", "diabetes_regression")


def _train(scratch, name, backend, jit, epochs, counter):
    """Runs one `kerasforge train` in a subprocess; returns (fit seconds, wall seconds)."""
    counter[0] += 1
    run_dir = Path(scratch) / f"{Path(name).stem}-{backend}-{jit}-{counter[0]}"
    command = [sys.executable, "-m", "kerasforge", "train", name, "--quiet", "--run-dir", str(run_dir)]
    command += ["--set", f"training.jit_compile={jit}"]
    if epochs:
        command += ["--set", f"training.epochs={epochs}"]
    started = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    wall = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return metrics["fit_seconds"], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--recipes", nargs="+", default=list(TASK_RECIPES))
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--jit", nargs="+", default=["auto"], help="training.jit_compile values to compare")
    parser.add_argument("--epochs", type=int, default=0, help="override training.epochs (0: the recipe's)")
    args = parser.parse_args()
    counter = [0]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.recipes:
            contenders = {
                (backend, jit): (
                    lambda backend=backend, jit=jit: _train(scratch, name, backend, jit, args.epochs, counter)
                )
                for backend in args.backends
                for jit in args.jit
            }
            results = interleaved(contenders, args.rounds)
            base = results.get(("tensorflow", "auto"))
            base_fit = median([fit for fit, _ in base]) if base else None
            base_wall = median([wall for _, wall in base]) if base else None
            for (backend, jit), values in results.items():
                fit = median([value[0] for value in values])
                wall = median([value[1] for value in values])
                rows.append(
                    {
                        "recipe": name,
                        "backend": backend,
                        "jit_compile": jit,
                        "fit s": f"{fit:.2f}",
                        "fit / tf": f"{fit / base_fit:.2f}" if base_fit else "-",
                        "wall s": f"{wall:.1f}",
                        "wall / tf": f"{wall / base_wall:.2f}" if base_wall else "-",
                    }
                )
            print(f"{name}: done ({args.rounds} interleaved rounds)", file=sys.stderr)
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
