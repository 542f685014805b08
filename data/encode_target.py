"""Encodes a target column for a regression, binary or multiclass model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kerasforge.checks import check_choice
from kerasforge.errors import DataError

TASKS = ("regression", "binary", "multiclass")
# A numeric target with more distinct values than this, and fewer rows than
# `MIN_ROWS_PER_CLASS` per value on average, is a quantity, not class labels.
MAX_NUMERIC_CLASSES = 20
MIN_ROWS_PER_CLASS = 5


def encode_target(values: npt.ArrayLike | pd.Series, task: str) -> tuple[np.ndarray, list[Any] | None]:
    """Encodes target values into the array a Keras model trains on.

    Regression targets become a `float32` column of shape `(rows, 1)`, the
    shape of a one-unit linear output (Keras's `R2Score` needs it 2-D). Binary
    targets become a `float32` column of 0 and 1, where 1 is the second of the
    two sorted class names. Multiclass targets become `int32` class indices
    of shape `(rows,)` for a sparse categorical loss, indexing the sorted
    class names.

    Args:
        values: 1-D array-like or `pandas.Series`. The raw target; a Series
            name is used in error messages.
        task: String. `"regression"`, `"binary"` or `"multiclass"`.

    Returns:
        A tuple `(array, classes)`. `classes` is the sorted list of class
        names (plain Python values) for classification, `None` for
        regression.

    Raises:
        DataError: An unknown task, missing values, a non-numeric or infinite
            regression target, a binary target without exactly 2 classes, a
            multiclass target with fewer than 2, or a continuous target for
            classification (non-integer numbers, or more than 20 distinct
            numbers with fewer than 5 rows each on average).

    Example:

    >>> y, classes = encode_target(["cat", "dog", "cat"], "binary")
    >>> y.ravel().tolist(), classes
    ([0.0, 1.0, 0.0], ['cat', 'dog'])
    """
    check_choice("task", task, TASKS, error=DataError)
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    label = f"Target column {series.name!r}" if series.name is not None else "The target"
    missing = int(series.isna().sum())
    if missing:
        raise DataError(
            f"{label} has {missing} missing values (NaN) out of {len(series)} rows. Drop those rows first."
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise DataError(
                f"{label} holds non-numeric values such as {series.iloc[:1].tolist()[0]!r}; "
                "task regression needs numbers. Use task binary or multiclass "
                "for class labels."
            )
        array = series.to_numpy(dtype=np.float64)
        infinite = int(np.isinf(array).sum())
        if infinite:
            raise DataError(f"{label} has {infinite} infinite values.")
        return array.astype(np.float32).reshape(-1, 1), None
    if pd.api.types.is_float_dtype(series) and not np.all(np.mod(series, 1) == 0):
        raise DataError(
            f"{label} holds non-integer numbers such as {_first_fraction(series)!r}; "
            f"task {task} needs class labels. Use task regression."
        )
    _refuse_continuous(series, label, task)
    codes, classes = pd.factorize(series, sort=True)
    classes = [class_label(name) for name in classes.tolist()]
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"{label} has {len(classes)} classes {_preview(classes)}; task binary "
            "needs exactly 2. Use task multiclass."
        )
    if len(classes) < 2:
        raise DataError(
            f"{label} has only {len(classes)} class {_preview(classes)}; task multiclass needs at least 2."
        )
    if task == "binary":
        return codes.astype(np.float32).reshape(-1, 1), classes
    return codes.astype(np.int32), classes


def class_label(value: Any) -> Any:
    """A class name as a plain Python value, a whole float as an int (`1.0` read from a CSV is class `1`).

    Streamed CSV columns of numbers are read as floats, in-memory ones as ints; both name the class `1`.

    Example:

    >>> class_label(np.float64(2.0)), class_label(np.int64(1)), class_label("a")
    (2, 1, 'a')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _refuse_continuous(series: pd.Series, label: str, task: str) -> None:
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return
    distinct = series.nunique()
    if distinct <= MAX_NUMERIC_CLASSES or len(series) >= MIN_ROWS_PER_CLASS * distinct:
        return
    low, high = series.min().item(), series.max().item()
    raise DataError(
        f"{label} has {distinct} distinct numbers (from {low!r} to {high!r}) in "
        f"{len(series)} rows: a quantity to predict, not class labels for task {task}. "
        "Use task regression, or bin the target into classes first."
    )


def _preview(classes: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(map(repr, classes[:limit]))
    return f"[{shown}{', ...' if len(classes) > limit else ''}]"


def _first_fraction(series: pd.Series) -> Any:
    return series[np.mod(series, 1) != 0].iloc[0].item()
