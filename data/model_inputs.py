"""The model's raw inputs from a table, and the names and scales of its encoded features.

The model's raw input format (the contract between the input pipeline, the
saved `model.keras` and `kerasforge predict`):

- A dict `{original column name: 1-D batch}`, one entry per feature column, in
  the order of `ColumnStatistics.features`.
- Numeric columns are `float32`, with NaN for a missing value.
- Categorical (string) columns are strings, with `""` for a missing value.
- Targets are encoded before the model: a class index (multiclass, `int32`),
  0/1 as `float32` (binary, 1 is the second of the sorted class names), or the
  value as `float32` (regression). `ColumnStatistics.class_names` is the
  sorted list of class names for classification, `None` for regression.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kerasforge.data.column_kinds import (
    CATEGORICAL,
    MISSING_STRING,
    NUMERIC,
    as_category_strings,
    as_numeric_floats,
)
from kerasforge.data.column_statistics import ColumnStatistics
from kerasforge.errors import DataError


def raw_inputs(frame: pd.DataFrame, statistics: ColumnStatistics) -> dict[str, np.ndarray]:
    """The model's raw input dict for the rows of `frame` (see the module docstring).

    Args:
        frame: `pandas.DataFrame` holding every feature column.
        statistics: The `ColumnStatistics` the model was built from.

    Returns:
        `{column name: 1-D array}`: `float32` for numeric columns, `str` objects for categorical ones.

    Raises:
        DataError: A missing column, or a numeric column holding text (naming the
            column, a value and what is allowed).
    """
    absent = [name for name in statistics.features if name not in frame.columns]
    if absent:
        raise DataError(
            f"Feature columns {', '.join(map(repr, absent))} are not in the data; the model needs "
            f"{', '.join(map(repr, statistics.features))}. Available: {', '.join(map(str, frame.columns))}"
        )
    inputs: dict[str, np.ndarray] = {}
    for column in statistics.columns:
        series = frame[column.name]
        if column.kind == NUMERIC:
            inputs[column.name] = _numeric_input(column.name, series)
        else:
            inputs[column.name] = as_category_strings(series).to_numpy(dtype=object)
    return inputs


def _numeric_input(name: str, series: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return as_numeric_floats(series)
    numbers = pd.to_numeric(series.astype(object).where(series.notna(), None), errors="coerce")
    bad = numbers.isna() & series.notna() & (series.astype(object) != MISSING_STRING)
    if bad.any():
        value = series[bad].iloc[0]
        row = series.index[bad.to_numpy()][0]
        where = f"row {row + 1}" if isinstance(row, (int, np.integer)) else f"row {row!r}"
        raise DataError(
            f"Column {name!r} holds {value!r} in {where}; it was numeric in training, so it takes "
            "numbers (an empty cell or NaN for missing)."
        )
    return numbers.to_numpy(dtype=np.float32, na_value=np.nan)


OTHER_LEVEL = "<other>"


def encoded_feature_names(statistics: ColumnStatistics) -> list[str]:
    """Names of the model's encoded features, in the order its preprocessing layers produce them.

    Numeric columns come first, in input order (one feature each); then each
    categorical column in input order gives `"column=<other>"` (its
    out-of-vocabulary slot: unseen levels and missing values) followed by
    `"column=level"` per level.

    Args:
        statistics: `ColumnStatistics`.

    Returns:
        A list of strings.
    """
    names = [column.name for column in statistics.columns if column.kind == NUMERIC]
    for column in statistics.columns:
        if column.kind == CATEGORICAL:
            names += [f"{column.name}={level}" for level in (OTHER_LEVEL, *(column.levels or ()))]
    return names


def encoded_feature_scales(statistics: ColumnStatistics) -> list[float]:
    """Standard deviation of each encoded feature before scaling, in `encoded_feature_names` order.

    A numeric column's own standard deviation; for a one-hot slot with share
    `p` of the rows, `sqrt(p * (1 - p))`. Used to spot inputs whose scales
    differ by orders of magnitude.
    """
    scales = [column.std or 0.0 for column in statistics.columns if column.kind == NUMERIC]
    for column in statistics.columns:
        if column.kind == CATEGORICAL:
            rows = column.count + column.missing
            for count in (column.missing, *(column.level_counts or ())):
                share = count / rows
                scales.append(math.sqrt(share * (1 - share)))
    return scales
