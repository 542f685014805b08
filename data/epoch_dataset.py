"""A training pipeline whose every epoch's order is a function of (seed, epoch) alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy.typing as npt

from kerasforge.checks import check_integer
from kerasforge.data.make_dataset import as_row_arrays
from kerasforge.data.updates_per_epoch import updates_per_epoch
from kerasforge.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf


def make_epoch_dataset(
    x: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    *,
    batch_size: int,
    epoch_of_pass: Callable[[], int],
    shuffle: bool = True,
    drop_remainder: bool = False,
    seed: int = 0,
    num_shards: int = 1,
    shard_index: int = 0,
    local_replicas: int = 1,
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
        num_shards: Integer >= 1. Processes that share each batch (a
            multi-process data-parallel run). Every process draws the same
            order and takes the `shard_index`-th of `num_shards` equal parts
            of each batch, so across processes an epoch's rows are disjoint
            and cover the split, and each update averages the very batch one
            process would train on. A last short batch that does not split
            evenly is taken whole by every process (its rows repeated
            `num_shards` times leave the mean gradient unchanged). Defaults to `1`.
        shard_index: Integer in `0..num_shards-1`. Defaults to `0`.
        local_replicas: Integer >= 1. Devices of this process that split
            its share again; see `batch_share`. Defaults to `1`.

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
    num_shards = check_integer("num_shards", num_shards, 1, error=DataError)
    shard_index = check_integer("shard_index", shard_index, 0, error=DataError)
    local_replicas = check_integer("local_replicas", local_replicas, 1, error=DataError)
    if shard_index >= num_shards:
        raise DataError(
            f"Argument `shard_index` must be < num_shards={num_shards}. Received: shard_index={shard_index}"
        )
    x_rows, y_rows = as_row_arrays(x, y)
    rows = len(x_rows)
    steps = updates_per_epoch(rows, batch_size, drop_remainder)

    import tensorflow as tf

    arrays = tuple(tf.constant(array) for array in (x_rows, y_rows) if array is not None)

    def this_pass() -> Iterator[int]:
        yield check_integer("epoch_of_pass()", epoch_of_pass(), 0, error=DataError)

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(rows, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        indices = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
        if num_shards > 1 or local_replicas > 1:
            indices = indices.map(lambda batch: batch_share(batch, num_shards, shard_index, local_replicas))
        return indices.map(lambda batch: tuple(tf.gather(array, batch) for array in arrays))

    epochs = tf.data.Dataset.from_generator(this_pass, output_signature=tf.TensorSpec((), tf.int64))
    dataset = epochs.flat_map(epoch_batches).apply(tf.data.experimental.assert_cardinality(steps))
    if y_rows is None:
        dataset = dataset.map(lambda *inputs: inputs[0])
    return dataset.prefetch(tf.data.AUTOTUNE)


def batch_share(batch: tf.Tensor, num_shards: int, shard_index: int, local_replicas: int = 1) -> tf.Tensor:
    """This process's share of a batch of row indices, for data-parallel training.

    A batch whose size splits evenly over all `num_shards * local_replicas`
    replicas gives its `shard_index`-th of `num_shards` equal parts. Any
    other (an epoch's last short batch) is taken whole by every process and
    repeated `local_replicas` times: every replica then averages over the
    same rows, so the update is the one a single device would make from that
    batch (only the epoch's logged mean loss weighs those rows more).

    Args:
        batch: A 1-D tensor of row indices.
        num_shards: Integer >= 1. Processes sharing the batch.
        shard_index: Integer. This process.
        local_replicas: Integer >= 1. This process's devices.

    Returns:
        A 1-D tensor of row indices.
    """
    import tensorflow as tf

    size = tf.shape(batch)[0]
    share = size // num_shards
    return tf.cond(
        tf.equal(size % (num_shards * local_replicas), 0),
        lambda: batch[shard_index * share : (shard_index + 1) * share],
        lambda: tf.tile(batch, [local_replicas]),
    )
