"""What a model's preprocessing needs to know about each column, in one pass over the rows.

The statistics are computed either from a whole `pandas.DataFrame`
(`column_statistics(frame, ...)`) or in ONE streaming pass over chunks
(`ColumnStatisticsAccumulator`: `update(chunk)` repeatedly, then `finish()`);
both run the same code, so they agree. Accumulators are mergeable
(`merge(other)`), so shards may be summarised in parallel and combined.

The model's raw input format is in `model_inputs`; the two kinds of column in
`column_kinds`.

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
from typing import Any, Literal

import numpy as np
import pandas as pd

from kerasforge.checks import check_choice, check_integer
from kerasforge.data.column_kinds import (
    CATEGORICAL,
    MISSING_STRING,
    NUMERIC,
    as_category_strings,
    column_kind,
)
from kerasforge.data.encode_target import class_label
from kerasforge.data.text_columns import MAX_PLACEHOLDERS, refuse_placeholders, text_hint
from kerasforge.errors import DataError

FILLS = ("mean", "median")
CLASSIFICATION_TASKS = ("binary", "multiclass")
TASKS = ("regression", *CLASSIFICATION_TASKS)
# Most distinct levels a categorical column may have (one-hot or embedding inputs).
MAX_LEVELS = 50
# Non-missing values kept per numeric column for a "median" fill: exact up to this.
MEDIAN_SAMPLE = 100_000
# Most distinct target values tracked for classification; more is a quantity, not classes.
MAX_CLASSES = 10_000


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
    # The first few distinct values, to say what a column with too many levels holds.
    examples: list[str] = field(default_factory=list)


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
            state.examples = _first_examples(state.examples, their_levels.examples)
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
            raise DataError(
                f"Column {name!r} has no values: every row is missing. Leave it out of `features`."
            )
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
        refuse_placeholders(name, levels_state.examples, levels_state.text_counts, levels_state.numeric_like)
        counts = levels_state.counts
        if counts is None:
            raise DataError(
                f"Column {name!r} has more than {self.max_levels} distinct values and cannot be "
                f"encoded as categories (at most {self.max_levels}).{text_hint(levels_state.examples)} "
                "Leave it out of `features`."
            )
        if not counts:
            raise DataError(
                f"Column {name!r} has no values: every row is missing. Leave it out of `features`."
            )
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
        state.examples = _first_examples(state.examples, list(chunk_dict))
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
            self._add_classes({class_label(value) for value in pd.unique(series[~missing])})

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


def _add_counts(
    mine: dict[str, int] | None, theirs: Mapping[str, int] | None, limit: int
) -> dict[str, int] | None:
    # None means "more distinct values than `limit`": bounded memory on any column.
    if mine is None or theirs is None:
        return None
    for key, count in theirs.items():
        mine[key] = mine.get(key, 0) + count
    return None if len(mine) > limit else mine


_EXAMPLES = 5


def _first_examples(mine: list[str], theirs: Iterable[str]) -> list[str]:
    for value in theirs:
        if len(mine) >= _EXAMPLES:
            break
        if value not in mine:
            mine.append(value)
    return mine
