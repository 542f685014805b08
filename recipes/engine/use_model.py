"""Using a finished run's model on new rows: `predict_file` and `evaluate_file`.

A run folder written by `train` holds `model.keras`, which takes the raw
columns (see `kerasforge.data.column_statistics`), and `columns.json`, the
statistics its preprocessing was built from: which columns it needs and of
which kind. New rows are read in chunks (`kerasforge.data.read_chunks`), so a
file of any size goes through in bounded memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from kerasforge.data.column_statistics import CATEGORICAL, ColumnStatistics, raw_inputs
from kerasforge.data.read_chunks import CHUNK_ROWS, read_chunks
from kerasforge.errors import DataError, RunDirError
from kerasforge.layers import class_names_of
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.recipes.engine.raw_model import COLUMNS_FILE
from kerasforge.recipes.reports.run_record import check_run_folder
from kerasforge.recipes.schema.loading import read_yaml

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"
PREDICTION_SUFFIXES = (".csv",)
# Rows per predict/evaluate batch inside a chunk.
BATCH_ROWS = 4096


@dataclass
class RunModel:
    """A run's saved model and what it needs to read new rows.

    Attributes:
        model: The loaded `model.keras` (raw columns in).
        statistics: Its `ColumnStatistics` (from `columns.json`).
        class_names: Class names (classification) or None.
        na_values: The recipe's `data.na_values`, read as missing in new files too.
    """

    model: keras.Model
    statistics: ColumnStatistics
    class_names: list | None
    na_values: list[str]

    @property
    def text_columns(self) -> list[str]:
        """The categorical columns, read as text."""
        return [column.name for column in self.statistics.columns if column.kind == CATEGORICAL]

    def chunks(self, data: str | os.PathLike[str], rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The rows of `data` in chunks, read as the recipe read its own file."""
        return read_chunks(data, rows=rows, na_values=self.na_values, text_columns=self.text_columns)


def check_run_model(run_dir: str | os.PathLike[str]) -> Path:
    """Checks, without TensorFlow, that `run_dir` holds a model that takes raw rows.

    Raises:
        RunDirError: not a folder, or no `model.keras`/`columns.json` (a run
            from before models took raw rows, or not a `train` run folder).
    """
    path = check_run_folder(run_dir)
    missing = [name for name in ("model.keras", COLUMNS_FILE, "recipe.yaml") if not (path / name).is_file()]
    if missing:
        raise RunDirError(
            f"run folder {str(path)!r} has no {', '.join(missing)}; give a folder written by "
            "`kerasforge train` (runs written before models took raw rows must be trained again)"
        )
    return path


def load_run_model(run_dir: str | os.PathLike[str]) -> RunModel:
    """Loads a run folder's model (safe mode: no pickle) and its column statistics.

    Raises:
        RunDirError: As `check_run_model`.
    """
    path = check_run_model(run_dir)
    statistics = ColumnStatistics.from_config(json.loads((path / COLUMNS_FILE).read_text(encoding="utf-8")))
    model = keras.saving.load_model(path / "model.keras")
    na_values = read_yaml(path / "recipe.yaml").get("data", {}).get("na_values") or []
    return RunModel(model, statistics, class_names_of(model), list(na_values))


def check_output(out: str | os.PathLike[str], suffixes: tuple[str, ...], overwrite: bool = False) -> Path:
    """Checks an output file argument before any work: suffix, folder, and no silent overwrite.

    Raises:
        DataError: a suffix not in `suffixes`, a missing folder, or an
            existing file without `overwrite`.
    """
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise DataError(f"Argument `--out` must end in {', '.join(suffixes)}. Received: --out={str(out)!r}")
    if path.is_dir():
        raise DataError(f"Argument `--out` names a folder, not a file. Received: --out={str(out)!r}")
    if not path.parent.is_dir():
        raise DataError(
            f"Argument `--out`: folder {str(path.parent)!r} does not exist. Received: --out={str(out)!r}"
        )
    if path.exists() and not overwrite:
        raise DataError(
            f"Argument `--out`: {str(path)!r} exists and would be overwritten; choose another file, "
            "or add --overwrite"
        )
    return path


def _partial(path: Path) -> Path:
    # Written beside the target and renamed onto it: the output appears whole or not at all.
    return path.with_name(f".{path.name}.partial")


def prediction_frame(predictions: np.ndarray, class_names: list | None) -> pd.DataFrame:
    """Model outputs as a table: the predicted value or class, then one probability column per class."""
    if class_names is None:
        return pd.DataFrame({PREDICTION_COLUMN: predictions.reshape(len(predictions), -1)[:, 0]})
    if predictions.shape[-1] == 1:  # binary: the sigmoid is the probability of the second class
        positive = predictions[:, 0]
        probabilities = np.stack([1 - positive, positive], axis=1)
    else:
        probabilities = predictions
    frame = pd.DataFrame(
        {PREDICTION_COLUMN: np.asarray(class_names, dtype=object)[probabilities.argmax(axis=1)]}
    )
    for index, name in enumerate(class_names):
        frame[f"{PROBABILITY_PREFIX}{name}"] = probabilities[:, index]
    return frame


def predict_file(
    run_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    overwrite: bool = False,
    rows: int = CHUNK_ROWS,
) -> int:
    """Predicts every row of a CSV or Parquet file with a run's model and writes a CSV.

    Classification writes `prediction` (the class name) and
    `probability_<class>` per class; regression writes `prediction` (the
    value). Rows keep their order. The file is read and written chunk by
    chunk; the output appears (atomically, by rename) only when every row is
    written, so a failure leaves no half-written file and no earlier file
    is overwritten unless `overwrite`.

    Args:
        run_dir: A run folder written by `train`.
        data: A `.csv` or `.parquet` file with the run's feature columns (others are ignored).
        out: The `.csv` file to write.
        overwrite: Boolean. Replace an existing `out`. Defaults to False.
        rows: Integer. Rows per chunk.

    Returns:
        The number of rows predicted.

    Raises:
        RunDirError: As `check_run_model`.
        DataError: A bad `out`, an unreadable file, a missing feature column,
            or text in a numeric column (naming the column, the value and its row).

    Example:

    ```python
    predict_file("runs/wine-20250101-120000", "new_wines.csv", "predictions.csv")
    ```
    """
    target = check_output(out, PREDICTION_SUFFIXES, overwrite)
    check_run_model(run_dir)
    run = load_run_model(run_dir)
    partial = _partial(target)
    count = 0
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            for chunk in run.chunks(data, rows):
                inputs = raw_inputs(chunk, run.statistics)
                predictions = keras.ops.convert_to_numpy(
                    run.model.predict(inputs, batch_size=BATCH_ROWS, verbose=0)
                )
                prediction_frame(predictions, run.class_names).to_csv(handle, header=count == 0, index=False)
                count += len(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count


def encode_labels(series: pd.Series, statistics: ColumnStatistics) -> np.ndarray:
    """Encodes a new file's target column as the run encoded its own (class index, 0/1 or value).

    Raises:
        DataError: A missing value, a label the run never saw, or text in a regression target.
    """
    name = statistics.target
    if series.isna().any():
        row = int(series.index[series.isna().to_numpy()][0])
        raise DataError(
            f"Target column {name!r} is missing in row {row + 1}; every labelled row needs a value."
        )
    if statistics.class_names is None:
        values = pd.to_numeric(series, errors="coerce")
        if values.isna().any():
            bad = series[values.isna()]
            raise DataError(
                f"Target column {name!r} holds {bad.iloc[0]!r} in row {int(bad.index[0]) + 1}; "
                "the run is a regression, so it takes numbers."
            )
        return values.to_numpy(dtype="float32").reshape(-1, 1)
    lookup = {str(label): index for index, label in enumerate(statistics.class_names)}
    codes = series.astype(str).map(lookup)
    if codes.isna().any():
        bad = series[codes.isna()]
        raise DataError(
            f"Target column {name!r} holds {bad.iloc[0]!r} in row {int(bad.index[0]) + 1}, a class the run "
            f"never saw. Allowed: {', '.join(map(repr, statistics.class_names))}"
        )
    if statistics.task == "binary":
        return codes.to_numpy(dtype="float32").reshape(-1, 1)
    return codes.to_numpy(dtype="int32")


def evaluate_file(
    run_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    rows: int = CHUNK_ROWS,
) -> dict[str, float]:
    """The run's test metrics (its recipe's loss and metrics) on a new labelled file.

    The target column is the run's (`columns.json`); labels are encoded as
    the run encoded them. Metrics accumulate over every chunk, so they equal
    those of one `evaluate` over the whole file.

    Args:
        run_dir: A run folder written by `train`.
        data: A `.csv` or `.parquet` file with the feature columns and the target column.
        out: Optional `.json` file to write the metrics to.
        overwrite: Boolean. Replace an existing `out`. Defaults to False.
        rows: Integer. Rows per chunk.

    Returns:
        Metric name -> value.

    Raises:
        RunDirError: As `check_run_model`.
        DataError: As `predict_file`, plus a missing target column or a label the run never saw.
    """
    target = None if out is None else check_output(out, (".json",), overwrite)
    check_run_model(run_dir)
    run = load_run_model(run_dir)
    name = run.statistics.target

    # One `evaluate` over a generator would need string tensors in the generator adapter, which
    # refuses object arrays; `test_on_batch` keeps the metrics' state from batch to batch instead,
    # so the result is that of one pass over every row (the loss weighted by batch size).
    run.model.reset_metrics()
    results: dict = {}
    for chunk in run.chunks(data, rows):
        if name not in chunk.columns:
            raise DataError(
                f"Target column {name!r} is not in the data; evaluate needs labelled rows. "
                f"Available: {', '.join(map(str, chunk.columns))}"
            )
        inputs = raw_inputs(chunk, run.statistics)
        labels = encode_labels(chunk[name], run.statistics)
        for start in range(0, len(chunk), BATCH_ROWS):
            part = {key: values[start : start + BATCH_ROWS] for key, values in inputs.items()}
            results = run.model.test_on_batch(part, labels[start : start + BATCH_ROWS], return_dict=True)
    metrics = {key: float(value) for key, value in results.items()}
    if target is not None:
        partial = _partial(target)
        write_json(partial, {"test": metrics, "data": str(data)})
        os.replace(partial, target)
    return metrics
