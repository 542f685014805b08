"""LearningRateFinder: a real sweep on digits, and the model put back afterwards."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import LearningRateFinder, LearningRateRange


def _model(learning_rate=1e-3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=1,
    )
    return model


def test_sweep_suggests_a_rate_below_the_divergence_and_restores_the_model(digits):
    x, y = digits
    model = _model()
    before = model.get_weights()
    finder = LearningRateFinder(min_learning_rate=1e-4, max_learning_rate=100.0, steps=60)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[finder])
    result = finder.result
    assert isinstance(result, LearningRateRange)
    assert 3 <= len(result.losses) <= 60
    assert result.learning_rates == sorted(result.learning_rates)
    assert 1e-4 <= result.suggested_learning_rate <= result.min_loss_learning_rate
    assert finder.suggested_learning_rate == result.suggested_learning_rate
    for restored, saved in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, saved)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)


def test_a_schedule_is_rejected_at_train_begin(digits):
    x, y = digits
    model = _model(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(ValueError, match="constant learning rate, not a schedule"):
        model.fit(x[:64], y[:64], epochs=1, verbose=0, callbacks=[LearningRateFinder(steps=5)])


def test_config_round_trip():
    finder = LearningRateFinder(min_learning_rate=1e-5, steps=50)
    assert LearningRateFinder.from_config(finder.get_config()).get_config() == finder.get_config()
