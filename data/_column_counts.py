"""Counting what is wrong in a frame's columns, for the messages of the `kerasforge.data` modules."""

import numpy as np


def describe_counts(counts):
    """Formats a `{column: count}` mapping as `'a' (3), 'b' (1)`."""
    return ", ".join(f"{column!r} ({count})" for column, count in counts.items())


def nonfinite_counts(frame, columns):
    """Counts NaN and infinite values per numeric column.

    Args:
        frame: `pandas.DataFrame`.
        columns: List of numeric column names to inspect.

    Returns:
        A pair of dicts `(nan_counts, inf_counts)`, each holding only the
        columns that have at least one such value.
    """
    nan_counts, inf_counts = {}, {}
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        nans = int(np.isnan(values).sum())
        infs = int(np.isinf(values).sum())
        if nans:
            nan_counts[column] = nans
        if infs:
            inf_counts[column] = infs
    return nan_counts, inf_counts
