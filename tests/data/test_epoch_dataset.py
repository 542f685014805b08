"""make_epoch_dataset and EpochArrays: each epoch's order is a function of (seed, epoch) alone."""

import keras
import numpy as np
import pytest

from kerasforge.data import epoch_dataset
from kerasforge.data.epoch_dataset import EpochArrays, gather_chunk_rows, make_epoch_dataset
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


def test_a_gathered_chunk_is_whole_batches_of_about_the_chunk_bytes():
    assert gather_chunk_rows(batch_size=32, row_bytes=100) == 32 * (2**25 // 3200)
    assert gather_chunk_rows(batch_size=32, row_bytes=2**26) == 32  # never less than a batch
    assert gather_chunk_rows(batch_size=5, row_bytes=0) % 5 == 0


def _targets(arrays):
    """The targets (row numbers) of every batch of one pass."""
    return [arrays[index][1] for index in range(len(arrays))]


@pytest.mark.parametrize("seed", [0, 3])
def test_distributed_shards_are_disjoint_halves_of_each_batch_and_cover_the_split(seed):
    # 23 rows at batch 6: 3 batches of 6 split in halves of 3; the last batch of 5 is odd, so both take it.
    def shard(**arguments):
        return _targets(
            EpochArrays(X, Y, batch_size=6, epoch_of_pass=lambda: 2, shuffle=True, seed=seed, **arguments)
        )

    whole, halves = shard(), [shard(num_shards=2, shard_index=index) for index in range(2)]
    for full, first, second in zip(whole[:-1], *halves, strict=False):
        assert len(first) == len(second) == 3
        assert not set(first) & set(second)
        assert sorted([*first, *second]) == sorted(full)
    assert list(halves[0][-1]) == list(halves[1][-1]) == list(whole[-1])


def test_a_short_batch_is_repeated_to_split_over_local_devices():
    batches = _targets(
        EpochArrays(X, Y, batch_size=6, epoch_of_pass=lambda: 0, shuffle=True, local_replicas=2)
    )
    assert [len(batch) for batch in batches] == [6, 6, 6, 10]
    assert list(batches[-1][:5]) == list(batches[-1][5:])


def test_shard_index_out_of_range_is_a_data_error():
    with pytest.raises(DataError, match="`shard_index` must be < num_shards=2. Received: shard_index=2"):
        EpochArrays(X, Y, batch_size=6, num_shards=2, shard_index=2)


@pytest.mark.parametrize("drop_remainder", [False, True])
@pytest.mark.parametrize("seed", [0, 5])
# A row of X and Y is 16 bytes: the pipeline gathers the whole epoch at once, 5 rows (a batch) at a
# time, or 10 (two batches, then the partial one alone).
@pytest.mark.parametrize("chunk_bytes", [2**25, 1, 160])
def test_epoch_arrays_give_the_pipelines_batches_at_every_epoch(
    seed, drop_remainder, chunk_bytes, monkeypatch
):
    monkeypatch.setattr(epoch_dataset, "GATHER_CHUNK_BYTES", chunk_bytes)
    epoch = Epoch()
    arrays = EpochArrays(
        X,
        Y,
        batch_size=5,
        epoch_of_pass=lambda: epoch.value,
        shuffle=True,
        drop_remainder=drop_remainder,
        seed=seed,
    )
    pipeline = make_epoch_dataset(
        X, Y, batch_size=5, epoch_of_pass=lambda: epoch.value, drop_remainder=drop_remainder, seed=seed
    )
    for epoch.value in (0, 1, 4):
        ours = [arrays[index] for index in range(len(arrays))]
        theirs = [(inputs.numpy(), targets.numpy()) for inputs, targets in pipeline]
        assert len(ours) == len(theirs) == (4 if drop_remainder else 5)
        for (x, y), (x_expected, y_expected) in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(y, y_expected)
            np.testing.assert_array_equal(x, x_expected)
            assert x.dtype == X.dtype


def test_epoch_arrays_draw_the_order_when_a_pass_starts_and_count_passes_without_a_clock():
    epoch = Epoch()
    arrays = EpochArrays(X, Y, batch_size=23, epoch_of_pass=lambda: epoch.value, shuffle=True)
    first = arrays[0][1]
    epoch.value = 1
    assert list(arrays[0][1]) != list(first)  # batch 0 starts epoch 1's pass
    counted = EpochArrays(X, Y, batch_size=23, shuffle=True)
    np.testing.assert_array_equal(counted[0][1], first)  # pass 0 is epoch 0
    np.testing.assert_array_equal(counted[0][1], arrays[0][1])  # pass 1 is epoch 1


def test_epoch_arrays_without_shuffle_are_in_row_order_and_inputs_alone_are_one_tuples():
    arrays = EpochArrays(np.arange(ROWS), batch_size=10)
    assert len(arrays) == arrays.num_batches == 3
    batches = [arrays[index] for index in range(3)]
    assert all(len(batch) == 1 for batch in batches)
    np.testing.assert_array_equal(np.concatenate([batch[0] for batch in batches]), np.arange(ROWS))


def test_epoch_arrays_reject_a_bad_batch_size_and_an_index_past_the_end():
    with pytest.raises(DataError, match=r"Argument `batch_size` must be >= 1. Received: batch_size=0"):
        EpochArrays(X, Y, batch_size=0)
    with pytest.raises(DataError, match=r"`epoch_of_pass\(\)` must be >= 0. Received: epoch_of_pass\(\)=-1"):
        EpochArrays(X, Y, batch_size=5, epoch_of_pass=lambda: -1, shuffle=True)[0]
    with pytest.raises(IndexError, match=r"batch index 5 is out of range\(0, 5\)"):
        EpochArrays(X, Y, batch_size=5)[5]


class _Clock(keras.callbacks.Callback):
    """Tells the data the epoch under way, as `fit_model`'s clock does."""

    epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


def _trained_weights(make_train_set):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.01), "mse")
    clock = _Clock()
    model.fit(make_train_set(lambda: clock.epoch), epochs=3, verbose=0, shuffle=False, callbacks=[clock])
    return model.get_weights()


def test_a_fit_on_epoch_arrays_trains_the_weights_a_fit_on_the_pipeline_does():
    # 3 epochs of 5 batches: a batch out of its place, or an epoch in another's order, moves the weights.
    x = (X / ROWS).astype("float32")
    y = (Y % 3).astype("float32")
    ours = _trained_weights(
        lambda clock: EpochArrays(x, y, batch_size=5, epoch_of_pass=clock, shuffle=True, seed=2)
    )
    theirs = _trained_weights(
        lambda clock: make_epoch_dataset(x, y, batch_size=5, epoch_of_pass=clock, seed=2)
    )
    unshuffled = _trained_weights(lambda clock: EpochArrays(x, y, batch_size=5))
    for mine, expected in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(mine, other) for mine, other in zip(ours, unshuffled, strict=True))
