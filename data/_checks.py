"""Validation helpers shared by the `kerasforge.data` modules.

Private: each public module raises its own messages through these so that every
error names the argument or column, echoes the value and says what is allowed.
"""

import numbers

import numpy as np

from kerasforge.errors import DataError


def check_int(name, value, minimum):
    """Returns `value` if it is an integer >= `minimum`, else raises `DataError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DataError(f"Argument `{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    if value < minimum:
        raise DataError(f"Argument `{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_choice(name, value, allowed):
    """Returns `value` if it is one of `allowed`, else raises `DataError`."""
    if value not in allowed:
        raise DataError(
            f"Argument `{name}` must be one of {', '.join(map(repr, allowed))}. Received: {name}={value!r}"
        )
    return value


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
