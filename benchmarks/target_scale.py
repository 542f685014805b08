"""A regression target scaled up, learnt as it is and with `data.scale_target`, over several seeds.

One synthetic regression (1,000 rows, 10 features, noise 10) whose target is
multiplied by each `--scales` factor (`data.synthetic.target_scale`), trained
with `diabetes_regression`'s network (32-16 ReLU, Adam at 3e-3) for
`--epochs` epochs, as two variants of one `compare`: the target as it is, and
`data.scale_target: true`. Prints, per scale, the target's std and each
variant's test r2 (mean ± std over the seeds); with `--diabetes`, also
`diabetes_regression` itself on its own budget (up to 300 epochs, early
stopping). The README's table and `TARGET_STD_LIMIT` come from this.

Usage:
    python benchmarks/target_scale.py [--seeds 3] [--epochs 15] [--scales 1 5 20 50 100] [--diabetes]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from _timing import print_table

from kerasforge.recipes import compare, load_recipe

VARIANTS = {"unscaled": {}, "scale_target": {"data.scale_target": True}}
SYNTHETIC = {"rows": 1000, "features": 10, "noise": 10.0}


def _r2(result, variant: str) -> str:
    table = result.table
    row = table[(table["variant"] == variant) & (table["metric"] == "test_r2_score")].iloc[0]
    return f"{row['mean']:.3f} ± {row['std']:.3f}"


def _compare(overrides: dict, seeds: int):
    recipe = load_recipe("diabetes_regression", {**overrides, "variants": VARIANTS})
    with tempfile.TemporaryDirectory() as folder:
        result = compare(recipe, run_dir=f"{folder}/compare", verbose=0, seeds=seeds)
        data = result.runs[next(iter(VARIANTS))].data if result.runs else None
    return result, (float(np.std(data.y_train)) if data is not None else float("nan"))


def _row(name: str, spread: float, result) -> dict:
    return {"data": name, "target std": f"{spread:,.0f}", **{f"r2, {v}": _r2(result, v) for v in VARIANTS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 5, 20, 50, 100])
    parser.add_argument("--diabetes", action="store_true", help="also diabetes_regression on its own budget")
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")  # every run builds its own preprocessing: retracing is expected
    rows = []
    started = time.perf_counter()
    for scale in args.scales:
        overrides = {
            "training.epochs": args.epochs,
            "data.source": "synthetic",
            "data.synthetic": {**SYNTHETIC, "target_scale": scale},
        }
        result, spread = _compare(overrides, args.seeds)
        rows.append(_row(f"synthetic x{scale:g}", spread, result))
    if args.diabetes:
        result, spread = _compare({}, args.seeds)
        rows.append(_row("diabetes_regression", spread, result))
    print(f"test r2, mean ± std over {args.seeds} seeds from the recipe's; target std at the first")
    print_table(rows, ["data", "target std", *(f"r2, {name}" for name in VARIANTS)])
    print(f"wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
