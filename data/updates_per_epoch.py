"""Counts the optimizer updates in one epoch."""

from __future__ import annotations

from kerasforge.checks import check_integer
from kerasforge.errors import DataError


def updates_per_epoch(rows: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Returns the number of batches, hence weight updates, in one epoch.

    Each batch gives one update. When `batch_size` does not divide `rows`,
    the last batch is smaller: 800 rows at batch size 150 give 6 updates, the
    last of 50 rows. With `drop_remainder=True` that partial batch is skipped,
    giving 5.

    Args:
        rows: Integer >= 1. Number of training rows.
        batch_size: Integer >= 1. Rows per batch.
        drop_remainder: Boolean. Skip the last partial batch. Defaults to
            `False`.

    Returns:
        Integer >= 1.

    Raises:
        DataError: `rows` or `batch_size` is not a positive integer, or
            `drop_remainder` leaves no batch at all (`rows < batch_size`).

    Example:

    >>> updates_per_epoch(800, 150), updates_per_epoch(800, 150, drop_remainder=True)
    (6, 5)
    """
    rows = check_integer("rows", rows, 1, error=DataError)
    batch_size = check_integer("batch_size", batch_size, 1, error=DataError)
    if drop_remainder:
        if rows < batch_size:
            raise DataError(
                f"With drop_remainder, batch_size={batch_size} is larger than the "
                f"{rows} training rows, so an epoch would have no updates. Use a "
                f"batch_size <= {rows} or drop_remainder=False."
            )
        return rows // batch_size
    return -(-rows // batch_size)
