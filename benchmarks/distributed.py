"""Times `training.distribute` on 2 logical CPU devices against 1 device, and prints the ratio.

Each run is `KERAS_BACKEND=B kerasforge train RECIPE --quiet` in its own
subprocess (the CPU is split into devices before the backend starts), in
interleaved rounds so a shared machine's drift is spread over both. The figure
is the run folder's `fit_seconds` (compilation included); the ratio is
1 device / 2 devices, so above 1.00x means the 2 devices were faster. On a CPU
the logical devices share the same cores: this measures what distribution
costs, not a speed-up (that needs GPUs or hosts).

Usage:
    python benchmarks/distributed.py [--rounds 3] [--backends tensorflow jax] [--recipe digits_mlp]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    runners = {
        (backend, devices): (lambda b=backend, d=devices: _fit_seconds(b, args.recipe, args.epochs, d))
        for backend in args.backends
        for devices in (1, 2)
    }
    results = interleaved(runners, args.rounds)
    rows = []
    for backend in args.backends:
        one, two = median(results[(backend, 1)]), median(results[(backend, 2)])
        rows.append(
            {
                "backend": backend,
                "1 device s": f"{one:.2f}",
                "2 devices s": f"{two:.2f}",
                "ratio": f"{one / two:.2f}x",
            }
        )
    print_table(rows, ["backend", "1 device s", "2 devices s", "ratio"])


if __name__ == "__main__":
    main()
