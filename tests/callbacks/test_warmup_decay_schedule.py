"""WarmupDecaySchedule: values along the schedule, and a save/load round trip."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import WarmupDecaySchedule


def _rates(schedule, steps):
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]


@pytest.mark.parametrize(
    "decay, kwargs, expected",
    [
        ("cosine", {"final_learning_rate": 0.1}, [0.5, 1.0, 0.55, 0.1, 0.1]),
        ("linear", {}, [0.5, 1.0, 0.5, 0.0, 0.0]),
        ("exponential", {"decay_rate": 0.5}, [0.5, 1.0, 0.5**0.5, 0.5, 0.25]),
        ("step", {"decay_rate": 0.1}, [0.5, 1.0, 1.0, 0.1, 0.01]),
        ("constant", {}, [0.5, 1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_warms_up_linearly_then_decays(decay, kwargs, expected):
    schedule = WarmupDecaySchedule(1.0, warmup_steps=10, decay=decay, decay_steps=20, **kwargs)
    np.testing.assert_allclose(_rates(schedule, [5, 10, 20, 30, 50]), expected, rtol=1e-5, atol=1e-7)


def test_no_warmup_starts_at_the_peak():
    schedule = WarmupDecaySchedule(0.01, decay="linear", decay_steps=4)
    np.testing.assert_allclose(_rates(schedule, [0, 2, 4]), [0.01, 0.005, 0.0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"peak_learning_rate": 0.0},
            ValueError,
            r"`peak_learning_rate` must be > 0. Received: peak_learning_rate=0.0",
        ),
        ({"decay": "cyclic"}, ValueError, r"`decay` must be one of 'cosine'"),
        ({"decay_steps": None}, ValueError, r"`decay_steps` is required"),
        ({"warmup_steps": -5}, ValueError, r"warmup_steps=-5"),
        ({"decay_rate": 2.0}, ValueError, r"`decay_rate` must be <= 1"),
        ({"warmup_steps": 1.5}, TypeError, r"`warmup_steps` must be an integer"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    arguments = {"peak_learning_rate": 1e-3, "decay_steps": 100, **kwargs}
    with pytest.raises(error, match=match):
        WarmupDecaySchedule(**arguments)


def test_config_round_trip():
    schedule = WarmupDecaySchedule(2e-3, warmup_steps=3, decay="step", decay_steps=7, decay_rate=0.3)
    clone = WarmupDecaySchedule.from_config(schedule.get_config())
    assert clone.get_config() == schedule.get_config()
    np.testing.assert_allclose(_rates(clone, range(20)), _rates(schedule, range(20)))


def test_model_saved_with_it_loads_without_custom_objects(tmp_path, regression):
    x, y = regression
    schedule = WarmupDecaySchedule(1e-2, warmup_steps=5, decay_steps=50)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(schedule), "mse")
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, WarmupDecaySchedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate)),
        float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
    )
