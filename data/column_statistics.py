"""What a model's preprocessing needs to know about each column, in one pass over the rows.

The statistics are computed either from a whole `pandas.DataFrame`
(`column_statistics(frame, ...)`) or in ONE streaming pass over chunks
(`ColumnStatisticsAccumulator`: `update(chunk)` repeatedly, then `finish()`);
both run the same code, so they agree. Accumulators are mergeable
(`merge(other)`), so shards may be summarised in parallel and combined.

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

What a chunk must look like: a `pandas.DataFrame` holding every feature column
(and the target column, when one is given), with the same columns in every
chunk. A numeric column must have a numeric dtype (int, float) in every chunk
where it has any value; a categorical column an object, string, category or
bool dtype. A chunk in which a column is entirely missing (pandas reads it as
float NaN) does not decide that column's kind. Missing values are NaN/None (and
`""` in a categorical column). A column that is numeric in one chunk and text
in another is a `DataError` naming it: read such a column with a fixed dtype.

Numeric mean and variance use Chan et al.'s parallel update (per chunk, then
merged), which is stable for large counts and large offsets. The variance is
the population variance (`ddof=0`), as Keras's `Normalization.adapt` computes.
A `"median"` fill is exact up to `MEDIAN_SAMPLE` non-missing values per column,
and beyond that is the median of a uniform random sample of that many values
(bottom-k by random key, so merged samples stay uniform).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from kerasforge.checks import check_choice, check_integer
from kerasforge.errors import DataError

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
KINDS = (NUMERIC, CATEGORICAL)
FILLS = ("mean", "median")
CLASSIFICATION_TASKS = ("binary", "multiclass")
TASKS = ("regression", *CLASSIFICATION_TASKS)
# The string a missing value of a categorical column is in the model's raw input.
MISSING_STRING = ""
# Most distinct levels a categorical column may have (one-hot or embedding inputs).
MAX_LEVELS = 50
# Non-missing values kept per numeric column for a "median" fill: exact up to this.
MEDIAN_SAMPLE = 100_000
# Most distinct target values tracked for classification; more is a quantity, not classes.
MAX_CLASSES = 10_000
# A text column whose values are numbers but for at most this many distinct
# strings, together fewer than half its values, is a numeric column with
# placeholders for "missing" (`?`, `n/a`, `-`), not categories.
MAX_PLACEHOLDERS = 5


@dataclass(frozen=True)
class ColumnSummary:
    """The statistics of one feature column.

    Attributes:
        name: The column's name.
        kind: `"numeric"` or `"categorical"`.
        count: Non-missing (and, for numeric, finite) values seen.
        missing: Missing values seen (NaN, None, or `""` in a categorical column).
        infinite: Infinite values seen (numeric only; the caller decides to refuse them).
        mean, variance, minimum, maximum: Of the finite values (numeric only, else None).
        fill: The value a missing entry is replaced with: the mean or median
            (numeric), the most frequent level (categorical; kerasforge's own
            model sends a missing text value to its out-of-vocabulary slot instead).
        levels: Sorted category levels, as strings (categorical only, else None).
        level_counts: Rows per level, in the order of `levels` (categorical only).
    """

    name: str
    kind: Literal["numeric", "categorical"]
    count: int
    missing: int
    infinite: int = 0
    mean: float | None = None
    variance: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    fill: float | str | None = None
    levels: tuple[str, ...] | None = None
    level_counts: tuple[int, ...] | None = None

    @property
    def std(self) -> float | None:
        """Population standard deviation (numeric only)."""
        return None if self.variance is None else math.sqrt(self.variance)


@dataclass(frozen=True)
class ColumnStatistics:
    """The statistics of every feature column and the target's class names.

    Attributes:
        columns: One `ColumnSummary` per feature column, in input order.
        rows: Rows seen.
        target: The target column's name, or None.
        task: `"regression"`, `"binary"`, `"multiclass"` or None.
        class_names: Sorted class names (plain Python values) for
            classification, else None.
    """

    columns: tuple[ColumnSummary, ...]
    rows: int
    target: str | None = None
    task: str | None = None
    class_names: list[Any] | None = None

    @property
    def features(self) -> list[str]:
        """Feature column names, in input order."""
        return [column.name for column in self.columns]

    def __getitem__(self, name: str) -> ColumnSummary:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_config(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict; `from_config` reverses it."""
        return {
            "columns": [
                {
                    **column.__dict__,
                    "levels": None if column.levels is None else list(column.levels),
                    "level_counts": None if column.level_counts is None else list(column.level_counts),
                }
                for column in self.columns
            ],
            "rows": self.rows,
            "target": self.target,
            "task": self.task,
            "class_names": self.class_names,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ColumnStatistics:
        """Rebuilds statistics from `to_config()` output."""
        columns = tuple(
            ColumnSummary(
                **{
                    **column,
                    "levels": None if column["levels"] is None else tuple(column["levels"]),
                    "level_counts": None if column["level_counts"] is None else tuple(column["level_counts"]),
                }
            )
            for column in config["columns"]
        )
        return cls(
            columns=columns,
            rows=int(config["rows"]),
            target=config.get("target"),
            task=config.get("task"),
            class_names=config.get("class_names"),
        )


@dataclass
class _NumericState:
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    missing: int = 0
    infinite: int = 0
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    sample_keys: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, count: int, mean: float, m2: float, minimum: float, maximum: float) -> None:
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.count * count / total
        self.count = total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)

    def keep_sample(self, values: np.ndarray, keys: np.ndarray) -> None:
        values = np.concatenate([self.sample, values])
        keys = np.concatenate([self.sample_keys, keys])
        if len(keys) > MEDIAN_SAMPLE:
            kept = np.argpartition(keys, MEDIAN_SAMPLE)[:MEDIAN_SAMPLE]
            values, keys = values[kept], keys[kept]
        self.sample, self.sample_keys = values, keys


@dataclass
class _CategoricalState:
    counts: dict[str, int] | None = field(default_factory=dict)
    missing: int = 0
    # Kept even after `counts` overflows, to tell a numeric column with placeholders.
    numeric_like: int = 0
    text_counts: dict[str, int] | None = field(default_factory=dict)


class ColumnStatisticsAccumulator:
    """Computes `ColumnStatistics` in one pass over chunks of rows.

    See the module docstring for what a chunk must look like and the raw
    input format the statistics serve.

    Args:
        features: List of feature column names, in input order. Defaults to
            `None`: every column of the first chunk but the target.
        target: String. The target column, or None.
        task: String. `"regression"`, `"binary"` or `"multiclass"`; with a
            classification task the target's class names are collected.
            Defaults to `None`.
        fill: String. `"mean"` or `"median"`: a numeric column's fill value.
            Defaults to `"mean"`.
        max_levels: Integer. Most distinct levels a categorical column may
            have. Defaults to `50`.
        seed: Integer. Seeds the sample a large column's median is taken from.

    Raises:
        DataError: A bad argument; in `update`, a missing column or a column
            whose kind changes between chunks; in `finish`, no rows, a column
            with no values, too many levels, or numbers mixed with a few
            placeholder strings.

    Example:

    >>> accumulator = ColumnStatisticsAccumulator(target="y", task="binary")
    >>> accumulator.update(pd.DataFrame({"a": [1.0, 2.0], "c": ["x", ""], "y": ["no", "yes"]}))
    >>> accumulator.update(pd.DataFrame({"a": [3.0, None], "c": ["z", "x"], "y": ["no", "no"]}))
    >>> statistics = accumulator.finish()
    >>> statistics["a"].mean, statistics["c"].levels, statistics.class_names
    (2.0, ('x', 'z'), ['no', 'yes'])
    """

    def __init__(
        self,
        features: Iterable[str] | None = None,
        *,
        target: str | None = None,
        task: str | None = None,
        fill: str = "mean",
        max_levels: int = MAX_LEVELS,
        seed: int = 0,
    ) -> None:
        if features is not None:
            listed = [] if isinstance(features, str) else list(features)
            if not listed:
                raise DataError(
                    f"Argument `features` must be a non-empty list of column names or None. "
                    f"Received: features={features!r}"
                )
            repeated = sorted({f for f in listed if listed.count(f) > 1}, key=str)
            if repeated:
                raise DataError(
                    f"Argument `features` lists {repeated!r} more than once. Received: features={listed!r}"
                )
            if target is not None and target in listed:
                raise DataError(
                    f"Argument `features` lists the target column {target!r}; a model cannot take its "
                    f"own target as an input. Received: features={listed!r}"
                )
            features = listed
        self.features: list[str] | None = features
        self.target = target
        self.task = None if task is None else check_choice("task", task, TASKS, error=DataError)
        self.fill = check_choice("fill", fill, FILLS, error=DataError)
        self.max_levels = check_integer("max_levels", max_levels, 1, error=DataError)
        self.rows = 0
        self._rng = np.random.default_rng(seed)
        self._numeric: dict[str, _NumericState] = {}
        self._categorical: dict[str, _CategoricalState] = {}
        # Columns seen only as all-missing so far: their kind is not known yet.
        self._undecided: dict[str, int] = {}
        self._classes: set[Any] = set()
        self._target_missing = 0

    @property
    def _collects_classes(self) -> bool:
        return self.target is not None and self.task in CLASSIFICATION_TASKS

    def update(self, chunk: pd.DataFrame) -> None:
        """Adds the rows of one chunk.

        Args:
            chunk: `pandas.DataFrame` with every feature column (and the target).

        Raises:
            DataError: A missing column, or a column whose kind differs from earlier chunks.
        """
        if not isinstance(chunk, pd.DataFrame):
            raise DataError(f"A chunk must be a pandas DataFrame. Received: {type(chunk).__name__}")
        if self.features is None:
            self.features = [str(c) for c in chunk.columns if c != self.target]
            if not self.features:
                raise DataError(f"The data has no feature columns besides the target {self.target!r}.")
        wanted = [*self.features, *([self.target] if self.target is not None else [])]
        absent = [c for c in wanted if c not in chunk.columns]
        if absent:
            raise DataError(
                f"Feature columns {', '.join(map(repr, absent))} are not in the data. "
                f"Available: {', '.join(map(str, chunk.columns))}"
            )
        self.rows += len(chunk)
        for name in self.features:
            self._update_column(name, chunk[name])
        if self.target is not None:
            self._update_target(chunk[self.target])

    def merge(self, other: ColumnStatisticsAccumulator) -> None:
        """Adds the rows another accumulator (same arguments) has seen, as if this one had."""
        if (other.features, other.target, other.task) != (self.features, self.target, self.task):
            if other.features is not None and self.features is not None:
                raise DataError(
                    "Cannot merge statistics of different columns or tasks: "
                    f"{self.features}/{self.target}/{self.task} and "
                    f"{other.features}/{other.target}/{other.task}."
                )
            self.features = self.features or other.features
        self.rows += other.rows
        for name, count in other._undecided.items():
            self._missing_only(name, count)
        for name, theirs in other._numeric.items():
            self._check_kind(name, NUMERIC)
            mine = self._numeric.setdefault(name, _NumericState(missing=self._undecided.pop(name, 0)))
            mine.add(theirs.count, theirs.mean, theirs.m2, theirs.minimum, theirs.maximum)
            mine.missing += theirs.missing
            mine.infinite += theirs.infinite
            if self.fill == "median":
                mine.keep_sample(theirs.sample, theirs.sample_keys)
        for name, their_levels in other._categorical.items():
            self._check_kind(name, CATEGORICAL)
            state = self._categorical.setdefault(
                name, _CategoricalState(missing=self._undecided.pop(name, 0))
            )
            state.missing += their_levels.missing
            state.numeric_like += their_levels.numeric_like
            state.counts = _add_counts(state.counts, their_levels.counts, self.max_levels)
            state.text_counts = _add_counts(state.text_counts, their_levels.text_counts, MAX_PLACEHOLDERS)
        self._add_classes(other._classes)
        self._target_missing += other._target_missing

    def finish(self) -> ColumnStatistics:
        """Returns the statistics of every row seen.

        Raises:
            DataError: No rows, a column with no values, more levels than
                `max_levels`, or numbers mixed with a few placeholder strings.
        """
        if self.rows == 0 or self.features is None:
            raise DataError("Cannot compute column statistics of a table with no rows.")
        columns = [self._summary(name) for name in self.features]
        class_names = None
        if self._collects_classes:
            class_names = sorted(self._classes)
        return ColumnStatistics(
            columns=tuple(columns),
            rows=self.rows,
            target=self.target,
            task=self.task,
            class_names=class_names,
        )

    def _summary(self, name: str) -> ColumnSummary:
        if name in self._undecided or (name in self._numeric and self._numeric[name].count == 0):
            raise DataError(f"Column {name!r} has no values: every row is missing.")
        if name in self._numeric:
            state = self._numeric[name]
            if self.fill == "median":
                fill = float(np.median(state.sample))
            else:
                fill = state.mean
            return ColumnSummary(
                name=name,
                kind=NUMERIC,
                count=state.count,
                missing=state.missing,
                infinite=state.infinite,
                mean=state.mean,
                variance=max(state.m2 / state.count, 0.0),
                minimum=state.minimum,
                maximum=state.maximum,
                fill=fill,
            )
        levels_state = self._categorical[name]
        _refuse_placeholders(name, levels_state)
        counts = levels_state.counts
        if counts is None:
            raise DataError(
                f"Column {name!r} has more than {self.max_levels} distinct values and cannot be "
                f"encoded as categories (at most {self.max_levels}). Leave it out of `features`."
            )
        if not counts:
            raise DataError(f"Column {name!r} has no values: every row is missing.")
        levels = sorted(counts)
        # The most frequent level fills a gap; ties go to the first in sorted order.
        fill_level = max(levels, key=lambda level: counts[level])
        return ColumnSummary(
            name=name,
            kind=CATEGORICAL,
            count=sum(counts.values()),
            missing=levels_state.missing,
            fill=fill_level,
            levels=tuple(levels),
            level_counts=tuple(counts[level] for level in levels),
        )

    def _check_kind(self, name: str, kind: str) -> None:
        other = self._categorical if kind == NUMERIC else self._numeric
        if name in other:
            raise DataError(
                f"Column {name!r} holds {kind} values in one part of the data and "
                f"{CATEGORICAL if kind == NUMERIC else NUMERIC} values in another. Read it with one "
                "dtype for every chunk."
            )

    def _missing_only(self, name: str, count: int) -> None:
        if name in self._numeric:
            self._numeric[name].missing += count
        elif name in self._categorical:
            self._categorical[name].missing += count
        else:
            self._undecided[name] = self._undecided.get(name, 0) + count

    def _update_column(self, name: str, series: pd.Series) -> None:
        kind = column_kind(series)
        if kind is None:
            self._missing_only(name, len(series))
            return
        self._check_kind(name, kind)
        if kind == NUMERIC:
            self._update_numeric(name, series)
        else:
            self._update_categorical(name, series)

    def _update_numeric(self, name: str, series: pd.Series) -> None:
        state = self._numeric.setdefault(name, _NumericState(missing=self._undecided.pop(name, 0)))
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        nan = np.isnan(values)
        inf = np.isinf(values)
        state.missing += int(nan.sum())
        state.infinite += int(inf.sum())
        finite = values[~(nan | inf)]
        if len(finite) == 0:
            return
        mean = float(finite.mean())
        state.add(
            len(finite),
            mean,
            float(((finite - mean) ** 2).sum()),
            float(finite.min()),
            float(finite.max()),
        )
        if self.fill == "median":
            state.keep_sample(finite, self._rng.random(len(finite)))

    def _update_categorical(self, name: str, series: pd.Series) -> None:
        state = self._categorical.setdefault(name, _CategoricalState(missing=self._undecided.pop(name, 0)))
        strings = as_category_strings(series)
        present = strings[strings != MISSING_STRING]
        state.missing += len(strings) - len(present)
        chunk_counts = present.value_counts()
        chunk_dict = {str(k): int(v) for k, v in chunk_counts.items()}
        state.counts = _add_counts(state.counts, chunk_dict, self.max_levels)
        numbers = pd.to_numeric(pd.Series(list(chunk_dict), dtype=object), errors="coerce").notna().to_numpy()
        text = {
            level: n for (level, n), number in zip(chunk_dict.items(), numbers, strict=True) if not number
        }
        state.numeric_like += sum(
            n for (_, n), number in zip(chunk_dict.items(), numbers, strict=True) if number
        )
        state.text_counts = _add_counts(state.text_counts, text, MAX_PLACEHOLDERS)

    def _update_target(self, series: pd.Series) -> None:
        missing = series.isna()
        self._target_missing += int(missing.sum())
        if self._collects_classes:
            self._add_classes(set(pd.unique(series[~missing]).tolist()))

    def _add_classes(self, classes: set[Any]) -> None:
        self._classes |= classes
        if len(self._classes) > MAX_CLASSES:
            raise DataError(
                f"Target column {self.target!r} has more than {MAX_CLASSES} distinct values: a quantity "
                f"to predict, not class labels for task {self.task}. Use task regression."
            )


def column_statistics(
    frame: pd.DataFrame,
    features: Iterable[str] | None = None,
    *,
    target: str | None = None,
    task: str | None = None,
    fill: str = "mean",
    max_levels: int = MAX_LEVELS,
    seed: int = 0,
) -> ColumnStatistics:
    """Computes `ColumnStatistics` of a whole frame (one `update` of an accumulator).

    Args:
        frame: `pandas.DataFrame`.
        features, target, task, fill, max_levels, seed: As `ColumnStatisticsAccumulator`.

    Returns:
        A `ColumnStatistics`.

    Raises:
        DataError: As `ColumnStatisticsAccumulator`.

    Example:

    >>> column_statistics(pd.DataFrame({"a": [1.0, 3.0]}))["a"].variance
    1.0
    """
    accumulator = ColumnStatisticsAccumulator(
        features, target=target, task=task, fill=fill, max_levels=max_levels, seed=seed
    )
    accumulator.update(frame)
    return accumulator.finish()


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


def _add_counts(
    mine: dict[str, int] | None, theirs: Mapping[str, int] | None, limit: int
) -> dict[str, int] | None:
    # None means "more distinct values than `limit`": bounded memory on any column.
    if mine is None or theirs is None:
        return None
    for key, count in theirs.items():
        mine[key] = mine.get(key, 0) + count
    return None if len(mine) > limit else mine


def _refuse_placeholders(name: str, state: _CategoricalState) -> None:
    text = state.text_counts
    if text is None or not text or state.numeric_like == 0:
        return
    total_text = sum(text.values())
    if 2 * total_text >= total_text + state.numeric_like:
        return
    shown = ", ".join(f"{value!r} ({count})" for value, count in sorted(text.items()))
    strings = ", ".join(repr(value) for value in sorted(text))
    raise DataError(
        f"Column {name!r} holds numbers except for {total_text} of the "
        f"{total_text + state.numeric_like} values fitted on: {shown}. If they mean 'missing', declare them "
        f"(data.na_values: [{strings}] in a recipe, na_values= for load_frame) and set "
        "missing: mean or median; or leave the column out of `features`."
    )


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
