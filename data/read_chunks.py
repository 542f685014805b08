"""Reads a CSV or Parquet file as a sequence of `pandas.DataFrame` chunks, in bounded memory."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from kerasforge.checks import check_integer
from kerasforge.data.load_frame import FILE_SUFFIXES, _missing_to_nan, find_data_file, reading_errors
from kerasforge.errors import DataError

# Rows per chunk: a few MB per numeric column, large enough that per-chunk overheads vanish.
CHUNK_ROWS = 65_536


def read_chunks(
    source: str | os.PathLike[str],
    *,
    rows: int = CHUNK_ROWS,
    na_values: Sequence[str] | None = None,
    text_columns: Iterable[str] = (),
) -> Iterator[pd.DataFrame]:
    """Yields the rows of a `.csv` or `.parquet` file, `rows` at a time.

    Each chunk's index counts rows from 0 across the whole file, so a message
    about a value can name its row. A CSV's columns are typed per chunk by
    pandas, except `text_columns`, which are read as text (a category column
    whose values look like numbers keeps its spelling: `"007"`, not `7.0`).

    Args:
        source: String or path-like. The file.
        rows: Integer >= 1. Rows per chunk. Defaults to `65536`.
        na_values: List of strings that mean "missing" besides pandas' own.
        text_columns: Column names to read as text.

    Yields:
        `pandas.DataFrame` chunks.

    Raises:
        DataError: A missing or empty file, an unsupported suffix, or an unreadable file.

    Example:

    ```python
    for chunk in read_chunks("new_rows.parquet"):
        print(len(chunk))
    ```
    """
    rows = check_integer("rows", rows, 1, error=DataError)
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise DataError(
            f"Data file {str(path)!r} has an unsupported suffix {suffix!r}. "
            f"Allowed suffixes: {', '.join(FILE_SUFFIXES)}"
        )
    path = find_data_file(path)
    text = list(text_columns)
    seen = 0
    reader = _csv_chunks if suffix == ".csv" else _parquet_chunks
    with reading_errors(path):
        for chunk in reader(path, rows, na_values, text):
            chunk.index = pd.RangeIndex(seen, seen + len(chunk))
            seen += len(chunk)
            yield chunk
    if seen == 0:
        raise DataError(f"Data file {str(path)!r} has no rows.")


def _csv_chunks(
    path: Path, rows: int, na_values: Sequence[str] | None, text: list[str]
) -> Iterator[pd.DataFrame]:
    header = pd.read_csv(path, nrows=0).columns
    dtype = {column: str for column in text if column in header}
    yield from pd.read_csv(path, chunksize=rows, na_values=na_values or None, dtype=dtype)


def _parquet_chunks(
    path: Path, rows: int, na_values: Sequence[str] | None, text: list[str]
) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
        chunk = _missing_to_nan(batch.to_pandas(), na_values)
        for column in text:
            if column in chunk.columns and pd.api.types.is_numeric_dtype(chunk[column]):
                chunk[column] = (
                    chunk[column].astype(object).where(chunk[column].isna(), chunk[column].astype(str))
                )
        yield chunk
