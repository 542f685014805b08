"""Times `training.distribute` on 2 logical CPU devices against 1, and against plain Keras's own.

Each run is a subprocess (the CPU is split into devices before the backend
starts): `KERAS_BACKEND=B kerasforge train RECIPE --quiet`, or the same model
in plain Keras (`_plain_keras_distributed.py`: MirroredStrategy on TensorFlow,
DataParallel on JAX, `compile()` defaults, `fit` on NumPy arrays, no
callbacks), in interleaved rounds so a shared machine's drift is spread over
every contender. The figure is `fit` seconds, compilation included
(kerasforge's from the run folder's `fit_seconds`, with its default monitors).
Two ratios: 1 device / 2 devices, above 1.00x when the 2 devices were faster;
and plain Keras / kerasforge at the same device count, above 1.00x when
kerasforge was faster. On a CPU the logical devices share the same cores: this
measures what distribution costs, not a speed-up (that needs GPUs or hosts).
The plain contender is `digits_mlp`'s model, so it runs only with that recipe.

On torch, which has no strategy here, only 1 device runs: the plain Keras
ratio alone.

Usage:
    python benchmarks/distributed.py [--rounds 3] [--backends tensorflow jax torch] [--recipe digits_mlp]
        [--epochs 10]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import interleaved, median, print_table

PLAIN_SCRIPT = Path(__file__).with_name("_plain_keras_distributed.py")


def _fit_seconds(backend: str, recipe: str, epochs: int, devices: int) -> float:
    distribute = (
        []
        if devices == 1
        else ["--set", "training.distribute.strategy=auto", "--set", f"training.distribute.devices={devices}"]
    )
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kerasforge",
                "train",
                recipe,
                "--run-dir",
                str(run_dir),
                "--quiet",
                "--set",
                f"training.epochs={epochs}",
                "--set",
                "callbacks.early_stopping.patience=1000",
                *distribute,
            ],
            env={**os.environ, "KERAS_BACKEND": backend},
            capture_output=True,
            check=True,
            timeout=900,
        )
        return json.loads((run_dir / "metrics.json").read_text())["fit_seconds"]


def _plain_fit_seconds(backend: str, epochs: int, devices: int) -> float:
    finished = subprocess.run(
        [sys.executable, str(PLAIN_SCRIPT), "--devices", str(devices), "--epochs", str(epochs)],
        env={**os.environ, "KERAS_BACKEND": backend},
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return float(finished.stdout.split()[-1])


def _device_counts(backend: str) -> tuple[int, ...]:
    """torch has no strategy to split a CPU with: one device, kerasforge against plain Keras."""
    return (1,) if backend == "torch" else (1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--backends", nargs="+", default=["tensorflow", "jax"], choices=["tensorflow", "jax", "torch"]
    )
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    plain = args.recipe == "digits_mlp"
    runners = {}
    for backend in args.backends:
        for devices in _device_counts(backend):
            runners[("kerasforge", backend, devices)] = lambda b=backend, d=devices: _fit_seconds(
                b, args.recipe, args.epochs, d
            )
            if plain:
                runners[("plain", backend, devices)] = lambda b=backend, d=devices: _plain_fit_seconds(
                    b, args.epochs, d
                )
    results = interleaved(runners, args.rounds)
    rows = []
    for backend in args.backends:
        for devices in _device_counts(backend):
            ours = results[("kerasforge", backend, devices)]
            row = {"backend": backend, "devices": devices, "kerasforge s": f"{median(ours):.2f}"}
            if devices == 2:
                row["1/2 devices"] = f"{median(results[('kerasforge', backend, 1)]) / median(ours):.2f}x"
            if plain:
                theirs = results[("plain", backend, devices)]
                row["plain Keras s"] = f"{median(theirs):.2f}"
                # Paired within a round, then the median: the drift between rounds cancels.
                row["plain/kerasforge"] = (
                    f"{median([keras / kf for keras, kf in zip(theirs, ours, strict=True)]):.2f}x"
                )
                if devices == 2:
                    row["plain 1/2 devices"] = (
                        f"{median(results[('plain', backend, 1)]) / median(theirs):.2f}x"
                    )
            rows.append(row)
    columns = ["backend", "devices", "kerasforge s", "plain Keras s", "plain/kerasforge", "1/2 devices"]
    print(
        f"{args.recipe}, {args.epochs} epochs, fit seconds with compilation, median of {args.rounds} rounds"
    )
    print_table(rows, [*columns, "plain 1/2 devices"] if plain else [c for c in columns if "plain" not in c])


if __name__ == "__main__":
    main()
