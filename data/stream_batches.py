"""Streams a source's rows as shuffled `(inputs, target)` batches, and its statistics in one pass.

Memory stays bounded by the shuffle buffer, one chunk being read and the
prefetched batches, whatever the size of the source. Nothing here imports a
Keras backend: `StreamDataset` wraps `stream_batches` for `fit`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kerasforge.checks import check_integer
from kerasforge.data.column_statistics import ColumnStatistics, ColumnStatisticsAccumulator
from kerasforge.data.encode_target import class_label
from kerasforge.data.model_inputs import raw_inputs
from kerasforge.data.row_split import SPLIT_CODES, key_split, position_split
from kerasforge.data.split_indices import SPLITS, _check_fractions
from kerasforge.data.stream_source import StreamSource, read_chunks
from kerasforge.errors import DataError

# Rows held for shuffling: about 8 MB per 65k rows of 32 float32 columns. Rows
# read consecutively stay within about this distance of each other.
DEFAULT_SHUFFLE_BUFFER = 262_144
# Batches the reading thread keeps ready ahead of training.
DEFAULT_PREFETCH = 8

Batch = tuple[dict[str, np.ndarray], np.ndarray]
# The shuffle buffer's key for a transform's output (no column is called this: names are strings).
_TRANSFORMED = ""


@dataclass(frozen=True)
class StreamPlan:
    """What to read from a streamed source and how rows are split.

    Args:
        source: The `StreamSource` (from `open_source`).
        target: String. The target column.
        features: Feature columns; empty (the default) for every column but
            the target (and the row key).
        fractions: `(train, val, test)` fractions summing to 1.
        seed: Integer. Seeds the split (and, in `stream_batches`, the shuffle).
        row_key: String. A column identifying each row, hashed for the split;
            None splits by `(shard key, row number)` (see `row_split`).

    Raises:
        DataError: A fraction out of range, or a column (target, feature,
            row key) not in the source, naming it.
    """

    source: StreamSource
    target: str
    features: tuple[str, ...] = ()
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seed: int = 0
    row_key: str | None = None
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        _check_fractions(**dict(zip(SPLITS, self.fractions, strict=True)))
        check_integer("seed", self.seed, 0, error=DataError)
        available = self.source.columns
        for role, name in (("target", self.target), ("row key", self.row_key)):
            if name is not None and name not in available:
                raise DataError(
                    f"The {role} column {name!r} is not in {self.source.source!r}. "
                    f"Columns: {', '.join(available)}"
                )
        if self.features:
            absent = [name for name in self.features if name not in available]
            if absent:
                raise DataError(
                    f"Feature columns {', '.join(map(repr, absent))} are not in {self.source.source!r}. "
                    f"Columns: {', '.join(available)}"
                )
            features = tuple(self.features)
        else:
            features = tuple(name for name in available if name not in (self.target, self.row_key))
        object.__setattr__(self, "features", features)
        wanted = [*features, self.target, *([self.row_key] if self.row_key else [])]
        object.__setattr__(self, "columns", tuple(dict.fromkeys(wanted)))

    def split_chunks(
        self, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Yields `(chunk, split codes)` over every row, shards and row groups shuffled by `rng`."""
        shards = list(self.source.shards)
        if rng is not None:
            shards = [shards[index] for index in rng.permutation(len(shards))]
        for shard in shards:
            groups = None
            if rng is not None and shard.row_groups is not None:
                groups = rng.permutation(len(shard.row_groups)).tolist()
            for start, chunk in read_chunks(self.source, shard, self.columns, groups):
                if self.row_key is not None:
                    codes = key_split(chunk[self.row_key], fractions=self.fractions, seed=self.seed)
                else:
                    codes = position_split(
                        shard.key, start, len(chunk), fractions=self.fractions, seed=self.seed
                    )
                yield chunk, codes


@dataclass(frozen=True)
class StreamStatistics:
    """The column statistics of a stream's train rows and the rows of each split.

    Attributes:
        statistics: `ColumnStatistics` of the train rows (class names from them).
        rows: `{"train": n, "val": n, "test": n}`.
        samples: Split name -> a uniform random sample of its rows (a
            `pandas.DataFrame` of at most `sample_rows` rows, in no order).
    """

    statistics: ColumnStatistics
    rows: dict[str, int]
    samples: dict[str, pd.DataFrame] = field(default_factory=dict)


def stream_statistics(
    plan: StreamPlan, *, task: str, fill: str = "mean", max_levels: int | None = None, sample_rows: int = 0
) -> StreamStatistics:
    """Reads the source once: statistics of the train rows and the rows in each split.

    Fitting on the train rows only keeps val and test rows out of the scaling
    and fill values, as the in-memory path does.

    Args:
        plan: The `StreamPlan`.
        task: String. `"regression"`, `"binary"` or `"multiclass"`.
        fill: String. `"mean"` or `"median"` fill for numeric columns.
            Defaults to `"mean"`.
        max_levels: Integer. Most levels of a categorical column. Defaults to
            the accumulator's.
        sample_rows: Integer >= 0. Rows of each split to keep as a uniform
            random sample (bottom-k of a seeded random key, so bounded memory).
            Defaults to `0`.

    Returns:
        A `StreamStatistics`.

    Raises:
        DataError: An empty split (train always; val and test when their
            fraction is > 0), a class seen in val or test rows but in no
            train row, or what `ColumnStatisticsAccumulator` refuses.

    Example:

    ```python
    plan = StreamPlan(open_source("shards/"), target="label")
    summary = stream_statistics(plan, task="binary")
    summary.statistics.class_names, summary.rows["train"]
    ```
    """
    extra = {} if max_levels is None else {"max_levels": max_levels}
    accumulator = ColumnStatisticsAccumulator(
        plan.features, target=plan.target, task=task, fill=fill, seed=plan.seed, **extra
    )
    counts = np.zeros(len(SPLITS), dtype=np.int64)
    held_out_classes: set[Any] = set()
    samples = {name: _Sample(sample_rows) for name in SPLITS}
    keys = np.random.default_rng(plan.seed)
    for chunk, codes in plan.split_chunks():
        counts += np.bincount(codes, minlength=len(SPLITS))
        if sample_rows:
            random = keys.random(len(chunk))
            for name, code in SPLIT_CODES.items():
                samples[name].add(chunk.loc[codes == code], random[codes == code])
        train = codes == SPLIT_CODES["train"]
        if train.any():
            accumulator.update(chunk.loc[train, [*plan.features, plan.target]])
        if task != "regression" and not train.all():
            held_out_classes.update(pd.unique(chunk[plan.target][~train].dropna()).tolist())
    rows = dict(zip(SPLITS, counts.tolist(), strict=True))
    for name, fraction in zip(SPLITS, plan.fractions, strict=True):
        if fraction > 0 and rows[name] == 0:
            raise DataError(
                f"The {name} split of {plan.source.source!r} has no rows ({sum(rows.values())} rows in all); "
                f"use more rows or set the {name} fraction to 0."
            )
    statistics = accumulator.finish()
    unseen = sorted(held_out_classes - set(statistics.class_names or ()), key=str)
    if unseen:
        raise DataError(
            f"Target column {plan.target!r} has classes {unseen[:10]!r} in val/test rows but in no train row "
            f"of {plan.source.source!r}; drop those rows or give them more data."
        )
    return StreamStatistics(statistics, rows, {name: sample.frame for name, sample in samples.items()})


class _Sample:
    """The `size` rows with the smallest random keys seen so far: a uniform sample in bounded memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.frame = pd.DataFrame()
        self.keys = np.empty(0)

    def add(self, rows: pd.DataFrame, keys: np.ndarray) -> None:
        if len(self.keys) >= self.size:
            wanted = keys < self.keys.max()
            rows, keys = rows.loc[wanted], keys[wanted]
        if not len(keys):
            return
        frame = pd.concat([self.frame, rows]) if len(self.frame) else rows
        keys = np.concatenate([self.keys, keys])
        if len(keys) > self.size:
            kept = np.argpartition(keys, self.size)[: self.size]
            frame, keys = frame.iloc[kept], keys[kept]
        self.frame, self.keys = frame, keys


def encode_chunk_target(values: pd.Series, statistics: ColumnStatistics) -> np.ndarray:
    """Encodes a chunk's target as `encode_target` does, with the statistics' class names.

    Returns `float32` of shape `(rows, 1)` for regression and binary, `int32`
    class indices of shape `(rows,)` for multiclass.

    Raises:
        DataError: A missing target value, or a class the statistics do not know.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"Target column {values.name!r} has {int(missing.sum())} missing values in a chunk; "
            "drop those rows first."
        )
    if statistics.class_names is None:
        return values.to_numpy(dtype=np.float32).reshape(-1, 1)
    codes = pd.Categorical(values, categories=statistics.class_names).codes
    if (codes < 0).any():
        unknown = values[codes < 0].iloc[0]
        raise DataError(
            f"Target column {values.name!r} holds {class_label(unknown)!r}, not one of the classes "
            f"{statistics.class_names[:10]!r} seen in training rows."
        )
    if statistics.task == "binary":
        return codes.astype(np.float32).reshape(-1, 1)
    return codes.astype(np.int32)


class _ShuffleBuffer:
    """Holds up to `size` rows; each time it fills, permutes them and hands out half as batches."""

    def __init__(self, size: int, batch_size: int, rng: np.random.Generator | None) -> None:
        self.size = max(size, batch_size) if rng is not None else batch_size
        self.batch_size = batch_size
        self.rng = rng
        self.parts: list[Batch] = []
        self.rows = 0

    def add(self, inputs: dict[str, np.ndarray], target: np.ndarray) -> Iterator[Batch]:
        self.parts.append((inputs, target))
        self.rows += len(target)
        if self.rows >= self.size:
            # Keep half the buffer (at least a batch short of it) to mix with the rows still to come.
            keep = self.size // 2 if self.rng is not None else 0
            yield from self._emit(self.rows - keep, final=False)

    def finish(self, drop_remainder: bool) -> Iterator[Batch]:
        yield from self._emit(self.rows, final=True, drop_remainder=drop_remainder)

    def _emit(self, count: int, final: bool, drop_remainder: bool = False) -> Iterator[Batch]:
        if not self.parts:
            return
        inputs = {name: np.concatenate([part[0][name] for part in self.parts]) for name in self.parts[0][0]}
        target = np.concatenate([part[1] for part in self.parts])
        if self.rng is not None:
            order = self.rng.permutation(len(target))
            inputs = {name: values[order] for name, values in inputs.items()}
            target = target[order]
        emitted = count if final and not drop_remainder else count - count % self.batch_size
        for begin in range(0, emitted, self.batch_size):
            end = min(begin + self.batch_size, emitted)
            yield {name: values[begin:end] for name, values in inputs.items()}, target[begin:end]
        rest = 0 if final else len(target) - emitted
        self.parts = [({n: v[emitted:] for n, v in inputs.items()}, target[emitted:])] if rest else []
        self.rows = rest


def stream_batches(
    plan: StreamPlan,
    statistics: ColumnStatistics,
    *,
    split: str = "train",
    batch_size: int,
    shuffle: bool = True,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    epoch: int = 0,
    drop_remainder: bool = False,
    transform: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
) -> Iterator[tuple[Any, np.ndarray]]:
    """Yields the rows of one split as `(inputs, target)` batches, once each.

    `inputs` is the model's raw input dict (see `column_statistics`): float32
    with NaN for numbers, strings with `""` for categories; `target` is
    encoded as `encode_chunk_target` does. With `shuffle`, shards and row
    groups are read in a new order each epoch and rows pass through a buffer of
    `shuffle_buffer` rows that is permuted before batches are cut from it; the
    order is a function of `(plan.seed, epoch)`, so runs repeat.

    Args:
        plan: The `StreamPlan`.
        statistics: The `ColumnStatistics` the model was built from.
        split: String. `"train"`, `"val"` or `"test"`. Defaults to `"train"`.
        batch_size: Integer >= 1. Rows per batch; only the last may be smaller.
        shuffle: Boolean. Defaults to `True`.
        shuffle_buffer: Integer >= 1. Rows held for shuffling. Defaults to `262144`.
        epoch: Integer >= 0. Which epoch's order to draw. Defaults to `0`.
        drop_remainder: Boolean. Skip the last partial batch. Defaults to `False`.
        transform: Callable from a chunk's raw input dict to one array with a
            row per row (e.g. the encoded float32 features). It runs once per
            chunk read, before the shuffle buffer, which then holds its output:
            far fewer calls than once per batch. Defaults to `None`: batches
            hold the raw input dict.

    Yields:
        Tuples `(inputs, target)`; `inputs` is the transform's output when given.

    Raises:
        DataError: A bad argument, or a chunk the model cannot take (see
            `raw_inputs` and `encode_chunk_target`).
    """
    if split not in SPLIT_CODES:
        raise DataError(f"Argument `split` must be one of {', '.join(SPLITS)}. Received: split={split!r}")
    batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
    shuffle_buffer = check_integer("shuffle_buffer", shuffle_buffer, 1, error=DataError)
    rng = np.random.default_rng([plan.seed, epoch]) if shuffle else None
    buffer = _ShuffleBuffer(shuffle_buffer, batch_size, rng)
    wanted = SPLIT_CODES[split]
    for chunk, codes in plan.split_chunks(rng):
        selected = codes == wanted
        if not selected.any():
            continue
        rows = chunk if selected.all() else chunk.loc[selected]
        inputs = raw_inputs(rows, statistics)
        if transform is not None:
            inputs = {_TRANSFORMED: np.asarray(transform(inputs))}
        target = encode_chunk_target(rows[plan.target], statistics)
        for batch, batch_target in buffer.add(inputs, target):
            yield (batch[_TRANSFORMED] if transform is not None else batch), batch_target
    for batch, batch_target in buffer.finish(drop_remainder):
        yield (batch[_TRANSFORMED] if transform is not None else batch), batch_target


def prefetch(batches: Iterator[Any], size: int = DEFAULT_PREFETCH) -> Iterator[Any]:
    """Runs `batches` in a background thread, `size` items ahead of the consumer.

    pyarrow and numpy release the GIL while they read, decompress and copy,
    so reading overlaps the training step on any backend. An exception in the
    thread is raised in the consumer; closing the returned generator stops
    the thread.

    Args:
        batches: Iterator to run ahead.
        size: Integer >= 1. Items kept ready. Defaults to `8`.

    Yields:
        The items of `batches`, in order.
    """
    size = check_integer("size", size, 1, error=DataError)
    ready: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put((done, None))
        except BaseException as error:  # handed to the consumer, which raises it
            ready.put((done, error))

    thread = threading.Thread(target=work, name="kerasforge-stream", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                ready.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
