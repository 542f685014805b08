"""Builds a batched, prefetched `tf.data.Dataset` from in-memory arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from kerasforge.checks import check_integer
from kerasforge.data.updates_per_epoch import updates_per_epoch
from kerasforge.errors import DataError

if TYPE_CHECKING:
    import tensorflow as tf


def as_row_arrays(x: npt.ArrayLike, y: npt.ArrayLike | None) -> tuple[np.ndarray, np.ndarray | None]:
    """`x` and `y` as NumPy arrays of the same number of rows (at least one).

    Raises:
        DataError: if `x` is empty or `y` has another number of rows.
    """
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"Argument `x` must hold at least one row. Received shape {x.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise DataError(
                f"Arguments `x` and `y` must have the same number of rows. "
                f"Received: x with {len(x)} rows, y with shape {y.shape}"
            )
    return x, y


def make_dataset(
    x: npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    *,
    batch_size: int,
    shuffle: bool = True,
    drop_remainder: bool = False,
    seed: int = 0,
    cache: bool = True,
) -> tf.data.Dataset:
    """Wraps arrays in a `tf.data` pipeline that keeps the accelerator fed.

    The pipeline is `from_tensor_slices`, optionally `cache`, then a shuffle
    whose buffer holds every row (a true permutation, redrawn each epoch from
    `seed`, so two runs with the same seed see the same sequence of epoch
    orders), `batch`, and `prefetch(AUTOTUNE)` so the next batch is ready
    while the current step runs. TensorFlow is imported only when called.

    Args:
        x: Array-like of shape `(rows, ...)`. Inputs.
        y: Array-like with `rows` entries, or `None` for inputs only.
            Defaults to `None`.
        batch_size: Integer >= 1. Rows per batch.
        shuffle: Boolean. Reshuffle every epoch. Defaults to `True`.
        drop_remainder: Boolean. Drop the last partial batch. Defaults to
            `False`.
        seed: Integer. Shuffle seed. Defaults to `0`.
        cache: Boolean. Cache the sliced tensors after the first epoch.
            Defaults to `True`.

    Returns:
        A `tf.data.Dataset` of `(x, y)` batches, or `x` batches when `y` is
        `None`.

    Raises:
        DataError: `batch_size` is not a positive integer, `x` and `y` differ
            in length, `x` is empty, or `drop_remainder` leaves no batch.

    Example:

    >>> dataset = make_dataset(np.zeros((800, 3)), np.zeros(800), batch_size=150)
    >>> len(list(dataset))
    6
    """
    batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
    seed = check_integer("seed", seed, 0, error=DataError)
    x, y = as_row_arrays(x, y)
    updates_per_epoch(len(x), batch_size, drop_remainder)

    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
