"""Turns a table of numeric and categorical columns into a float32 matrix."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kerasforge.checks import check_choice, check_integer
from kerasforge.data._column_counts import (
    describe_counts,
    nonfinite_counts,
)
from kerasforge.errors import DataError

NORMALIZE = ("standard", "minmax", "none")
# A text column whose values are numbers but for at most this many distinct
# strings, together fewer than half its values, is a numeric column with
# placeholders for "missing" (`?`, `n/a`, `-`), not categories.
MAX_PLACEHOLDERS = 5
CATEGORICAL = ("onehot", "error")
MISSING = ("error", "mean", "median")


class TabularPreprocessor:
    """Encodes, imputes and normalises the feature columns of a table.

    Follows scikit-learn: `__init__` only stores parameters, `fit` learns from
    the training rows and returns `self`, learned attributes end in `_`, and
    `transform` gives a `float32` matrix. Numeric columns are imputed (if
    asked) and normalised with statistics of the rows passed to `fit` only,
    so validation and test rows never leak into them. Non-numeric columns
    (object, string, category, bool) are one-hot encoded; a level unseen in
    `fit` encodes as all zeros, with a warning. NaN in a categorical column is
    replaced by its most frequent level when `missing` is `"mean"` or
    `"median"`. Infinite values are always an error.

    Learned attributes: `feature_names_in_`, `output_feature_names_`,
    `categories_` (dict column -> levels), `impute_values_` (dict numeric
    column -> fill value), `feature_scales_` (standard deviation of every
    output feature before normalisation, for spotting inputs whose scales
    differ by orders of magnitude) and, per output feature, `mean_` and
    `scale_` (`"standard"`) or `min_` and `range_` (`"minmax"`). One-hot
    outputs keep offset 0 and divisor 1; a constant column gets divisor 1.

    Args:
        features: List of column names to use, in this order. Defaults to
            `None`: every column of the frame passed to `fit`, so drop the
            target first.
        normalize: String. `"standard"` (zero mean, unit variance),
            `"minmax"` (to [0, 1]) or `"none"`. Defaults to `"standard"`.
        categorical: String. `"onehot"` encodes non-numeric columns;
            `"error"` rejects them. Defaults to `"onehot"`.
        missing: String. `"error"` rejects NaN; `"mean"` or `"median"` fill
            numeric NaN with that statistic of the fit rows. Defaults to
            `"error"`.
        max_categories: Integer. Most distinct levels a column may have to be
            one-hot encoded. Defaults to `50`.

    Raises:
        DataError: A bad argument, a missing column, NaN (with
            `missing="error"`), inf, an unencodable column, or `transform`
            before `fit`.

    Example:

    >>> frame = pd.DataFrame({"age": [20, 30, 40], "city": ["a", "b", "a"]})
    >>> TabularPreprocessor().fit_transform(frame).shape
    (3, 3)
    """

    features: list[Hashable] | None
    feature_names_in_: list[Hashable]
    output_feature_names_: list[str]
    categories_: dict[Hashable, list[Any]]
    impute_values_: dict[Hashable, Any]
    feature_scales_: np.ndarray
    mean_: np.ndarray
    scale_: np.ndarray
    min_: np.ndarray
    range_: np.ndarray

    def __init__(
        self,
        features: Iterable[Hashable] | None = None,
        normalize: str = "standard",
        categorical: str = "onehot",
        missing: str = "error",
        max_categories: int = 50,
    ) -> None:
        if features is not None:
            # Listed once: a generator would be empty the second time it is read.
            listed = [] if isinstance(features, str) else list(features)
            if not listed:
                raise DataError(
                    "Argument `features` must be a non-empty list of column "
                    f"names or None. Received: features={features!r}"
                )
            features = listed
            repeated = sorted({f for f in features if features.count(f) > 1}, key=str)
            if repeated:
                raise DataError(
                    f"Argument `features` lists {repeated!r} more than once. Received: features={features!r}"
                )
        self.features = features
        self.normalize = check_choice("normalize", normalize, NORMALIZE, error=DataError)
        self.categorical = check_choice("categorical", categorical, CATEGORICAL, error=DataError)
        self.missing = check_choice("missing", missing, MISSING, error=DataError)
        self.max_categories = check_integer("max_categories", max_categories, 1, error=DataError)

    def fit(self, frame: pd.DataFrame) -> TabularPreprocessor:
        """Learns columns, categories, fill values and statistics from `frame`."""
        frame = self._select(frame, self.features)
        if len(frame) == 0:
            raise DataError("Cannot fit TabularPreprocessor on a frame with no rows.")
        numeric = [c for c in frame.columns if _is_numeric(frame[c])]
        categorical = [c for c in frame.columns if c not in numeric]
        for column in categorical:
            _refuse_placeholders(frame[column])
        if categorical and self.categorical == "error":
            raise DataError(
                f"Non-numeric columns {', '.join(map(repr, categorical))} cannot be "
                "used with categorical: error. Set categorical: onehot to encode "
                "them, or leave them out of `features`."
            )
        self._check_values(frame, numeric, categorical)
        self.categories_ = {}
        for column in categorical:
            levels = frame[column].dropna().unique()
            if len(levels) == 0:
                raise DataError(f"Column {column!r} has no values: every row is NaN.")
            if len(levels) > self.max_categories:
                raise DataError(
                    f"Column {column!r} has {len(levels)} distinct values and cannot "
                    f"be one-hot encoded (at most {self.max_categories}). Leave it "
                    "out of `features`."
                )
            self.categories_[column] = sorted(levels.tolist(), key=str)
        self.impute_values_ = {}
        for column in numeric:
            values = frame[column].astype(np.float64)
            if values.notna().sum() == 0:
                raise DataError(f"Column {column!r} has no values: every row is NaN.")
            fill = values.median() if self.missing == "median" else values.mean()
            self.impute_values_[column] = float(fill)
        for column in categorical:
            self.impute_values_[column] = frame[column].mode().iloc[0]
        self.feature_names_in_ = list(frame.columns)
        self.output_feature_names_ = []
        numeric_mask: list[bool] = []
        for column in self.feature_names_in_:
            levels = self.categories_.get(column)
            if levels is None:
                self.output_feature_names_.append(str(column))
                numeric_mask.append(True)
            else:
                self.output_feature_names_ += [f"{column}={level}" for level in levels]
                numeric_mask += [False] * len(levels)
        raw = self._encode(frame)
        self.feature_scales_ = raw.std(axis=0)
        if self.normalize == "standard":
            self.mean_ = np.where(numeric_mask, raw.mean(axis=0), 0.0)
            self.scale_ = np.where(numeric_mask, _nonzero(self.feature_scales_), 1.0)
        elif self.normalize == "minmax":
            self.min_ = np.where(numeric_mask, raw.min(axis=0), 0.0)
            self.range_ = np.where(numeric_mask, _nonzero(np.ptp(raw, axis=0)), 1.0)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns the encoded, normalised `float32` matrix of `frame`."""
        if not hasattr(self, "feature_names_in_"):
            raise DataError("TabularPreprocessor is not fitted yet; call fit() first.")
        frame = self._select(frame, self.feature_names_in_)
        numeric = [c for c in frame.columns if c not in self.categories_]
        self._check_values(frame, numeric, list(self.categories_))
        raw = self._encode(frame)
        if self.normalize == "standard":
            raw = (raw - self.mean_) / self.scale_
        elif self.normalize == "minmax":
            raw = (raw - self.min_) / self.range_
        return raw.astype(np.float32)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Fits on `frame` and returns its transformed matrix."""
        return self.fit(frame).transform(frame)

    def get_config(self) -> dict[str, Any]:
        """Returns the `__init__` arguments as a dict."""
        return {
            "features": None if self.features is None else list(self.features),
            "normalize": self.normalize,
            "categorical": self.categorical,
            "missing": self.missing,
            "max_categories": self.max_categories,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TabularPreprocessor:
        """Creates an unfitted preprocessor from `get_config()` output."""
        return cls(**config)

    def _select(self, frame: pd.DataFrame, columns: Sequence[Hashable] | None) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"TabularPreprocessor expects a pandas DataFrame. Received: {type(frame).__name__}"
            )
        if columns is None:
            return frame
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise DataError(
                f"Feature columns {', '.join(map(repr, absent))} are not in the "
                f"data. Available: {', '.join(map(str, frame.columns))}"
            )
        return frame[columns]

    def _check_values(
        self, frame: pd.DataFrame, numeric: Sequence[Hashable], categorical: Sequence[Hashable]
    ) -> None:
        for column in numeric:
            if not _is_numeric(frame[column]):
                raise DataError(
                    f"Column {column!r} was numeric when fitted but now holds {frame[column].dtype} values."
                )
        nan_counts, inf_counts = nonfinite_counts(frame, numeric)
        if inf_counts:
            raise DataError(f"Infinite values in columns: {describe_counts(inf_counts)}")
        if self.missing == "error":
            nan_counts.update({c: int(n) for c in categorical if (n := frame[c].isna().sum())})
            if nan_counts:
                raise DataError(
                    f"Missing values (NaN) in columns: {describe_counts(nan_counts)}. "
                    "Set missing: mean or missing: median to impute them."
                )

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for column in self.feature_names_in_:
            values = frame[column]
            if self.missing != "error":
                values = values.fillna(self.impute_values_[column])
            if column not in self.categories_:
                blocks.append(values.to_numpy(dtype=np.float64)[:, None])
                continue
            levels = self.categories_[column]
            unseen = ~values.isin(levels)
            if unseen.any():
                warnings.warn(
                    f"Column {column!r} has {int(unseen.sum())} values whose levels "
                    "were not seen in fit(); they encode as all zeros.",
                    stacklevel=3,
                )
            blocks.append(
                (values.to_numpy()[:, None] == np.array(levels, dtype=object)[None, :]).astype(np.float64)
            )
        return np.hstack(blocks)


def placeholder_counts(series: pd.Series) -> pd.Series | None:
    """The non-numeric values of a mostly numeric text column, with counts, or None.

    Returns None for a numeric column and for a real text column (too many
    distinct strings, or strings in half the rows or more); else a
    `pandas.Series` mapping each placeholder string (`"?"`, `"n/a"`) to its count.
    """
    values = series.dropna()
    if _is_numeric(series) or values.empty:
        return None
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    text = values[numbers.isna()].astype(str)
    if text.empty or 2 * len(text) >= len(values):
        return None
    counts = text.value_counts()
    return counts if len(counts) <= MAX_PLACEHOLDERS else None


def _refuse_placeholders(series: pd.Series) -> None:
    counts = placeholder_counts(series)
    if counts is None:
        return
    shown = describe_counts(counts.to_dict())
    strings = ", ".join(repr(value) for value in counts.index)
    raise DataError(
        f"Column {series.name!r} holds numbers except for {int(counts.sum())} of the "
        f"{int(series.notna().sum())} values fitted on: {shown}. If they mean 'missing', declare them "
        f"(data.na_values: [{strings}] in a recipe, na_values= for load_frame) and set "
        "missing: mean or median; or leave the column out of `features`."
    )


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _nonzero(spread: np.ndarray) -> np.ndarray:
    # A constant column keeps its (shifted) value rather than dividing by zero.
    return np.where(spread > 0, spread, 1.0)
