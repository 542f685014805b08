"""A Keras `PyDataset` over a streamed source: what `fit` takes on TensorFlow, JAX and torch alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import keras
import numpy as np

from kerasforge.checks import check_integer
from kerasforge.data.column_kinds import NUMERIC
from kerasforge.data.column_statistics import ColumnStatistics
from kerasforge.data.stream_batches import (
    DEFAULT_PREFETCH,
    DEFAULT_SHUFFLE_BUFFER,
    Batch,
    StreamPlan,
    prefetch,
    stream_batches,
)
from kerasforge.data.updates_per_epoch import updates_per_epoch
from kerasforge.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf


class StreamDataset(keras.utils.PyDataset):
    """The batches of one split of a streamed source, for `model.fit`, `evaluate` and `predict`.

    A `PyDataset` because every Keras backend accepts one, knows its length
    (so progress bars, schedules and `steps_per_execution` work) and is told
    when an epoch ends (so each epoch draws a new order). Batches come from
    `stream_batches`, run ahead in a reading thread by `prefetch`. Keras must
    ask for batches in order (index 0 starts an epoch), which it does unless
    `fit(shuffle=True)` is passed with a `PyDataset`: pass `shuffle=False`,
    this dataset shuffles itself.

    Args:
        plan: The `StreamPlan` (source, columns, split fractions, seed).
        statistics: The `ColumnStatistics` the model was built from.
        rows: Integer >= 1. Rows in `split` (from `stream_statistics`).
        split: String. `"train"`, `"val"` or `"test"`. Defaults to `"train"`.
        batch_size: Integer >= 1. Defaults to `1024`.
        shuffle: Boolean. Defaults to `True`.
        shuffle_buffer: Integer >= 1. Rows held for shuffling. Defaults to `262144`.
        drop_remainder: Boolean. Skip the last partial batch. Defaults to `False`.
        prefetch_batches: Integer >= 1. Batches read ahead. Defaults to `8`.
        transform: Callable taking a chunk's raw input dict and returning one
            array, a row per row, that the model takes (e.g. the encoded float32
            features, so `fit` sees only numbers on any backend); run in the
            reading thread once per chunk (see `stream_batches`). Defaults to
            `None`: batches hold the raw input dict.
        first_epoch: Integer >= 0. The epoch whose order the first pass draws;
            a resumed fit passes its `initial_epoch`, so its epochs see the
            batches the uninterrupted fit saw. Defaults to `0`.

    Raises:
        DataError: A bad argument; when read, what `stream_batches` raises,
            or a request for batches out of order.

    Example:

    ```python
    plan = StreamPlan(open_source("shards/"), target="label")
    summary = stream_statistics(plan, task="binary")
    train = StreamDataset(plan, summary.statistics, rows=summary.rows["train"], batch_size=2048)
    model.fit(train, epochs=3, shuffle=False)
    ```
    """

    def __init__(
        self,
        plan: StreamPlan,
        statistics: ColumnStatistics,
        *,
        rows: int,
        split: str = "train",
        batch_size: int = 1024,
        shuffle: bool = True,
        shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
        drop_remainder: bool = False,
        prefetch_batches: int = DEFAULT_PREFETCH,
        transform: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
        first_epoch: int = 0,
    ) -> None:
        # Keras' own workers would ask for batches out of order; the reading thread prefetches instead.
        super().__init__(workers=1, use_multiprocessing=False)
        self.plan = plan
        self.statistics = statistics
        self.rows = check_integer("rows", rows, 1, error=DataError)
        self.split = split
        self.batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
        self.shuffle = shuffle
        self.shuffle_buffer = check_integer("shuffle_buffer", shuffle_buffer, 1, error=DataError)
        self.drop_remainder = drop_remainder
        self.prefetch_batches = check_integer("prefetch_batches", prefetch_batches, 1, error=DataError)
        self.transform = transform
        self._batches = updates_per_epoch(self.rows, self.batch_size, drop_remainder)
        self.epoch = check_integer("first_epoch", first_epoch, 0, error=DataError)
        self._reader: Iterator[Batch] | None = None
        self._next = 0

    @property
    def num_batches(self) -> int:
        """Batches in one pass over the split."""
        return self._batches

    def __len__(self) -> int:
        return self._batches

    def __getitem__(self, index: int) -> Batch:
        if index == 0 or self._reader is None:
            self._restart()
        if index != self._next:
            raise DataError(
                f"StreamDataset reads its batches in order, but batch {index} was asked for after "
                f"batch {self._next - 1}. Pass shuffle=False to fit: the stream shuffles itself."
            )
        if index >= self._batches:
            raise IndexError(index)
        assert self._reader is not None
        try:
            batch = next(self._reader)
        except StopIteration:
            raise DataError(
                f"The {self.split} split of {self.plan.source.source!r} ran out after {index} batches, "
                f"but {self._batches} were expected from {self.rows} rows: did the files change "
                "since the statistics were computed?"
            ) from None
        self._next += 1
        return batch

    def on_epoch_end(self) -> None:
        """Starts the next epoch's order (Keras calls this after each epoch)."""
        self.epoch += 1
        self._close()

    def _restart(self) -> None:
        self._close()
        batches = stream_batches(
            self.plan,
            self.statistics,
            split=self.split,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            shuffle_buffer=self.shuffle_buffer,
            epoch=self.epoch,
            drop_remainder=self.drop_remainder,
            transform=self.transform,
        )
        self._reader = prefetch(batches, self.prefetch_batches)
        self._next = 0

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.close()  # type: ignore[attr-defined]
        self._reader = None
        self._next = 0

    def to_tf_dataset(self) -> tf.data.Dataset:
        """These batches as a `tf.data.Dataset` (needs TensorFlow installed).

        Keras converts a `PyDataset`'s batches to tensors itself and refuses
        string arrays, so a model that takes raw text columns (a `StringLookup`
        inside it) is fed through `tf.data`, which carries `tf.string`. Keras's
        `fit` accepts a `tf.data.Dataset` on every backend when TensorFlow is
        installed. Each iteration (each epoch) draws the next epoch's order.

        Returns:
            A `tf.data.Dataset` of `(inputs, target)` batches with a known length.

        Raises:
            DataError: The dataset has a `transform` (its output types are unknown).

        Example:

        ```python
        train = StreamDataset(plan, summary.statistics, rows=summary.rows["train"]).to_tf_dataset()
        model.fit(train, epochs=3)
        ```
        """
        import tensorflow as tf

        if self.transform is not None:
            raise DataError(
                "to_tf_dataset() carries the raw input dict; build the StreamDataset without transform."
            )

        def epochs() -> Iterator[Batch]:
            try:
                for index in range(len(self)):
                    yield self[index]
            finally:
                self.on_epoch_end()

        inputs = {
            column.name: tf.TensorSpec([None], tf.float32 if column.kind == NUMERIC else tf.string)
            for column in self.statistics.columns
        }
        if self.statistics.task == "multiclass":
            target = tf.TensorSpec([None], tf.int32)
        else:
            target = tf.TensorSpec([None, 1], tf.float32)
        dataset = tf.data.Dataset.from_generator(epochs, output_signature=(inputs, target))
        return dataset.apply(tf.data.experimental.assert_cardinality(len(self))).prefetch(2)
