"""make_epoch_dataset: each epoch's order is a function of (seed, epoch) alone."""

import numpy as np
import pytest

from kerasforge.data.epoch_dataset import make_epoch_dataset
from kerasforge.errors import DataError

ROWS = 23


def _epochs(dataset, steps):
    """The row order of each epoch (y holds the row numbers)."""
    targets = [batch[1].numpy() for batch in dataset]
    return [np.concatenate(targets[start : start + steps]) for start in range(0, len(targets), steps)]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_resumed_stream_repeats_the_uninterrupted_epochs(seed):
    x, y = np.arange(ROWS * 2, dtype="float32").reshape(ROWS, 2), np.arange(ROWS)
    whole, steps = make_epoch_dataset(x, y, batch_size=5, epochs=5, seed=seed)
    resumed, _ = make_epoch_dataset(x, y, batch_size=5, epochs=5, first_epoch=3, seed=seed)
    epochs = _epochs(whole, steps)
    assert steps == 5
    assert len(epochs) == 5
    for order in epochs:
        assert sorted(order) == list(range(ROWS))  # each epoch visits every row once
    assert len({tuple(order) for order in epochs}) == 5  # and in its own order
    np.testing.assert_array_equal(np.stack(_epochs(resumed, steps)), np.stack(epochs[3:]))


def test_batches_keep_inputs_with_their_targets_and_never_straddle_epochs():
    x, y = np.arange(ROWS * 2, dtype="float32").reshape(ROWS, 2), np.arange(ROWS)
    dataset, steps = make_epoch_dataset(x, y, batch_size=10, epochs=2, drop_remainder=True, seed=3)
    batches = list(dataset)
    assert steps == 2 and len(batches) == 4
    for inputs, targets in batches:
        np.testing.assert_array_equal(inputs.numpy(), x[targets.numpy()])


def test_without_shuffle_every_epoch_is_in_row_order_and_inputs_alone_work():
    dataset, steps = make_epoch_dataset(np.arange(ROWS), batch_size=10, epochs=2, shuffle=False)
    rows = np.concatenate([batch.numpy() for batch in dataset])
    np.testing.assert_array_equal(rows, np.concatenate([np.arange(ROWS)] * 2))
    assert steps == 3


def test_a_first_epoch_after_the_last_is_a_data_error():
    with pytest.raises(DataError, match=r"Argument `epochs` must be >= 4. Received: epochs=3"):
        make_epoch_dataset(np.zeros((4, 1)), batch_size=2, epochs=3, first_epoch=4)
