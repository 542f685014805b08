"""A recipe's data read as a stream: when to stream, one statistics pass, and the split datasets.

`prepare_data` hands a streamed source here. The network still trains on the
encoded float32 features (the preprocessing layers run in the stream's
reading thread, so `fit` sees only numbers, on any backend); the preprocessing
is the same Keras model the in-memory path builds and the run saves in front
of the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kerasforge.data._column_counts import describe_counts
from kerasforge.data.column_statistics import ColumnStatistics
from kerasforge.data.load_frame import BUNDLED
from kerasforge.data.model_inputs import encoded_feature_names, raw_inputs
from kerasforge.data.split_indices import SPLITS
from kerasforge.data.stream_batches import (
    DEFAULT_SHUFFLE_BUFFER,
    StreamPlan,
    encode_chunk_target,
    stream_statistics,
)
from kerasforge.data.stream_source import STREAM_THRESHOLD_BYTES, is_stream_pattern, open_source
from kerasforge.errors import DataError
from kerasforge.recipes.schema.recipe import Recipe

if TYPE_CHECKING:
    from kerasforge.recipes.engine.prepare_data import PreparedData

# Rows of each split kept in memory as a sample: the activation monitor's probe and the
# output bias's prior come from them.
SAMPLE_ROWS = 2048


def streams(recipe: Recipe) -> bool:
    """Whether `prepare_data` streams the recipe's source (see `data.stream`).

    `auto` streams a folder or a glob, and a file larger than
    `STREAM_THRESHOLD_BYTES`: below it, loading the file whole is as fast and
    keeps the exact, stratified split of `split_indices`.

    Raises:
        DataError: `data.row_key` or `data.shuffle_buffer` set for a source that is loaded whole.
    """
    section = recipe.data
    if section.stream is False or section.source in (*BUNDLED, "synthetic"):
        return False
    path = Path(section.source)
    streamed = (
        section.stream is True
        or is_stream_pattern(section.source)
        or (path.is_file() and path.stat().st_size > STREAM_THRESHOLD_BYTES)
    )
    if not streamed:
        for key in ("row_key", "shuffle_buffer"):
            if getattr(section, key) is not None:
                raise DataError(
                    f"`data.{key}` applies only to a streamed source, and {section.source!r} is "
                    f"{path.stat().st_size if path.is_file() else 0:,} bytes, under the "
                    f"{STREAM_THRESHOLD_BYTES:,}-byte threshold, so it is loaded whole. "
                    "Set data.stream: true, or remove the key."
                )
    return streamed


@dataclass
class StreamedSplits:
    """A streamed source, its statistics and the rows of each split.

    Attributes:
        plan: The `StreamPlan` (source, columns, split, seed).
        statistics: `ColumnStatistics` of the train rows, with the class names.
        rows: Rows per split.
        shuffle_buffer: Rows held for shuffling the train split.
        samples: Split name -> a uniform sample of its rows (`SAMPLE_ROWS` at most).
        preprocessing: The Keras model from raw columns to encoded features.
    """

    plan: StreamPlan
    statistics: ColumnStatistics
    rows: dict[str, int]
    shuffle_buffer: int
    samples: dict[str, pd.DataFrame]
    preprocessing: Any = None

    def dataset(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_remainder: bool = False,
        raw: bool = False,
        first_epoch: int = 0,
    ) -> Any:
        """A `StreamDataset` of one split's encoded rows, or None when the split is empty.

        `first_epoch` is the epoch whose order the first pass draws (a resumed fit's
        `initial_epoch`). With `raw`, the split's raw input dicts instead, as a `tf.data.Dataset`
        (for a saved `model.keras`, which takes raw columns; needs TensorFlow).
        """
        from kerasforge.data.stream_dataset import StreamDataset
        from kerasforge.recipes.engine.raw_model import encode

        if not self.rows[split]:
            return None
        preprocessing = self.preprocessing
        dataset = StreamDataset(
            self.plan,
            self.statistics,
            rows=self.rows[split],
            split=split,
            batch_size=batch_size,
            shuffle=shuffle,
            shuffle_buffer=self.shuffle_buffer,
            drop_remainder=drop_remainder,
            transform=None if raw else (lambda inputs: encode(preprocessing, inputs)),
            first_epoch=first_epoch,
        )
        return dataset.to_tf_dataset() if raw else dataset


def open_streamed_splits(recipe: Recipe) -> StreamedSplits:
    """Opens the recipe's source and reads it once for the statistics and the rows of each split.

    Args:
        recipe: A validated recipe whose source `streams`.

    Returns:
        A `StreamedSplits` (without `preprocessing`).

    Raises:
        DataError: A bad source (see `open_source`), a missing column, an
            empty split, `stratify: true` or `max_train_rows` (a hash split
            does neither), a categorical column with `categorical: error`,
            infinite values, or missing values with `missing: error`.
    """
    section = recipe.data
    task = recipe.model.task
    if section.stratify:
        raise DataError(
            f"`data.stratify: true` cannot be kept by a streamed source ({section.source!r}): each row's "
            "split is a hash of its identity, so classes keep their shares only in expectation."
            " Remove stratify."
        )
    if section.max_train_rows is not None:
        raise DataError(
            f"`data.max_train_rows` is not supported for a streamed source ({section.source!r}). "
            "Remove it, or set data.stream: false for a file that fits in memory."
        )
    target = section.target or "target"
    if section.features is not None and target in section.features:
        raise DataError(
            f"`data.features` lists the target column {target!r}; a model cannot take its "
            f"own target as an input. Remove it from features. Received: features={section.features}"
        )
    source = open_source(section.source, na_values=section.na_values)
    split = section.split
    plan = StreamPlan(
        source,
        target=target,
        features=tuple(section.features or ()),
        fractions=(split.train, split.val, split.test),
        seed=recipe.seed,
        row_key=section.row_key,
    )
    summary = stream_statistics(
        plan, task=task, fill="median" if section.missing == "median" else "mean", sample_rows=SAMPLE_ROWS
    )
    _check_values(recipe, summary.statistics)
    return StreamedSplits(
        plan,
        summary.statistics,
        summary.rows,
        section.shuffle_buffer or DEFAULT_SHUFFLE_BUFFER,
        summary.samples,
    )


def prepare_streamed_data(recipe: Recipe) -> PreparedData:
    """`prepare_data` for a streamed source: one statistics pass, then datasets that read on demand.

    The returned `PreparedData` holds, as `x_*`/`y_*`, a uniform sample of at
    most `SAMPLE_ROWS` rows of each split (the activation monitor's probe, the
    output bias's prior and the baseline loss come from it); `rows` and
    `dataset` give the whole splits, read from the files.

    Args:
        recipe: A validated recipe whose source `streams`.

    Returns:
        A `PreparedData` with `stream` set.

    Raises:
        DataError: As `open_streamed_splits`.
    """
    from kerasforge.recipes.engine.prepare_data import PreparedData
    from kerasforge.recipes.engine.raw_model import build_preprocessing, encode

    splits = open_streamed_splits(recipe)
    statistics = splits.statistics
    splits.preprocessing = build_preprocessing(statistics, recipe.data.normalize)
    # An empty split's sample has no columns yet.
    samples = {
        name: sample if len(sample.columns) else pd.DataFrame(columns=list(splits.plan.columns))
        for name, sample in splits.samples.items()
    }
    raw = {name: raw_inputs(samples[name], statistics) for name in SPLITS}
    x = {name: encode(splits.preprocessing, raw[name]) for name in SPLITS}
    y = {name: encode_chunk_target(samples[name][splits.plan.target], statistics) for name in SPLITS}
    return PreparedData(
        x_train=x["train"],
        y_train=y["train"],
        x_val=x["val"],
        y_val=y["val"],
        x_test=x["test"],
        y_test=y["test"],
        feature_names=encoded_feature_names(statistics),
        task=recipe.model.task,
        class_names=statistics.class_names,
        statistics=statistics,
        normalize=recipe.data.normalize,
        preprocessing=splits.preprocessing,
        raw=raw,
        stream=splits,
    )


def _check_values(recipe: Recipe, statistics: ColumnStatistics) -> None:
    section = recipe.data
    categorical = [column.name for column in statistics.columns if column.kind == "categorical"]
    if categorical and section.categorical == "error":
        raise DataError(
            f"Non-numeric columns {', '.join(map(repr, categorical))} cannot be used with "
            "categorical: error. Set categorical: onehot to encode them, or leave them out of `features`."
        )
    infinite = {column.name: column.infinite for column in statistics.columns if column.infinite}
    if infinite:
        raise DataError(f"Infinite values in the train rows of columns: {describe_counts(infinite)}")
    missing = {column.name: column.missing for column in statistics.columns if column.missing}
    if missing and section.missing == "error":
        raise DataError(
            f"Missing values in the train rows of columns: {describe_counts(missing)}. "
            "Set missing: mean or missing: median to impute them."
        )
