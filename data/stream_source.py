"""Finds the shards of a streamed data source and reads them in chunks of rows, in bounded memory.

A source is a `.parquet` (`.pq`) file, a folder of Parquet shards, a `.csv`
file, or a glob of files of one format (`data/part-*.csv`). Reading goes
through pyarrow: a Parquet shard is read one row group at a time (the row
groups, like the shards, can then be visited in any order), a CSV shard one
block at a time. Nothing here imports a Keras backend.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kerasforge.data.load_frame import FILE_SUFFIXES
from kerasforge.errors import DataError

PARQUET = "parquet"
CSV = "csv"
FORMATS = {".parquet": PARQUET, ".pq": PARQUET, ".csv": CSV}
GLOB_CHARACTERS = "*?["
# Files up to this size are loaded whole by a recipe's `data.stream: auto`; larger ones stream.
# benchmarks/streaming.py --threshold: up to ~55 MB a one-epoch recipe takes about as long either
# way (and loading whole keeps the exact, stratified split); at 185 MB streaming took half the time.
STREAM_THRESHOLD_BYTES = 64 * 2**20
# Bytes pyarrow reads per CSV block: a chunk of about 10-20k rows of 32 numbers.
CSV_BLOCK_BYTES = 1 << 20
# Rows per chunk read from a Parquet row group: bounds memory when a file has huge row groups.
PARQUET_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Shard:
    """One file of a streamed source.

    Attributes:
        path: Where the file is.
        key: Its path relative to the source's root folder, in POSIX form: the
            stable name the row split hashes, unchanged when shards are listed
            in another order or the root folder moves.
        row_groups: For Parquet, the rows of each row group; for CSV, None
            (the rows are known only once read).
    """

    path: Path
    key: str
    row_groups: tuple[int, ...] | None = None

    @property
    def rows(self) -> int | None:
        """Rows in the shard, when its metadata says (Parquet), else None."""
        return None if self.row_groups is None else sum(self.row_groups)


@dataclass(frozen=True)
class StreamSource:
    """The shards of a source, their format and their columns.

    Attributes:
        source: The source as given (a path or a glob), for messages.
        format: `"parquet"` or `"csv"`.
        shards: The shards, sorted by key.
        columns: The column names, in the order of the first shard.
        csv_types: For CSV, the pyarrow type each column is read as in every
            shard (fixed from the first block of the first shard, integers
            widened to floats), so every chunk has the same dtypes.
        na_values: Extra strings read as missing.
    """

    source: str
    format: str
    shards: tuple[Shard, ...]
    columns: tuple[str, ...]
    csv_types: dict[str, Any] | None = None
    na_values: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        """Total size of the shards on disk."""
        return sum(shard.path.stat().st_size for shard in self.shards)

    @property
    def rows(self) -> int | None:
        """Total rows, when every shard's metadata says (Parquet), else None."""
        counts = [shard.rows for shard in self.shards]
        return sum(count for count in counts if count is not None) if None not in counts else None


def is_stream_pattern(source: str | os.PathLike[str]) -> bool:
    """Whether `source` names several shards: a glob, or an existing folder."""
    text = str(source)
    return any(character in text for character in GLOB_CHARACTERS) or Path(text).is_dir()


def locate_stream_source(
    source: str | os.PathLike[str], folders: Sequence[str | os.PathLike[str]] = (".",)
) -> str | None:
    """Where a relative folder or glob is found, trying each folder in turn; None if `source` is neither.

    Args:
        source: String or path-like. A folder or a glob, absolute or relative.
        folders: Folders to try a relative `source` in, in order.

    Returns:
        The first `folder/source` that is a folder or matches a file, as a
        string; `source` itself when absolute; None when `source` is no glob
        and no folder in any of `folders` (a file name or a dataset name).

    Raises:
        DataError: A relative glob that matches no file in any folder, naming each place looked.

    Example:

    >>> locate_stream_source("iris") is None
    True
    """
    text = str(source)
    pattern = any(character in text for character in GLOB_CHARACTERS)
    if Path(text).is_absolute():
        return text if pattern or Path(text).is_dir() else None
    places = [str(Path(folder) / text) for folder in folders]
    for place in places:
        if glob.glob(place, recursive=True) if pattern else Path(place).is_dir():
            return place
    if pattern:
        raise DataError(f"Data source {text!r} matches no file; looked at: {', '.join(places)}")
    return None


def open_source(source: str | os.PathLike[str], *, na_values: Sequence[str] = ()) -> StreamSource:
    """Finds the shards of `source` and checks they share one format and one set of columns.

    Args:
        source: String or path-like. A `.parquet`/`.pq` or `.csv` file, a
            folder (searched recursively for `.parquet`/`.pq` files, or for
            `.csv` files when it holds no Parquet), or a glob such as
            `"data/part-*.csv"` (`**` matches any depth).
        na_values: List of strings. Extra values that mean "missing".
            Defaults to none.

    Returns:
        A `StreamSource`.

    Raises:
        DataError: pyarrow is not installed, a path that does not exist, a glob that matches no data
            file, an unsupported suffix, files of two formats, an unreadable
            shard, or shards whose columns differ (naming the shard and the
            columns).

    Example:

    >>> open_source("/no/such/folder/*.parquet")
    Traceback (most recent call last):
    ...
    kerasforge.errors.DataError: Data source '/no/such/folder/*.parquet' matches no file; ...
    """
    text = str(source)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(f"Streaming {text!r} needs pyarrow: pip install 'kerasforge[parquet]'") from None
    root, paths = _list_paths(text)
    formats = sorted({FORMATS[path.suffix.lower()] for path in paths})
    if len(formats) > 1:
        by_format = {name: next(p for p in paths if FORMATS[p.suffix.lower()] == name) for name in formats}
        raise DataError(
            f"Data source {text!r} mixes file formats: "
            f"{', '.join(f'{name} ({path})' for name, path in by_format.items())}. Use one format."
        )
    na = tuple(na_values)
    shards = [Shard(path, path.relative_to(root).as_posix() if root else path.name) for path in paths]
    if formats[0] == PARQUET:
        shards = [_parquet_shard(shard) for shard in shards]
        columns = [_parquet_columns(shard.path) for shard in shards]
        csv_types = None
    else:
        csv_types = _csv_types(shards[0].path, na)
        columns = [_csv_columns(shard.path) for shard in shards]
    _check_same_columns(shards, columns)
    return StreamSource(text, formats[0], tuple(shards), tuple(columns[0]), csv_types, na)


def _list_paths(text: str) -> tuple[Path | None, list[Path]]:
    """Returns the root the shard keys are relative to (None: a single file) and the sorted files."""
    if any(character in text for character in GLOB_CHARACTERS):
        matches = [Path(match) for match in glob.glob(text, recursive=True) if Path(match).is_file()]
        files = sorted(path for path in matches if path.suffix.lower() in FORMATS)
        if not files:
            found = f" (it matches {len(matches)} files, none {'/'.join(FILE_SUFFIXES)})" if matches else ""
            raise DataError(
                f"Data source {text!r} matches no file{found}; a glob must match "
                f"{', '.join(FILE_SUFFIXES)} files."
            )
        return _glob_root(text), files
    path = Path(text)
    if path.is_dir():
        shards = sorted(
            p for p in path.rglob("*") if p.is_file() and FORMATS.get(p.suffix.lower()) == PARQUET
        )
        if not shards:
            shards = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")
        if not shards:
            raise DataError(
                f"Data folder {text!r} holds no {', '.join(FILE_SUFFIXES)} file; "
                "give a folder of Parquet (or CSV) shards."
            )
        return path, shards
    if path.suffix.lower() not in FORMATS:
        raise DataError(
            f"Data file {text!r} has an unsupported suffix {path.suffix!r}. "
            f"Allowed: {', '.join(FILE_SUFFIXES)} files, a folder of them or a glob."
        )
    if not path.is_file():
        raise DataError(f"Data file {text!r} does not exist.")
    return None, [path]


def _glob_root(pattern: str) -> Path:
    """The deepest folder of `pattern` without glob characters: shard keys are relative to it."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if any(character in part for character in GLOB_CHARACTERS):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _parquet_shard(shard: Shard) -> Shard:
    metadata = _parquet_file(shard.path).metadata
    groups = tuple(metadata.row_group(index).num_rows for index in range(metadata.num_row_groups))
    return Shard(shard.path, shard.key, groups)


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as err:
        raise DataError(f"Cannot read Parquet shard {str(path)!r}: {_first_line(err)}") from None


def _parquet_columns(path: Path) -> list[str]:
    schema = _parquet_file(path).schema_arrow
    # pandas stores a frame's index as a column (`__index_level_0__`): it is no data column.
    index = {
        name for name in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)
    }
    return [name for name in schema.names if name not in index]


def _csv_columns(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as file:
        header = file.readline()
    if not header.strip():
        raise DataError(f"CSV shard {str(path)!r} is empty: it has no header line.")
    return list(pd.read_csv(path, nrows=0).columns)


def _csv_types(path: Path, na_values: tuple[str, ...]) -> dict[str, Any]:
    """The type of each column, from the first block: numbers as float64, the rest as text."""
    import pyarrow as pa
    from pyarrow import csv

    try:
        reader = csv.open_csv(
            path,
            read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=_csv_convert_options(None, na_values),
        )
        schema = reader.schema
    except (OSError, ValueError, pa.ArrowInvalid) as err:
        raise DataError(f"Cannot read CSV shard {str(path)!r}: {_first_line(err)}") from None
    types = {}
    for field in schema:
        numeric = (
            pa.types.is_integer(field.type)
            or pa.types.is_floating(field.type)
            or pa.types.is_null(field.type)
        )
        types[field.name] = (
            pa.float64() if numeric else (pa.bool_() if pa.types.is_boolean(field.type) else pa.string())
        )
    return types


def _csv_convert_options(types: dict[str, Any] | None, na_values: tuple[str, ...]) -> Any:
    from pyarrow import csv

    defaults = csv.ConvertOptions().null_values
    return csv.ConvertOptions(
        column_types=types or {}, null_values=[*defaults, *na_values], strings_can_be_null=True
    )


def _check_same_columns(shards: Sequence[Shard], columns: Sequence[Sequence[str]]) -> None:
    first = set(columns[0])
    for shard, names in zip(shards[1:], columns[1:], strict=True):
        if set(names) == first:
            continue
        missing = [name for name in columns[0] if name not in names]
        extra = [name for name in names if name not in first]
        said = []
        if missing:
            said.append(f"lacks column {', '.join(map(repr, missing))}")
        if extra:
            said.append(f"has extra column {', '.join(map(repr, extra))}")
        raise DataError(
            f"Shard {str(shard.path)!r} {' and '.join(said)}, unlike {str(shards[0].path)!r}: "
            "every shard must have the same columns."
        )


def read_chunks(
    source: StreamSource, shard: Shard, columns: Sequence[str], row_groups: Sequence[int] | None = None
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Reads a shard as `(first row number, frame)` chunks of the given columns.

    Row numbers count from 0 at the top of the shard, whatever order the row
    groups are read in, so they identify a row across runs.

    Args:
        source: The `StreamSource` the shard belongs to.
        shard: The `Shard` to read.
        columns: Column names to read.
        row_groups: For Parquet, the row groups to read, in this order.
            Defaults to `None`: all, in file order. Ignored for CSV.

    Yields:
        Tuples `(start, frame)`: a `pandas.DataFrame` of at most a row group
        (or one CSV block) and the row number of its first row.

    Raises:
        DataError: An unreadable shard, or a CSV value that does not fit its
            column's type (naming the shard and the column).
    """
    if source.format == PARQUET:
        yield from _read_parquet(shard, columns, row_groups, source.na_values)
    else:
        yield from _read_csv(source, shard, columns)


def _read_parquet(
    shard: Shard, columns: Sequence[str], row_groups: Sequence[int] | None, na_values: Sequence[str]
) -> Iterator[tuple[int, pd.DataFrame]]:
    assert shard.row_groups is not None  # a Parquet shard always has them
    starts = [0]
    for size in shard.row_groups[:-1]:
        starts.append(starts[-1] + size)
    file = _parquet_file(shard.path)
    for group in range(len(shard.row_groups)) if row_groups is None else row_groups:
        start = starts[group]
        try:
            batches = file.iter_batches(
                batch_size=PARQUET_CHUNK_ROWS, row_groups=[group], columns=list(columns), use_threads=False
            )
            for batch in batches:
                yield start, _mark_missing(batch.to_pandas(), na_values)
                start += batch.num_rows
        except (OSError, ValueError) as err:
            raise DataError(f"Cannot read Parquet shard {str(shard.path)!r}: {_first_line(err)}") from None


def _read_csv(
    source: StreamSource, shard: Shard, columns: Sequence[str]
) -> Iterator[tuple[int, pd.DataFrame]]:
    import pyarrow as pa
    from pyarrow import csv

    options = _csv_convert_options(source.csv_types, source.na_values)
    options.include_columns = list(columns)
    start = 0
    try:
        reader = csv.open_csv(
            shard.path, read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES), convert_options=options
        )
        for batch in reader:
            yield start, batch.to_pandas()
            start += batch.num_rows
    except (OSError, ValueError, pa.ArrowInvalid) as err:
        raise DataError(f"Cannot read CSV shard {str(shard.path)!r}: {_csv_message(err, source)}") from None


def _csv_message(err: Exception, source: StreamSource) -> str:
    message = _first_line(err)
    if "conversion error to double" in message.lower():
        return (
            f"{message}. The column was read as numbers from the first block of "
            f"{str(source.shards[0].path)!r}; declare the placeholder in na_values or fix the value."
        )
    return message


def _mark_missing(frame: pd.DataFrame, na_values: Sequence[str]) -> pd.DataFrame:
    """Reads `na_values` in a Parquet chunk as missing, and a text column then all numbers as numbers.

    `pyarrow.csv` does this itself for CSV, as `load_frame` does for a whole Parquet file.
    """
    if not na_values:
        return frame
    frame = frame.replace(list(na_values), None)
    for column in frame.columns:
        if frame[column].dtype == object:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
    return frame


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
