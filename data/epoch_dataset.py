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

    def this_pass() -> Iterator[int]:
        yield check_integer("epoch_of_pass()", epoch_of_pass(), 0, error=DataError)

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(rows, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        indices = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
        return indices.map(lambda batch: tuple(tf.gather(array, batch) for array in arrays))

    epochs = tf.data.Dataset.from_generator(this_pass, output_signature=tf.TensorSpec((), tf.int64))
    dataset = epochs.flat_map(epoch_batches).apply(tf.data.experimental.assert_cardinality(steps))
    if y_rows is None:
        dataset = dataset.map(lambda *inputs: inputs[0])
    return dataset.prefetch(tf.data.AUTOTUNE)
