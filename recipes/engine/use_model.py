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
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from kerasforge.data.column_kinds import CATEGORICAL
from kerasforge.data.column_statistics import ColumnStatistics
from kerasforge.data.encode_target import class_label
from kerasforge.data.model_inputs import raw_inputs
from kerasforge.data.read_chunks import CHUNK_ROWS, read_chunks
from kerasforge.errors import DataError, KerasforgeError
from kerasforge.layers import class_names_of
from kerasforge.recipes.engine.json_file import write_json
from kerasforge.recipes.engine.raw_model import (
    column_keyed_inputs,
    encoded_dataset,
    predict_parts,
    split_raw_model,
)
from kerasforge.recipes.engine.run_model_files import (
    COLUMNS_FILE,
    PREDICTION_SUFFIXES,
    check_output,
    check_run_model,
    partial_path,
)
from kerasforge.recipes.schema.loading import read_yaml

PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"
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
    def parts(self) -> tuple[keras.Model, keras.Model]:
        """The model's preprocessing and network (`split_raw_model`), split once."""
        if "_parts" not in self.__dict__:
            self.__dict__["_parts"] = split_raw_model(self.model)
        return self.__dict__["_parts"]

    @property
    def text_columns(self) -> list[str]:
        """The categorical columns, read as text."""
        return [column.name for column in self.statistics.columns if column.kind == CATEGORICAL]

    def chunks(self, data: str | os.PathLike[str], rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The rows of `data` in chunks, read as the recipe read its own file."""
        return read_chunks(data, rows=rows, na_values=self.na_values, text_columns=self.text_columns)


def load_run_model(run_dir: str | os.PathLike[str]) -> RunModel:
    """Loads a run folder's model (safe mode: no pickle) and its column statistics.

    Raises:
        RunDirError: As `check_run_model`.
    """
    path = check_run_model(run_dir)
    statistics = ColumnStatistics.from_config(json.loads((path / COLUMNS_FILE).read_text(encoding="utf-8")))
    with column_keyed_inputs():
        model = keras.saving.load_model(path / "model.keras")
    na_values = read_yaml(path / "recipe.yaml").get("data", {}).get("na_values") or []
    return RunModel(model, statistics, class_names_of(model), list(na_values))


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
    partial = partial_path(target)
    count = 0
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            for chunk in run.chunks(data, rows):
                inputs = new_row_inputs(chunk, run.statistics)
                predictions = predict_parts(run.parts, inputs, BATCH_ROWS)
                prediction_frame(predictions, run.class_names).to_csv(handle, header=count == 0, index=False)
                count += len(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count


def new_row_inputs(chunk: pd.DataFrame, statistics: ColumnStatistics) -> dict[str, np.ndarray]:
    """`raw_inputs` of a chunk of new rows, refusing infinite numbers (training refused them too).

    Raises:
        DataError: As `raw_inputs`, or an infinite value, naming its column and row.
    """
    inputs = raw_inputs(chunk, statistics)
    for name, values in inputs.items():
        if values.dtype != object and np.isinf(values).any():
            position = int(np.flatnonzero(np.isinf(values))[0])
            raise DataError(
                f"Column {name!r} holds {values[position]} in row {int(chunk.index[position]) + 1}; "
                "the model takes finite numbers (an empty cell or NaN for missing), as in training."
            )
    return inputs


def _dataset(batches, statistics: ColumnStatistics):
    import tensorflow as tf

    features = {
        column.name: tf.TensorSpec((None,), tf.string if column.kind == CATEGORICAL else tf.float32)
        for column in statistics.columns
    }
    if statistics.task == "multiclass":
        labels = tf.TensorSpec((None,), tf.int32)
    else:
        labels = tf.TensorSpec((None, 1), tf.float32)
    return tf.data.Dataset.from_generator(batches, output_signature=(features, labels))


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
    lookup = {str(class_label(label)): index for index, label in enumerate(statistics.class_names)}
    codes = series.map(lambda value: str(class_label(value))).map(lookup)
    if codes.isna().any():
        bad = series[codes.isna()]
        raise DataError(
            f"Target column {name!r} holds {class_label(bad.iloc[0])!r} in row {int(bad.index[0]) + 1}, "
            "a class the run "
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

    failures: list[KerasforgeError] = []

    def batches():
        try:
            yield from _labelled_batches()
        except KerasforgeError as error:
            # Raised here, tf.data would wrap it in its own multi-line error; re-raised below.
            failures.append(error)

    def _labelled_batches():
        for chunk in run.chunks(data, rows):
            if name not in chunk.columns:
                raise DataError(
                    f"Target column {name!r} is not in the data; evaluate needs labelled rows. "
                    f"Available: {', '.join(map(str, chunk.columns))}"
                )
            inputs = new_row_inputs(chunk, run.statistics)
            labels = encode_labels(chunk[name], run.statistics)
            for start in range(0, len(chunk), BATCH_ROWS):
                part = {key: values[start : start + BATCH_ROWS] for key, values in inputs.items()}
                yield part, labels[start : start + BATCH_ROWS]

    # Keras's own generator adapter refuses string arrays; a tf.data generator with a declared
    # signature takes them, and one `evaluate` over it accumulates every metric over every row.
    # The preprocessing runs inside it (TensorFlow ops, so text works on JAX and torch too).
    preprocessing, network = run.parts
    with warnings.catch_warnings():
        # A generator's length is unknown to Keras, so its end is "running out of data".
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        dataset = encoded_dataset(preprocessing, _dataset(batches, run.statistics))
        try:
            results = network.evaluate(dataset, verbose=0, return_dict=True)
        except Exception:
            # A batch that failed our checks ends the data early; on JAX and torch Keras then
            # fails on the empty input: the user's mistake is the error to report.
            if not failures:
                raise
    if failures:
        raise failures[0]
    metrics = {key: float(value) for key, value in results.items()}
    if target is not None:
        partial = partial_path(target)
        write_json(partial, {"test": metrics, "data": str(data)})
        os.replace(partial, target)
    return metrics
