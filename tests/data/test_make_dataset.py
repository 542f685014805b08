import numpy as np
import pytest

from kerasforge.data import make_dataset, updates_per_epoch
from kerasforge.errors import DataError


def _epoch_orders(dataset, epochs):
    return [np.concatenate([x.numpy()[:, 0] for x, _ in dataset]) for _ in range(epochs)]


@pytest.mark.parametrize("drop_remainder, batches, last", [(False, 6, 50), (True, 5, 150)])
def test_batch_count_follows_drop_remainder(drop_remainder, batches, last):
    x = np.arange(800, dtype=np.float32).reshape(-1, 1)
    dataset = make_dataset(x, x, batch_size=150, drop_remainder=drop_remainder)
    sizes = [len(xb) for xb, _ in dataset]
    assert len(sizes) == batches == updates_per_epoch(800, 150, drop_remainder)
    assert sizes[-1] == last


def test_shuffles_differently_each_epoch_but_reproducibly():
    x = np.arange(64, dtype=np.float32).reshape(-1, 1)
    first = _epoch_orders(make_dataset(x, x, batch_size=16, seed=7), 2)
    second = _epoch_orders(make_dataset(x, x, batch_size=16, seed=7), 2)
    other = _epoch_orders(make_dataset(x, x, batch_size=16, seed=8), 1)
    assert sorted(first[0].tolist()) == x[:, 0].tolist()
    assert not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_no_shuffle_keeps_order_and_pairs_rows():
    x = np.arange(10, dtype=np.float32).reshape(-1, 1)
    y = x[:, 0] * 2
    dataset = make_dataset(x, y, batch_size=4, shuffle=False, cache=False)
    pairs = [(xb.numpy(), yb.numpy()) for xb, yb in dataset]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in pairs])[:, 0], x[:, 0])
    np.testing.assert_array_equal(np.concatenate([p[1] for p in pairs]), y)


def test_inputs_only():
    dataset = make_dataset(np.ones((5, 2)), batch_size=2, shuffle=False)
    assert [batch.shape[0] for batch in dataset] == [2, 2, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, r"`batch_size` must be >= 1\. Received: batch_size=0"),
        ({"batch_size": "32"}, r"Received: batch_size='32'"),
        ({"batch_size": 64, "drop_remainder": True}, r"batch_size=64 is larger than the 10"),
        ({"batch_size": 4, "y": np.zeros(9)}, r"x with 10 rows, y with shape \(9,\)"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match):
    kwargs = {"y": np.zeros(10), **kwargs}
    with pytest.raises(DataError, match=match):
        make_dataset(np.zeros((10, 3)), **kwargs)


def test_empty_inputs_are_rejected():
    with pytest.raises(DataError, match=r"`x` must hold at least one row"):
        make_dataset(np.zeros((0, 3)), np.zeros(0), batch_size=4)
