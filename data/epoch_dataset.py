"""A training pipeline whose every epoch's order is a function of (seed, epoch) alone."""

from __future__ import annotations

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
    epochs: int,
    first_epoch: int = 0,
    shuffle: bool = True,
    drop_remainder: bool = False,
    seed: int = 0,
) -> tuple[tf.data.Dataset, int]:
    """One `tf.data` stream of the batches of epochs `first_epoch` to `epochs - 1`.

    Epoch `e` visits the rows in the permutation
    `tf.random.experimental.stateless_shuffle` draws from `(seed, e)`: it does
    not depend on how many epochs or iterators came before, so a run resumed
    at epoch `e` sees exactly the batches an uninterrupted run saw there.
    (`Dataset.shuffle(reshuffle_each_iteration=True)` draws each epoch's order
    from a counter of iterators, which a new process starts again at 0.)
    Batches never straddle two epochs. Pass the returned step count to
    `fit(steps_per_epoch=...)`.

    Args:
        x: Array-like of shape `(rows, ...)`. Inputs.
        y: Array-like with `rows` entries, or `None` for inputs only.
        batch_size: Integer >= 1. Rows per batch.
        epochs: Integer. The epoch to stop before (as `fit(epochs=...)`).
        first_epoch: Integer >= 0. The first epoch to yield (as
            `fit(initial_epoch=...)`). Defaults to `0`.
        shuffle: Boolean. Permute the rows every epoch. Defaults to `True`.
        drop_remainder: Boolean. Drop each epoch's last partial batch.
            Defaults to `False`.
        seed: Integer >= 0. Defaults to `0`.

    Returns:
        `(dataset, steps_per_epoch)`.

    Raises:
        DataError: `batch_size`, `seed` or the epochs are out of range, `x` and
            `y` differ in length, or `drop_remainder` leaves no batch.

    Example:

    >>> dataset, steps = make_epoch_dataset(np.zeros((10, 2)), np.zeros(10), batch_size=4, epochs=3)
    >>> steps, len(list(dataset))
    (3, 9)
    """
    batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
    seed = check_integer("seed", seed, 0, error=DataError)
    first_epoch = check_integer("first_epoch", first_epoch, 0, error=DataError)
    epochs = check_integer("epochs", epochs, first_epoch, error=DataError)
    x_rows, y_rows = as_row_arrays(x, y)
    rows = len(x_rows)
    steps = updates_per_epoch(rows, batch_size, drop_remainder)

    import tensorflow as tf

    arrays = tuple(tf.constant(array) for array in (x_rows, y_rows) if array is not None)

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(rows, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        indices = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
        return indices.map(lambda batch: tuple(tf.gather(array, batch) for array in arrays))

    dataset = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches)
    if y_rows is None:
        dataset = dataset.map(lambda *inputs: inputs[0])
    return dataset.prefetch(tf.data.AUTOTUNE), steps
