"""Loads a dataset (bundled, synthetic or a file) as one `pandas.DataFrame`."""

from __future__ import annotations

import contextlib
import difflib
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kerasforge.checks import check_choice, check_integer, check_number
from kerasforge.errors import DataError

BUNDLED = ("breast_cancer", "diabetes", "digits", "iris", "wine")
SYNTHETIC_TASKS = ("binary", "multiclass", "regression")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
DEFAULT_TARGET = "target"
# Separators of other CSV dialects: a header read as one column holding one was not comma-separated.
OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def load_frame(
    source: str | os.PathLike[str],
    *,
    target: str | None = None,
    task: str | None = None,
    rows: int = 1000,
    features: int = 20,
    informative: int | None = None,
    classes: int = 2,
    noise: float = 0.1,
    seed: int = 0,
    na_values: Sequence[str] | None = None,
    target_scale: float = 1.0,
) -> tuple[pd.DataFrame, str]:
    """Loads a dataset as a single table holding both features and target.

    `source` is one of three things. A scikit-learn bundled dataset name
    (`"digits"`, `"iris"`, `"wine"`, `"breast_cancer"`, `"diabetes"`), whose
    target column is called `"target"`. The string `"synthetic"`, which draws
    `rows` rows with scikit-learn's `make_regression` or
    `make_classification` into columns `x0..x{features-1}` and the target.
    Anything else is a path to a `.csv` or `.parquet` (`.pq`) file read with
    pandas.

    Args:
        source: String or path-like. Dataset name, `"synthetic"` or file path.
        target: String. Name of the target column. Defaults to `None`, which
            means `"target"`.
        task: String. For `"synthetic"` only: `"regression"`, `"binary"` or
            `"multiclass"`. Ignored otherwise. Defaults to `None`.
        rows: Integer. Synthetic rows. Defaults to `1000`.
        features: Integer. Synthetic feature columns. Defaults to `20`.
        informative: Integer. Synthetic features that carry signal. Defaults
            to `None`: half the features, at least enough for `classes`.
        classes: Integer. Synthetic classes for `"multiclass"`; `"binary"`
            always uses 2. Defaults to `2`.
        noise: Float >= 0. Synthetic noise: the standard deviation added to a
            regression target, or the fraction of flipped labels (<= 1) for
            classification. Defaults to `0.1`.
        seed: Integer. Seed for the synthetic draw. Defaults to `0`.
        na_values: List of strings. For files only: extra values that mean
            "missing" (e.g. `["?", "n/a"]`), read as NaN; pandas' own NA
            strings (`""`, `"NA"`, `"NaN"`, ...) always are. Defaults to
            `None`.
        target_scale: Float > 0. For a synthetic regression only: the target is
            multiplied by it (1000 gives a target in the thousands, as prices
            are). Defaults to `1.0`.

    Returns:
        A tuple `(frame, target_name)`.

    Raises:
        DataError: Unknown dataset name, missing file, unsupported suffix,
            unreadable or empty file, missing target column or a bad
            synthetic argument.

    Example:

    >>> frame, target = load_frame("iris")
    >>> frame.shape, target
    ((150, 5), 'target')
    """
    if isinstance(source, str) and source in BUNDLED:
        frame = _load_bundled(source)
    elif isinstance(source, str) and source == "synthetic":
        frame = _make_synthetic(
            task,
            rows,
            features,
            informative,
            classes,
            noise,
            seed,
            target or DEFAULT_TARGET,
            target_scale,
        )
    elif isinstance(source, (str, os.PathLike)):
        frame = _read_file(Path(source), _check_na_values(na_values))
    else:
        raise DataError(
            f"Argument `source` must be a dataset name or a file path. Received: source={source!r}"
        )
    target = DEFAULT_TARGET if target is None else target
    if target not in frame.columns:
        raise DataError(
            f"Target column {target!r} is not in the data from {str(source)!r}. "
            f"Columns: {', '.join(map(str, frame.columns))}"
        )
    return frame, target


def _check_na_values(na_values: Sequence[str] | None) -> list[str]:
    if na_values is None:
        return []
    if not isinstance(na_values, (list, tuple)) or not all(isinstance(value, str) for value in na_values):
        raise DataError(f"Argument `na_values` must be a list of strings. Received: na_values={na_values!r}")
    return list(na_values)


def _load_bundled(name: str) -> pd.DataFrame:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def find_data_file(
    source: str | os.PathLike[str], folders: Iterable[str | os.PathLike[str]] = (".",)
) -> Path:
    """Returns the path of a data file, looking a relative `source` up in each folder in turn.

    Args:
        source: String or path-like. The file, absolute or relative.
        folders: Sequence of folders to try a relative `source` in, in order.
            Defaults to the current folder only.

    Returns:
        The first candidate that is a file, as a `pathlib.Path`.

    Raises:
        DataError: naming every place it looked, when none holds the file.

    Example:

    >>> find_data_file("/no/such/file.csv")
    Traceback (most recent call last):
    ...
    kerasforge.errors.DataError: Data file '/no/such/file.csv' does not exist; looked at: /no/such/file.csv
    """
    path = Path(source)
    candidates: dict[str, Path] = {}
    for folder in () if path.is_absolute() else folders:
        candidate = Path(folder) / path
        candidates.setdefault(os.path.abspath(candidate), candidate)
    if path.is_absolute():
        candidates[str(path)] = path
    for candidate in candidates.values():
        if candidate.is_file():
            return candidate
    for place, candidate in candidates.items():
        if candidate.exists():
            raise DataError(f"Data file {str(source)!r} is not a file: {place} is a folder.")
    raise DataError(f"Data file {str(source)!r} does not exist; looked at: {', '.join(candidates)}")


def _missing_to_nan(frame: pd.DataFrame, na_values: Sequence[str] | None) -> pd.DataFrame:
    """Turns `na_values` strings into NaN, then text columns that are all numbers into numbers.

    `read_csv` does both itself through its `na_values` argument; a parquet
    file stores a column holding `"?"` as text, so it is done here.
    """
    if not na_values:
        return frame
    frame = frame.replace(list(na_values), np.nan)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
    return frame


def check_csv_header(path: str | os.PathLike[str], columns: Sequence[Any]) -> None:
    """Refuses a CSV file whose header reads as one column holding another separator (`;`, tab, `|`).

    Args:
        path: The file, for the message.
        columns: The column names pandas or pyarrow read from its header.

    Raises:
        DataError: naming the file, the one column read, and the separator it looks to use.
    """
    if len(columns) != 1:
        return
    name = str(columns[0])
    for separator, said in OTHER_SEPARATORS.items():
        if separator in name:
            raise DataError(
                f"Data file {str(path)!r} reads as one column {name!r}: it looks separated by {said}. "
                "kerasforge reads comma-separated CSV files; save it with commas "
                "(pandas: pd.read_csv(path, sep=...).to_csv(path, index=False))."
            )


@contextlib.contextmanager
def reading_errors(path: Path) -> Iterator[None]:
    """Turns pandas' and pyarrow's errors while reading `path` into one-line `DataError`s."""
    try:
        yield
    except DataError:
        raise
    except UnicodeDecodeError as err:
        raise DataError(
            f"Data file {str(path)!r} is not UTF-8: byte 0x{err.object[err.start]:02x} at offset {err.start} "
            "(latin-1 or a Windows code page?). Save it as UTF-8 (pandas: pd.read_csv(path, "
            "encoding='latin-1').to_csv(path, index=False))."
        ) from err
    except pd.errors.EmptyDataError as err:
        raise DataError(f"Data file {str(path)!r} is empty.") from err
    except ImportError as err:
        raise DataError(f"Reading {str(path)!r} needs pyarrow: pip install 'kerasforge[parquet]'") from err
    except (ValueError, OSError) as err:
        raise DataError(f"Cannot read data file {str(path)!r}: {err}") from err


def _read_file(path: Path, na_values: Sequence[str] | None = None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        if not suffix and not path.exists():
            choices = [*BUNDLED, "synthetic"]
            close = difflib.get_close_matches(str(path), choices, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"Unknown data source {str(path)!r}. Allowed: "
                f"{', '.join(choices)}, or a .csv or .parquet path.{hint}"
            )
        raise DataError(
            f"Data file {str(path)!r} has an unsupported suffix {suffix!r}. "
            f"Allowed suffixes: {', '.join(FILE_SUFFIXES)}"
        )
    path = find_data_file(path)
    with reading_errors(path):
        if suffix == ".csv":
            frame = pd.read_csv(path, na_values=na_values or None)
            check_csv_header(path, frame.columns)
        else:
            frame = _missing_to_nan(pd.read_parquet(path), na_values)
    if len(frame) == 0:
        raise DataError(
            f"Data file {str(path)!r} has no rows (columns: {', '.join(map(str, frame.columns)) or 'none'})."
        )
    return frame


def _make_synthetic(
    task: str | None,
    rows: int,
    features: int,
    informative: int | None,
    classes: int,
    noise: float,
    seed: int,
    target: str,
    target_scale: float = 1.0,
) -> pd.DataFrame:
    from sklearn import datasets

    check_choice("task", task, SYNTHETIC_TASKS, error=DataError)
    rows = check_integer("rows", rows, 2, error=DataError)
    features = check_integer("features", features, 1, error=DataError)
    seed = check_integer("seed", seed, 0, error=DataError)
    classes = 2 if task == "binary" else check_integer("classes", classes, 2, error=DataError)
    limit = 1 if task != "regression" else math.inf
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise <= limit:
        allowed = "between 0 and 1 (fraction of flipped labels)" if limit == 1 else ">= 0"
        raise DataError(
            f"Argument `noise` must be a number {allowed} for task {task!r}. Received: noise={noise!r}"
        )
    check_number("target_scale", target_scale, 0, strict=True, error=DataError)
    if target_scale != 1 and task != "regression":
        raise DataError(
            f"Argument `target_scale` scales a regression target; task {task!r} has class labels. "
            f"Received: target_scale={target_scale!r}"
        )
    # make_classification needs 2**informative >= classes (one cluster each).
    needed = 1 if task == "regression" else max(1, math.ceil(math.log2(classes)))
    if informative is None:
        informative = min(features, max(needed, math.ceil(features / 2)))
    informative = check_integer("informative", informative, needed, error=DataError)
    if informative > features:
        raise DataError(
            f"Argument `informative` must be <= features ({features}). Received: informative={informative}"
        )
    if task == "regression":
        x, y = datasets.make_regression(
            n_samples=rows,
            n_features=features,
            n_informative=informative,
            noise=noise,
            random_state=seed,
        )
        y = y * target_scale
    else:
        x, y = datasets.make_classification(
            n_samples=rows,
            n_features=features,
            n_informative=informative,
            n_redundant=0,
            n_repeated=0,
            n_classes=classes,
            n_clusters_per_class=1,
            flip_y=noise,
            random_state=seed,
        )
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(features)])
    frame[target] = y.astype(np.float64 if task == "regression" else np.int64)
    return frame
