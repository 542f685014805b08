"""Text columns that are numbers in disguise: placeholders for "missing", thousands separators, dates.

A column read as text whose values are numbers but for a few strings (`?`,
`n/a`) is a numeric column with placeholders, and one of `12,345.6` values is
numbers with separators: both are refused with a `DataError` naming the column,
the values (and row) and what to do, rather than encoded as many categories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kerasforge.data.column_kinds import CATEGORICAL, MISSING_STRING, column_kind
from kerasforge.errors import DataError

# A text column whose values are numbers but for at most this many distinct
# strings, together fewer than half its values, is a numeric column with
# placeholders for "missing" (`?`, `n/a`, `-`), not categories.
MAX_PLACEHOLDERS = 5

# A number written with thousands separators (`12,345.6`), and a date (`2020-01-31`, `31/01/2020`).
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?|\d{1,2}/\d{1,2}/\d{2,4}")


def refuse_placeholders(
    name: str, examples: Sequence[str], text: Mapping[str, int] | None, numbers: int
) -> None:
    """Raises when a text column's values seen so far are numbers but for a few placeholders, or separators.

    Args:
        name: The column.
        examples: Its first distinct values.
        text: Its distinct non-number values and their counts, or None when there were too many.
        numbers: How many of its values are numbers.

    Raises:
        DataError: See `refuse_numbers_as_text`.
    """
    separated = [value for value in examples if _THOUSANDS.fullmatch(value)]
    if separated and all(_THOUSANDS.fullmatch(value) or _is_number(value) for value in examples):
        refuse_numbers_as_text(name, {separated[0]: 1}, numbers)
    if not text or numbers == 0:
        return
    refuse_numbers_as_text(name, text, numbers, "fitted on")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def text_hint(values: Sequence[str]) -> str:
    """Advice on what a text column with too many levels holds (numbers, dates), or ""."""
    if values and all(_is_number(value) for value in values):
        return (
            f" Its values are numbers (e.g. {values[0]!r}) but it was read as text, so some row holds "
            "text: fix that value, or declare it in data.na_values if it means 'missing'."
        )
    if values and all(_DATE.fullmatch(value) for value in values):
        return (
            f" Its values are dates (e.g. {values[0]!r}), which kerasforge does not encode: derive "
            "numeric columns from them (year, month, day of year, days since a start) instead."
        )
    return ""


def refuse_numbers_as_text(
    name: str, text: Mapping[str, int], numbers: int, among: str = "in the data", row: int | None = None
) -> None:
    """Raises when a column holds numbers except for a few text values, or numbers with thousands separators.

    Args:
        name: The column.
        text: Its distinct non-number values and their counts (a few are enough).
        numbers: How many of its values are numbers.
        among: Which values were looked at, for the message.
        row: The 1-based row of the first text value, when known.

    Raises:
        DataError: naming the column, the text values (and row), and what to do.
    """
    at = f", the first in row {row}" if row is not None else ""
    if text and all(_THOUSANDS.fullmatch(value) for value in text):
        example = next(iter(text))
        raise DataError(
            f"Column {name!r} holds numbers written with thousands separators (e.g. {example!r}{at}); "
            "a numeric column takes plain numbers (12345.6): remove the separators in the file, or leave "
            "the column out of `features`."
        )
    total_text = sum(text.values())
    if not text or numbers == 0 or 2 * total_text >= total_text + numbers:
        return
    shown = ", ".join(f"{value!r} ({count})" for value, count in sorted(text.items()))
    strings = ", ".join(repr(value) for value in sorted(text))
    raise DataError(
        f"Column {name!r} holds numbers except for {total_text} of the "
        f"{total_text + numbers} values {among}: {shown}{at}. If they mean 'missing', declare them "
        f"(data.na_values: [{strings}] in a recipe, na_values= for load_frame) and set "
        "missing: mean or median; or leave the column out of `features`."
    )


def _looks_numeric(values: Sequence[str]) -> bool:
    return any(_is_number(value) or _THOUSANDS.fullmatch(value) for value in values)


def check_text_columns(frame: pd.DataFrame) -> None:
    """Refuses text columns of a whole table that are numbers but for a few values or separators.

    The statistics see only the training rows; this looks at every row, so a
    stray `'oops'` in a test row is named, with its row, rather than turning
    the column into many categories.

    Args:
        frame: `pandas.DataFrame` of the feature columns, all rows.

    Raises:
        DataError: As `refuse_numbers_as_text`, with the first offending row.
    """
    for name in frame.columns:
        series = frame[name]
        if column_kind(series) != CATEGORICAL or isinstance(series.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_bool_dtype(series):
            continue
        # Counted by distinct value, so a text column of many rows costs one hash pass.
        counts = series.value_counts(dropna=True)
        counts.index = counts.index.map(str)
        counts = counts[counts.index != MISSING_STRING]
        if not _looks_numeric(counts.index[:1000]):
            continue  # a text column: its most frequent values are neither numbers nor separated numbers
        is_text = pd.to_numeric(pd.Series(counts.index, dtype=object), errors="coerce").isna().to_numpy()
        text, numbers = counts[is_text], int(counts[~is_text].sum())
        if text.empty or numbers == 0 and not _THOUSANDS.fullmatch(text.index[0]):
            continue
        if len(text) > MAX_PLACEHOLDERS and not all(_THOUSANDS.fullmatch(v) for v in text.index[:50]):
            continue
        shown = {value: int(count) for value, count in text.iloc[:MAX_PLACEHOLDERS].items()}
        position = int(np.flatnonzero(series.astype(object).map(str).isin(list(shown)).to_numpy())[0])
        refuse_numbers_as_text(str(name), shown, numbers, row=position + 1)
