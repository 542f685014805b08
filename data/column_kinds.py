"""The two kinds of feature column, and a column's values as the model's raw input takes them.

A numeric column is `float32` with NaN for a missing value; a categorical
(text, category or bool) column is strings with `MISSING_STRING` for one.
Shared by the statistics (`column_statistics`), the checks of text columns
(`text_columns`) and the raw inputs (`model_inputs`).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
# The string a missing value of a categorical column is in the model's raw input.
MISSING_STRING = ""


def column_kind(series: pd.Series) -> str | None:
    """`"numeric"`, `"categorical"`, or None for a column with no values (kind unknown).

    Numbers (not bool) are numeric; text, category and bool columns are categorical.
    """
    if series.isna().all():
        return None
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return NUMERIC
    return CATEGORICAL


def as_category_strings(series: pd.Series) -> pd.Series:
    """A column as the model's categorical input: strings, `""` for missing.

    Args:
        series: `pandas.Series` of any dtype.

    Returns:
        An object `pandas.Series` of `str`.
    """
    missing = series.isna().to_numpy()
    strings = series.astype(object).where(~missing, MISSING_STRING).map(str)
    return strings


def as_numeric_floats(series: pd.Series) -> np.ndarray:
    """A numeric column as the model's input: `float32`, NaN for missing."""
    return series.to_numpy(dtype=np.float32, na_value=np.nan)
