"""Counting what is wrong in a frame's columns, for the messages of the `kerasforge.data` modules."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd


def describe_counts(counts: Mapping[Hashable, int]) -> str:
    """Formats a `{column: count}` mapping as `'a' (3), 'b' (1)`."""
    return ", ".join(f"{column!r} ({count})" for column, count in counts.items())


def nonfinite_counts(
    frame: pd.DataFrame, columns: Iterable[Hashable]
) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
    """Counts NaN and infinite values per numeric column.

    Args:
        frame: `pandas.DataFrame`.
        columns: List of numeric column names to inspect.

    Returns:
        A pair of dicts `(nan_counts, inf_counts)`, each holding only the
        columns that have at least one such value.
    """
    nan_counts: dict[Hashable, int] = {}
    inf_counts: dict[Hashable, int] = {}
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        nans = int(np.isnan(values).sum())
        infs = int(np.isinf(values).sum())
        if nans:
            nan_counts[column] = nans
        if infs:
            inf_counts[column] = infs
    return nan_counts, inf_counts
