"""make_epoch_dataset: each epoch's order is a function of (seed, epoch) alone."""

import numpy as np
import pytest

from kerasforge.data.epoch_dataset import make_epoch_dataset
from kerasforge.errors import DataError

ROWS = 23
X, Y = np.arange(ROWS * 2, dtype="float32").reshape(ROWS, 2), np.arange(ROWS)


class Epoch:
    """What a callback's on_epoch_begin would set."""

    value = 0


def _order(dataset):
    """The row order of one pass (y holds the row numbers)."""
    return np.concatenate([batch[1].numpy() for batch in dataset])


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_pass_at_epoch_e_repeats_the_uninterrupted_runs_epoch_e(seed):
    epoch = Epoch()
    uninterrupted = make_epoch_dataset(X, Y, batch_size=5, epoch_of_pass=lambda: epoch.value, seed=seed)
    orders = []
    for epoch.value in range(5):
        orders.append(_order(uninterrupted))
    for order in orders:
        assert sorted(order) == list(range(ROWS))  # each epoch visits every row once
    assert len({tuple(order) for order in orders}) == 5  # and in its own order
    resumed = make_epoch_dataset(X, Y, batch_size=5, epoch_of_pass=lambda: 3, seed=seed)
    np.testing.assert_array_equal(_order(resumed), orders[3])
    np.testing.assert_array_equal(_order(resumed), orders[3])  # a second pass at the same epoch too


def test_batches_keep_inputs_with_their_targets_and_the_cardinality_is_known():
    dataset = make_epoch_dataset(X, Y, batch_size=10, epoch_of_pass=lambda: 1, drop_remainder=True, seed=3)
    batches = list(dataset)
    assert int(dataset.cardinality()) == len(batches) == 2
    for inputs, targets in batches:
        np.testing.assert_array_equal(inputs.numpy(), X[targets.numpy()])


def test_without_shuffle_every_pass_is_in_row_order_and_inputs_alone_work():
    dataset = make_epoch_dataset(np.arange(ROWS), batch_size=10, epoch_of_pass=lambda: 4, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([batch.numpy() for batch in dataset]), np.arange(ROWS))
    assert int(dataset.cardinality()) == 3


def test_a_batch_size_of_zero_is_a_data_error():
    with pytest.raises(DataError, match=r"Argument `batch_size` must be >= 1. Received: batch_size=0"):
        make_epoch_dataset(X, Y, batch_size=0, epoch_of_pass=lambda: 0)


@pytest.mark.parametrize("seed", [0, 3])
def test_distributed_shards_are_disjoint_halves_of_each_batch_and_cover_the_split(seed):
    # 23 rows at batch 6: 3 batches of 6 split in halves of 3; the last batch of 5 is odd, so both take it.
    whole, halves = (
        [
            batch[1].numpy()
            for batch in make_epoch_dataset(X, Y, batch_size=6, epoch_of_pass=lambda: 2, seed=seed)
        ],
        [
            [
                batch[1].numpy()
                for batch in make_epoch_dataset(
                    X, Y, batch_size=6, epoch_of_pass=lambda: 2, seed=seed, num_shards=2, shard_index=index
                )
            ]
            for index in range(2)
        ],
    )
    for full, first, second in zip(whole[:-1], *halves, strict=False):
        assert len(first) == len(second) == 3
        assert not set(first) & set(second)
        assert sorted([*first, *second]) == sorted(full)
    assert list(halves[0][-1]) == list(halves[1][-1]) == list(whole[-1])


def test_a_short_batch_is_repeated_to_split_over_local_devices():
    batches = list(make_epoch_dataset(X, Y, batch_size=6, epoch_of_pass=lambda: 0, local_replicas=2))
    assert [len(batch[1]) for batch in batches] == [6, 6, 6, 10]
    assert list(batches[-1][1][:5]) == list(batches[-1][1][5:])


def test_shard_index_out_of_range_is_a_data_error():
    with pytest.raises(DataError, match="`shard_index` must be < num_shards=2. Received: shard_index=2"):
        make_epoch_dataset(X, Y, batch_size=6, epoch_of_pass=lambda: 0, num_shards=2, shard_index=2)
