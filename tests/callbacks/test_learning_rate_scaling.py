"""scale_learning_rate: the linear scaling rule."""

import pytest

from kerasforge.callbacks import scale_learning_rate


@pytest.mark.parametrize(
    "batch_size, base_batch_size, expected",
    [(32, 32, 1e-3), (256, 32, 8e-3), (16, 32, 5e-4), (512, 256, 2e-3)],
)
def test_scales_linearly_with_the_batch(batch_size, base_batch_size, expected):
    assert scale_learning_rate(1e-3, batch_size, base_batch_size) == (pytest.approx(expected))


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((0.0, 64), ValueError, r"`base_learning_rate` must be > 0"),
        ((1e-3, 0), ValueError, r"Argument `batch_size` must be >= 1. Received: batch_size=0"),
        ((1e-3, 64.0), TypeError, r"`batch_size` must be an integer"),
        ((1e-3, 64, -2), ValueError, r"base_batch_size=-2"),
    ],
)
def test_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        scale_learning_rate(*args)
