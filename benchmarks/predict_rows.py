"""`predict_rows` on a saved run's model against plain Keras `model.predict`, called in a loop.

A bundled recipe is trained for one epoch into a temporary run folder and its
`model.keras` loaded once. Then, interleaved in a rotating order `--repeats`
times, each contender predicts the same raw rows `--calls` times in a row (as a
caller serving requests would): `predict_rows(model, rows)` and Keras's own
`model.predict(rows)` on the same raw-column dict (TensorFlow only: its
tensors hold strings; on JAX and torch plain Keras cannot take text columns at
all). Printed: the median seconds per call at each batch size and the ratio
kerasforge / Keras.

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/predict_rows.py --repeats 5
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--rows", type=int, nargs="+", default=[5, 1000])
    parser.add_argument("--calls", type=int, default=10, help="predictions in a row per contender and round")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import keras
    import numpy as np
    import pandas as pd

    from kerasforge.data.column_kinds import NUMERIC
    from kerasforge.data.model_inputs import raw_inputs
    from kerasforge.recipes import load_recipe, predict_rows, train
    from kerasforge.recipes.engine.use_model import load_run_model

    rows_table = []
    with tempfile.TemporaryDirectory() as folder:
        train(load_recipe(args.recipe, {"training.epochs": 1}), run_dir=Path(folder) / "run", verbose=0)
        run = load_run_model(Path(folder) / "run")
        generator = np.random.default_rng(0)
        for count in args.rows:
            # Rows drawn from the training statistics: a numeric column around its mean, a text
            # column at its first level.
            frame = pd.DataFrame(
                {
                    column.name: (
                        generator.normal(column.mean, max(column.variance, 1e-12) ** 0.5, count)
                        if column.kind == NUMERIC
                        else [(column.levels or [""])[0]] * count
                    )
                    for column in run.statistics.columns
                }
            )
            rows = raw_inputs(frame, run.statistics)

            def ours(rows=rows):
                for _ in range(args.calls):
                    predict_rows(run.model, rows)

            def plain(rows=rows):
                for _ in range(args.calls):
                    run.model.predict(rows, verbose=0)

            runners = {"kerasforge": ours}
            if keras.backend.backend() == "tensorflow":
                runners["keras"] = plain
            times = interleaved(runners, args.repeats)
            per_call = {name: statistics.median(values) / args.calls for name, values in times.items()}
            row = {"rows": count, "kerasforge s/call": f"{per_call['kerasforge']:.4f}"}
            if "keras" in per_call:
                row["keras s/call"] = f"{per_call['keras']:.4f}"
                row["ratio"] = f"{per_call['kerasforge'] / per_call['keras']:.2f}"
            rows_table.append(row)
    print_table(rows_table, list(rows_table[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
