"""TrialPruner: stops a fit when a rule fires, says why and when, and stays quiet otherwise."""

import math

import keras
import numpy as np
import pytest

from kerasforge.callbacks import GradientNormMonitor, TrialPruner, log_keys


def _model(seed, optimizer):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10, "softmax")]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _linear(seed, rate):
    """A linear regression net with plain SGD at `rate` (10 and above turn its loss NaN)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(rate), loss="mse")
    return model


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_non_finite_loss_stops_training_at_once_with_its_reason(seed, regression):
    x, y = regression
    model = _linear(seed, 10.0)
    pruner = TrialPruner()
    history = model.fit(x, y, epochs=5, verbose=0, callbacks=[GradientNormMonitor(), pruner])
    assert pruner.verdict["kind"] == "non_finite"
    assert pruner.verdict["epoch"] == 1
    assert "NaN/Inf gradient" in pruner.verdict["evidence"] or "loss became" in pruner.verdict["evidence"]
    assert history.history[log_keys.PRUNED] == [1.0]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_runs_train_to_the_end(seed, digits):
    x, y = digits
    pruner = TrialPruner()
    model = _model(seed, keras.optimizers.Adam(1e-3))
    history = model.fit(x[:256], y[:256], epochs=4, verbose=0, callbacks=[GradientNormMonitor(), pruner])
    assert pruner.verdict is None
    assert history.history[log_keys.PRUNED] == [0.0] * 4
    assert all(math.isfinite(value) for value in pruner.history["grad_norm/global"])


def test_a_rule_stops_training_at_the_epoch_it_fires_and_state_resets_each_fit(digits):
    x, y = digits
    seen = []

    def third_epoch(history, epoch, epochs):
        seen.append((len(history["loss"]), epoch, epochs))
        return ("custom", f"loss {history['loss'][-1]:.3f}") if epoch == 3 else None

    pruner = TrialPruner(rules=[third_epoch])
    model = _model(0, "adam")
    history = model.fit(x[:128], y[:128], epochs=6, verbose=0, callbacks=[pruner])
    assert history.history[log_keys.PRUNED] == [0.0, 0.0, 1.0]
    assert pruner.verdict["kind"] == "custom" and pruner.verdict["epoch"] == 3
    assert seen == [(1, 1, 6), (2, 2, 6), (3, 3, 6)]
    model.fit(x[:128], y[:128], epochs=2, verbose=0, callbacks=[pruner])
    assert pruner.verdict is None and len(pruner.history["loss"]) == 2


def test_the_epoch_counts_from_the_start_of_training_when_a_fit_continues(digits):
    x, y = digits
    pruner = TrialPruner(rules=[lambda history, epoch, epochs: ("late", "always") if epoch >= 1 else None])
    _model(0, "adam").fit(x[:64], y[:64], epochs=5, initial_epoch=3, verbose=0, callbacks=[pruner])
    assert pruner.verdict["epoch"] == 4


def test_config_round_trips_and_rules_must_be_callable():
    pruner = TrialPruner(check_finite=False, verbose=1)
    assert TrialPruner.from_config(pruner.get_config()).get_config() == pruner.get_config()
    with pytest.raises(ValueError, match=r"rules\[1\]=3"):
        TrialPruner(rules=[lambda *args: None, 3])
    with pytest.raises(ValueError, match="verbose"):
        TrialPruner(verbose=-1)


def test_without_check_finite_a_nan_loss_is_left_to_other_callbacks(regression):
    x, y = regression
    model = _linear(0, 10.0)
    pruner = TrialPruner(check_finite=False)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[pruner])
    assert not np.isfinite(history.history["loss"][-1])
    assert pruner.verdict is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_check_every_a_nan_loss_stops_training_inside_its_first_epoch(seed, regression):
    x, y = regression
    model = _linear(seed, 1e6)
    pruner = TrialPruner(check_every=2)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[pruner])
    steps = math.ceil(len(x) / 8)
    assert pruner.verdict["kind"] == "non_finite" and pruner.verdict["epoch"] == 1, pruner.verdict
    stopped_at = int(pruner.verdict["evidence"].split("at step ")[1].split()[0])
    assert stopped_at < steps, (stopped_at, steps)  # it did not wait for the epoch's end
    assert history.history[log_keys.PRUNED] == [1.0]


def test_check_every_must_be_positive_and_batch_rules_callable():
    with pytest.raises(ValueError, match="check_every"):
        TrialPruner(check_every=0)
    with pytest.raises(ValueError, match=r"batch_rules\[0\]='no'"):
        TrialPruner(batch_rules=["no"])
    assert TrialPruner(check_every=4).async_safe is False and TrialPruner().async_safe is True
