"""`predict_file` (what `kerasforge predict` runs) against plain Keras on the same large CSV file.

A bundled recipe is trained for one epoch into a temporary run folder; a CSV of
`--rows` new rows is drawn from its training statistics (each numeric column
around its mean). Then, interleaved in a rotating order `--repeats` times:

- kerasforge: `predict_file(run, csv, out)`, which reads the file in chunks of
  65,536 rows, checks them, predicts and appends each chunk to the output;
- plain Keras: `pd.read_csv` of the whole file, `model.predict` of the saved
  raw-rows `model.keras` on its columns as a dict (batch 4,096, as kerasforge
  predicts), and the same output columns (class name, a probability per class)
  written with `to_csv`. TensorFlow only: plain `model.predict` cannot take a raw
  dict on JAX or torch.

Printed: the median seconds of each, rows per second, and the ratio
kerasforge / Keras (median of the per-round ratios).

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/predict_file.py --rows 500000 --repeats 3
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_against


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="digits_mlp")
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import keras
    import numpy as np
    import pandas as pd

    from kerasforge.recipes import load_recipe, train
    from kerasforge.recipes.engine.use_model import load_run_model, predict_file

    with tempfile.TemporaryDirectory() as folder:
        run_dir, csv = Path(folder) / "run", Path(folder) / "new_rows.csv"
        train(load_recipe(args.recipe, {"training.epochs": 1}), run_dir=run_dir, verbose=0)
        run = load_run_model(run_dir)
        generator = np.random.default_rng(0)
        columns = run.statistics.columns
        pd.DataFrame(
            {
                column.name: generator.normal(column.mean, max(column.variance, 1e-12) ** 0.5, args.rows)
                for column in columns
            }
        ).to_csv(csv, index=False)
        model = keras.saving.load_model(run_dir / "model.keras")
        class_names = list(run.class_names)

        def kerasforge() -> None:
            predict_file(run_dir, csv, Path(folder) / "kerasforge.csv", overwrite=True)

        def plain_keras() -> None:
            frame = pd.read_csv(csv)
            raw = {column.name: frame[column.name].to_numpy("float32") for column in columns}
            probabilities = model.predict(raw, batch_size=4096, verbose=0)
            out = pd.DataFrame({"prediction": np.asarray(class_names, dtype=object)[probabilities.argmax(1)]})
            for index, name in enumerate(class_names):
                out[f"probability_{name}"] = probabilities[:, index]
            out.to_csv(Path(folder) / "keras.csv", index=False)

        seconds = interleaved({"kerasforge": kerasforge, "plain Keras": plain_keras}, args.repeats)
        ours = pd.read_csv(Path(folder) / "kerasforge.csv")
        theirs = pd.read_csv(Path(folder) / "keras.csv")
        agree = float((ours["prediction"] == theirs["prediction"]).mean())

    shape = f"{args.recipe}: {args.rows} rows, {len(columns)} columns"
    print(f"{shape}; the predicted classes agree on {agree:.4%}")
    print_against(seconds, rows=args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
