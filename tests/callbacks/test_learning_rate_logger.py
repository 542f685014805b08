"""LearningRateLogger: the learning rate in the epoch logs."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import LearningRateLogger, WarmupDecaySchedule


@pytest.mark.parametrize("schedule", [False, True])
def test_puts_the_learning_rate_in_history(regression, tmp_path, schedule):
    x, y = regression  # 512 rows, batch 64: 8 steps per epoch
    rate = 0.01
    if schedule:
        rate = WarmupDecaySchedule(0.1, warmup_steps=16, decay="constant")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(rate), "mse")
    path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        epochs=3,
        batch_size=64,
        verbose=0,
        callbacks=[LearningRateLogger(), keras.callbacks.CSVLogger(str(path))],
    )
    expected = [0.05, 0.1, 0.1] if schedule else [0.01] * 3
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    assert "learning_rate" in path.read_text().splitlines()[0]


def test_keeps_a_value_another_callback_logged():
    logger = LearningRateLogger()
    logs = {"learning_rate": 0.123}
    logger.on_epoch_end(0, logs)
    assert logs == {"learning_rate": 0.123}
    assert LearningRateLogger.from_config(logger.get_config()).get_config() == {}
