"""A training pipeline whose every epoch's order is a function of (seed, epoch) alone.

Two forms of the same batches: `make_epoch_dataset`, a `tf.data` pipeline that
TensorFlow's `fit` runs inside its graph, and `EpochArrays`, a `PyDataset` of
NumPy slices for JAX and torch, whose trainers would read a `tf.data` pipeline
one eager TensorFlow call per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import numpy.typing as npt

from kerasforge.checks import check_integer
from kerasforge.data.make_dataset import as_row_arrays
from kerasforge.data.updates_per_epoch import updates_per_epoch
from kerasforge.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf

GATHER_CHUNK_BYTES = 32 * 2**20
"""About how many bytes of rows one pass of `make_epoch_dataset` copies at a time."""


def make_epoch_dataset(
    x: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    *,
    batch_size: int,
    epoch_of_pass: Callable[[], int],
    shuffle: bool = True,
    drop_remainder: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """A `tf.data` pipeline whose every epoch's order is a function of (seed, epoch) alone.

    Each pass over the dataset (each `iter()`, which Keras's `fit` makes at
    every epoch's start) asks `epoch_of_pass()` which epoch it is, and visits
    the rows in the permutation `tf.random.experimental.stateless_shuffle`
    draws from `(seed, epoch)`. The order does not depend on how many passes
    came before, so a run resumed at epoch `e` sees exactly the batches an
    uninterrupted run saw there. (`Dataset.shuffle(reshuffle_each_iteration=True)`
    draws each pass's order from a counter of passes, which a new process
    starts again at 0.) The cardinality is known, as `make_dataset`'s is.

    Args:
        x: Array-like of shape `(rows, ...)`. Inputs.
        y: Array-like with `rows` entries, or `None` for inputs only.
        batch_size: Integer >= 1. Rows per batch.
        epoch_of_pass: Callable returning the 0-based epoch of the pass that
            starts (e.g. set by a callback's `on_epoch_begin`).
        shuffle: Boolean. Permute the rows every epoch. Defaults to `True`.
        drop_remainder: Boolean. Drop each epoch's last partial batch.
            Defaults to `False`.
        seed: Integer >= 0. Defaults to `0`.
    Returns:
        A `tf.data.Dataset` of `(x, y)` batches, or `x` batches when `y` is
        `None`.

    Raises:
        DataError: `batch_size` or `seed` is out of range, `x` and `y` differ
            in length, or `drop_remainder` leaves no batch.

    Example:

    >>> dataset = make_epoch_dataset(np.zeros((10, 2)), np.zeros(10), batch_size=4, epoch_of_pass=lambda: 3)
    >>> len(list(dataset))
    3
    """
    batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
    seed = check_integer("seed", seed, 0, error=DataError)
    x_rows, y_rows = as_row_arrays(x, y)
    rows = len(x_rows)
    steps = updates_per_epoch(rows, batch_size, drop_remainder)

    import tensorflow as tf

    arrays = tuple(tf.constant(array) for array in (x_rows, y_rows) if array is not None)
    row_bytes = sum(array.nbytes for array in (x_rows, y_rows) if array is not None) // rows
    chunk_rows = gather_chunk_rows(batch_size, row_bytes)

    def read_epoch() -> np.int64:
        return np.int64(_checked_epoch(epoch_of_pass))

    def order_of_pass() -> tf.Tensor:
        epoch = tf.ensure_shape(tf.py_function(read_epoch, [], tf.int64), ())
        return epoch_order(rows, seed, epoch) if shuffle else tf.range(rows, dtype=tf.int64)

    def chunks_of(order: tf.Tensor) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices(order).batch(chunk_rows)

    def chunk_batches(indices: tf.Tensor) -> tf.data.Dataset:
        chunk = tuple(tf.gather(array, indices) for array in arrays)
        batches = tf.data.Dataset.from_tensor_slices(chunk if y_rows is not None else chunk[0])
        return batches.batch(batch_size, drop_remainder=drop_remainder)

    # A pass is one element, whose order is read when the pass starts; its rows are gathered a chunk
    # at a time and sliced into batches with no function call per batch. Each function in the
    # pipeline costs milliseconds per pass (Keras starts two passes per epoch), and a `map` per
    # batch or a generator per pass took more time than a sklearn-sized epoch's training steps.
    one_pass = tf.data.Dataset.from_tensors(0)
    if rows <= chunk_rows:
        dataset = one_pass.flat_map(lambda _: chunk_batches(order_of_pass()))
    else:
        chunks = one_pass.flat_map(lambda _: chunks_of(order_of_pass()))
        dataset = chunks.flat_map(chunk_batches)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    return dataset.prefetch(tf.data.AUTOTUNE)


def gather_chunk_rows(batch_size: int, row_bytes: int) -> int:
    """Rows `make_epoch_dataset` gathers at once: whole batches, about `GATHER_CHUNK_BYTES` of them.

    Gathering a whole epoch at once is fastest but would copy all the rows for
    each pass; a chunk bounds the copy. A multiple of `batch_size`, so that
    batching chunk by chunk gives the batches of the whole order.

    Args:
        batch_size: Integer >= 1. Rows per batch.
        row_bytes: Integer >= 0. Bytes of one row's inputs and target.

    Returns:
        A positive multiple of `batch_size`.

    Example:

    >>> gather_chunk_rows(batch_size=32, row_bytes=2**20)  # 1 MiB rows: one batch at a time
    32
    """
    return batch_size * max(1, GATHER_CHUNK_BYTES // max(1, row_bytes * batch_size))


def epoch_order(rows: int, seed: int, epoch: Any) -> tf.Tensor:
    """The order in which epoch `epoch` of seed `seed` visits `rows` rows.

    `tf.random.experimental.stateless_shuffle` keyed by `(seed, epoch)`: the
    same permutation in a `tf.data` graph and eagerly, in any process.

    Args:
        rows: Integer >= 1.
        seed: Integer >= 0.
        epoch: Integer or int64 scalar tensor, the 0-based epoch.

    Returns:
        An int64 tensor holding a permutation of `range(rows)`.
    """
    import tensorflow as tf

    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(tf.range(rows, dtype=tf.int64), seed=key)


def _checked_epoch(epoch_of_pass: Callable[[], int]) -> int:
    return check_integer("epoch_of_pass()", epoch_of_pass(), 0, error=DataError)


class EpochArrays(keras.utils.PyDataset):
    """`make_epoch_dataset`'s batches as NumPy arrays, for `fit` on JAX and torch.

    Keras's JAX and torch trainers read a `tf.data` pipeline one eager
    TensorFlow call per batch, then convert it: a 10-epoch JAX fit of
    `digits_mlp` fed that way took 1.75x plain Keras's on NumPy arrays, and
    fed these 1.07x (`python benchmarks/distributed.py`). Here a batch is a
    slice of the arrays, in the very order `make_epoch_dataset` gives for the
    same (seed, epoch), so a run on any backend, resumed or not, sees the same
    batches. The order is drawn when Keras asks for batch 0, which starts
    every pass (a `PyDataset` is read in order unless `fit(shuffle=True)` is
    passed).

    Args:
        x: Array-like of shape `(rows, ...)`. Inputs.
        y: Array-like with `rows` entries, or `None` for inputs only.
        batch_size: Integer >= 1. Rows per batch.
        epoch_of_pass: Callable returning the 0-based epoch of the pass that
            starts, or `None` to count passes from 0. Only read with `shuffle`.
        shuffle: Boolean. Permute the rows every epoch. Defaults to `False`.
        drop_remainder: Boolean. Drop each epoch's last partial batch.
            Defaults to `False`.
        seed: Integer >= 0. Defaults to `0`.
        num_shards: Integer >= 1. Processes that share each batch (a
            multi-process data-parallel run on JAX). Every process draws the
            same order and takes its share of each batch (`batch_share`), so
            across processes an epoch's rows are disjoint and cover the split,
            and each update averages the very batch one process would train
            on. Defaults to `1`.
        shard_index: Integer in `0..num_shards-1`. This process. Defaults to `0`.
        local_replicas: Integer >= 1. Devices of this process that split its
            share again (`batch_share`). Defaults to `1`.

    Raises:
        DataError: `batch_size`, `seed` or a shard argument is out of range,
            `x` and `y` differ in length, or `drop_remainder` leaves no batch.

    Example:

    >>> batches = EpochArrays(np.zeros((10, 2)), np.zeros(10), batch_size=4, shuffle=True)
    >>> len(batches), batches[2][0].shape
    (3, (2, 2))
    """

    def __init__(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | None = None,
        *,
        batch_size: int,
        epoch_of_pass: Callable[[], int] | None = None,
        shuffle: bool = False,
        drop_remainder: bool = False,
        seed: int = 0,
        num_shards: int = 1,
        shard_index: int = 0,
        local_replicas: int = 1,
    ):
        super().__init__()  # one worker, in the caller's thread: a slice costs less than a hand-off
        self.batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
        self.seed = check_integer("seed", seed, 0, error=DataError)
        self.num_shards = check_integer("num_shards", num_shards, 1, error=DataError)
        self.shard_index = check_integer("shard_index", shard_index, 0, error=DataError)
        self.local_replicas = check_integer("local_replicas", local_replicas, 1, error=DataError)
        if self.shard_index >= self.num_shards:
            raise DataError(
                f"Argument `shard_index` must be < num_shards={num_shards}. "
                f"Received: shard_index={shard_index}"
            )
        self.x, self.y = as_row_arrays(x, y)
        self.steps = updates_per_epoch(len(self.x), self.batch_size, drop_remainder)
        self.shuffle = shuffle
        self._epoch_of_pass = epoch_of_pass
        self._passes = 0
        self._order: np.ndarray | None = None

    @property
    def num_batches(self) -> int:
        return self.steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not 0 <= index < self.steps:
            raise IndexError(f"batch index {index} is out of range(0, {self.steps})")
        if index == 0 or self._order is None:
            self._order = self._draw_order()
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.num_shards > 1 or self.local_replicas > 1:
            rows = batch_share(rows, self.num_shards, self.shard_index, self.local_replicas)
        return (self.x[rows],) if self.y is None else (self.x[rows], self.y[rows])

    def _draw_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.x))
        if self._epoch_of_pass is None:
            epoch, self._passes = self._passes, self._passes + 1
        else:
            epoch = _checked_epoch(self._epoch_of_pass)
        return epoch_order(len(self.x), self.seed, epoch).numpy()


def batch_share(batch: np.ndarray, num_shards: int, shard_index: int, local_replicas: int = 1) -> np.ndarray:
    """This process's share of a batch of row indices, for data-parallel training.

    A batch whose size splits evenly over all `num_shards * local_replicas`
    replicas gives its `shard_index`-th of `num_shards` equal parts. Any
    other (an epoch's last short batch) is taken whole by every process and
    repeated `local_replicas` times: every replica then averages over the
    same rows, so the update is the one a single device would make from that
    batch (only the epoch's logged mean loss weighs those rows more).

    Args:
        batch: A 1-D array of row indices.
        num_shards: Integer >= 1. Processes sharing the batch.
        shard_index: Integer. This process.
        local_replicas: Integer >= 1. This process's devices.

    Returns:
        A 1-D array of row indices.

    Example:

    >>> batch_share(np.arange(6), num_shards=2, shard_index=1), batch_share(np.arange(3), 2, 1, 2)
    (array([3, 4, 5]), array([0, 1, 2, 0, 1, 2]))
    """
    if len(batch) % (num_shards * local_replicas):
        return np.tile(batch, local_replicas)
    share = len(batch) // num_shards
    return batch[shard_index * share : (shard_index + 1) * share]
