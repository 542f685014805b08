"""Trains every bundled task recipe through the CLI and prints its test figure.

Each recipe runs as `kerasforge train NAME --quiet` in a subprocess, so the
wall time includes Python and TensorFlow start-up, as a user sees it.

Usage:
    python benchmarks/bundled_recipes.py [NAME ...]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import print_table

TARGETS = {
    "digits_mlp": ("accuracy", 0.96),
    "breast_cancer_mlp": ("accuracy", 0.95),
    "diabetes_regression": ("r2_score", 0.40),
}


def main():
    names = sys.argv[1:] or list(TARGETS)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            run_dir = Path(scratch) / name
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "kerasforge", "train", name, "--quiet", "--run-dir", str(run_dir)],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            seconds = time.perf_counter() - started
            metrics = json.loads((run_dir / "metrics.json").read_text())
            events = json.loads((run_dir / "events.json").read_text())
            metric, target = TARGETS[name]
            value = metrics["test"][metric]
            rows.append(
                {
                    "recipe": name,
                    "metric": metric,
                    "test": f"{value:.4f}",
                    "target": f">= {target}",
                    "met": "yes" if value >= target else "NO",
                    "epochs": metrics["epochs_run"],
                    "wall s": f"{seconds:.1f}",
                    "events": len(events),
                }
            )
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
