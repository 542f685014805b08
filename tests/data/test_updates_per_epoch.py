import pytest

from kerasforge.data import updates_per_epoch
from kerasforge.errors import DataError


@pytest.mark.parametrize(
    "rows, batch_size, drop_remainder, expected",
    [
        (800, 150, False, 6),
        (800, 150, True, 5),
        (800, 100, True, 8),
        (1, 32, False, 1),
        (32, 32, True, 1),
    ],
)
def test_counts_updates(rows, batch_size, drop_remainder, expected):
    assert updates_per_epoch(rows, batch_size, drop_remainder) == expected


@pytest.mark.parametrize(
    "args, match",
    [
        ((800, 0), r"`batch_size` must be >= 1\. Received: batch_size=0"),
        ((800, 1.5), r"`batch_size` must be an integer >= 1\. Received: batch_size=1.5"),
        ((0, 32), r"`rows` must be >= 1\. Received: rows=0"),
        ((10, 32, True), r"batch_size=32 is larger than the 10 training rows"),
    ],
)
def test_bad_arguments_are_rejected(args, match):
    with pytest.raises(DataError, match=match):
        updates_per_epoch(*args)
