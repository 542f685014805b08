"""OneCycleSchedule: the cycle's shape, and a save/load round trip."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import OneCycleSchedule


def _rate(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


@pytest.mark.parametrize("anneal", ["cosine", "linear"])
def test_rises_to_the_maximum_then_anneals_below_the_start(anneal):
    schedule = OneCycleSchedule(
        0.1, total_steps=100, pct_start=0.3, div_factor=10.0, final_div_factor=100.0, anneal=anneal
    )
    assert _rate(schedule, 0) == pytest.approx(0.01, rel=1e-4)
    assert _rate(schedule, 30) == pytest.approx(0.1, rel=1e-4)
    assert _rate(schedule, 100) == pytest.approx(1e-4, rel=1e-4)
    assert _rate(schedule, 500) == pytest.approx(1e-4, rel=1e-4)
    rates = [_rate(schedule, s) for s in range(101)]
    assert np.all(np.diff(rates[:31]) > 0) and np.all(np.diff(rates[30:]) < 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pct_start": 1.0}, r"`pct_start` must be < 1. Received: pct_start=1.0"),
        ({"total_steps": 1}, r"`total_steps` must be >= 2"),
        ({"anneal": "exponential"}, r"`anneal` must be one of 'cosine', 'linear'"),
        ({"max_learning_rate": -1.0}, r"`max_learning_rate` must be > 0"),
        ({"div_factor": 0.5}, r"`div_factor` must be >= 1"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    arguments = {"max_learning_rate": 0.1, "total_steps": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        OneCycleSchedule(**arguments)


def test_model_saved_with_it_loads_without_custom_objects(tmp_path, regression):
    x, y = regression
    schedule = OneCycleSchedule(1e-2, total_steps=40)
    assert OneCycleSchedule.from_config(schedule.get_config()).get_config() == (schedule.get_config())
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9), "mse")
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path).optimizer._learning_rate
    assert isinstance(restored, OneCycleSchedule)
    assert restored.get_config() == schedule.get_config()
