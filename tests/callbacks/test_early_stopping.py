"""EarlyStopping: scripted logs first (as keras early_stopping_test.py), then fits."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import EarlyStopping


class _Model:
    """Just enough of a model to drive the hooks: weights and stop flag."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(1)]
        self.metrics = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = weights


def _drive(stopper, values, key="val_loss"):
    """Runs epochs until the stopper stops; returns the epochs run."""
    model = _Model()
    stopper.set_model(model)
    stopper.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        stopper.on_epoch_end(epoch, {key: value})
        epochs += 1
        if model.stop_training:
            break
    stopper.on_train_end()
    return epochs, model


@pytest.mark.parametrize(
    "kwargs, values, epochs, reason, best_epoch",
    [
        ({"patience": 2}, [1.0, 0.9, 0.95, 0.96, 0.5], 4, "patience", 1),
        # min_delta=1e-4: an improvement of 5e-5 is no improvement.
        ({"patience": 1}, [1.0, 0.99995, 0.9], 2, "patience", 0),
        ({"patience": 1, "min_delta": 0.0}, [1.0, 0.99995, 0.99], 3, None, 2),
        ({"patience": 5, "divergence_threshold": 2.0}, [1.0, 1.5, 2.5], 3, "divergence", 0),
        ({"patience": 5, "stopping_threshold": 0.5}, [1.0, 0.6, 0.4, 0.3], 3, "threshold", 2),
        ({"patience": 5}, [1.0, float("nan"), 0.5], 2, "non_finite", 0),
        ({"patience": 5, "check_finite": False}, [1.0, float("nan"), 0.5], 3, None, 2),
        ({"patience": 2, "baseline": 0.5}, [1.0, 0.9, 0.95, 0.96], 3, "patience", 1),
        ({"patience": 0, "start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0], 4, "patience", 2),
        ({"patience": 1, "mode": "max"}, [0.5, 0.6, 0.55, 0.5], 3, "patience", 1),
    ],
)
def test_stops_for_the_right_reason(kwargs, values, epochs, reason, best_epoch):
    stopper = EarlyStopping(**kwargs)
    run, model = _drive(stopper, values)
    assert (run, stopper.stop_reason, stopper.best_epoch) == (epochs, reason, best_epoch)
    # As in Keras, stopped_epoch is 0 when this callback did not stop training.
    assert stopper.stopped_epoch == (0 if reason is None else epochs - 1)
    # restore_best_weights=True by default: the best epoch's weights come back.
    assert model.weights[0][0] == best_epoch


def test_defaults_follow_the_notes():
    config = EarlyStopping().get_config()
    assert config["monitor"] == "val_loss"
    assert config["min_delta"] == 1e-4
    assert config["restore_best_weights"] is True
    assert EarlyStopping.from_config(config).get_config() == config


def test_get_config_is_not_mutated_by_training():
    stopper = EarlyStopping(min_delta=0.01, patience=1)
    _drive(stopper, [1.0, 0.5, 0.6])
    assert stopper.get_config()["min_delta"] == 0.01


def test_state_resets_across_fits():
    stopper = EarlyStopping(patience=0)
    _drive(stopper, [1.0, 2.0])
    assert stopper.stop_reason == "patience"
    run, _ = _drive(stopper, [5.0, 4.0, 3.0])
    assert (run, stopper.stop_reason, stopper.best, stopper.best_epoch) == (3, None, 3.0, 2)


def test_missing_monitor_warns_with_the_available_keys():
    stopper = EarlyStopping(monitor="val_acc")
    with pytest.warns(UserWarning, match=r"Available keys: \['loss', 'val_loss'\]"):
        stopper.set_model(_Model())
        stopper.on_train_begin()
        stopper.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})


def test_auto_mode_maximises_accuracy_and_rejects_unknown_direction():
    stopper = EarlyStopping(monitor="val_accuracy", patience=0)
    run, _ = _drive(stopper, [0.5, 0.6, 0.55], key="val_accuracy")
    assert (run, stopper.best) == (3, 0.6)
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        _drive(EarlyStopping(monitor="val_widgets"), [1.0], key="val_widgets")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"patience": -1}, ValueError, r"Argument `patience` must be >= 0. Received: patience=-1"),
        ({"mode": "up"}, ValueError, r"`mode` must be one of 'auto', 'min'"),
        ({"min_delta": -0.1}, ValueError, r"min_delta=-0.1"),
        ({"monitor": ""}, ValueError, r"`monitor` must be a non-empty string"),
        ({"baseline": "low"}, TypeError, r"`baseline` must be a number"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


def test_restores_best_weights_when_another_callback_stops_training(digits):
    x, y = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    snapshots = []

    class StopAtThree(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(model.get_weights())
            if epoch == 2:
                self.model.stop_training = True

    stopper = EarlyStopping(patience=10, verbose=1)
    history = model.fit(
        x,
        y,
        validation_split=0.3,
        epochs=20,
        batch_size=64,
        verbose=0,
        callbacks=[stopper, StopAtThree()],
    )
    assert len(history.history["loss"]) == 3
    assert stopper.stop_reason is None
    best = int(np.argmin(history.history["val_loss"]))
    assert stopper.best_epoch == best
    for restored, saved in zip(model.get_weights(), snapshots[best], strict=True):
        np.testing.assert_array_equal(restored, saved)


def _compiled_model(metrics):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse", metrics=metrics)
    return model


@pytest.mark.parametrize(
    "monitor, mode, op",
    [
        ("val_loss", "auto", "less"),
        ("loss", "max", "greater"),
        ("val_mean_squared_error", "auto", "less"),
        ("mean_absolute_error", "auto", "less"),
        ("val_binary_accuracy", "auto", "greater"),
        ("f1_score", "auto", "greater"),
        ("hinge", "auto", "less"),
    ],
)
def test_monitor_op_is_keras_less_or_greater_after_a_fit(regression, monitor, mode, op):
    x, y = regression
    metrics = [
        "mean_squared_error",
        "mean_absolute_error",
        "binary_accuracy",
        "hinge",
        keras.metrics.F1Score(),
    ]
    model = _compiled_model(metrics)
    ours = EarlyStopping(monitor=monitor, mode=mode, patience=5)
    theirs = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=5)
    assert ours.monitor_op is None
    model.fit(
        x, (y > 0).astype("float32"), validation_split=0.25, epochs=2, verbose=0, callbacks=[ours, theirs]
    )
    assert ours.monitor_op is theirs.monitor_op is getattr(keras.ops, op)


def test_a_metric_logged_as_a_one_element_array_is_monitored(regression):
    # F1Score on one output column logs an array of shape (1,), as Keras's own test model does.
    x, y = regression
    model = _compiled_model([keras.metrics.F1Score(name="f1_score")])
    stopper = EarlyStopping(monitor="f1_score", patience=1, restore_best_weights=False)
    history = model.fit(x, (y > 0).astype("float32"), epochs=4, verbose=0, callbacks=[stopper])
    assert np.asarray(history.history["f1_score"][0]).shape == (1,)
    assert isinstance(stopper.best, float)
    assert stopper.best == pytest.approx(float(np.max(np.concatenate(history.history["f1_score"]))), abs=1e-4)


def test_a_metric_with_several_values_is_refused_by_name():
    stopper = EarlyStopping(monitor="f1", mode="max")
    stopper.set_model(_Model())
    stopper.on_train_begin()
    with pytest.raises(ValueError, match=r"`f1`, which holds 3 values.*Received: f1=\[0.1, 0.2, 0.3\]"):
        stopper.on_epoch_end(0, {"f1": np.array([0.1, 0.2, 0.3])})


def test_unknown_monitor_raises_in_fit_like_keras(regression):
    x, y = regression
    model = _compiled_model(["mean_absolute_error"])
    for stopper_class in (keras.callbacks.EarlyStopping, EarlyStopping):
        with pytest.raises(ValueError, match="mode='max'"):
            model.fit(x, y, epochs=2, verbose=0, callbacks=[stopper_class(monitor="unknown")])


def test_stopped_and_best_epoch_are_zero_when_training_ran_to_the_end(regression):
    x, y = regression
    model = _compiled_model([])
    stopper = EarlyStopping(monitor="loss", patience=50)
    assert (stopper.stopped_epoch, stopper.best_epoch) == (0, 0)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[stopper])
    assert stopper.stopped_epoch == 0 and not stopper.stopped_epoch > 0
    assert stopper.stop_reason is None
    assert stopper.best_epoch == 2  # the loss fell every epoch


def test_patience_stops_at_the_same_epoch_as_keras():
    losses = [5.0, 4.0, 3.5, 3.6, 3.55, 3.52, 3.51, 3.505]
    for patience in range(4):
        stopped = []
        for stopper in (
            keras.callbacks.EarlyStopping(monitor="loss", patience=patience),
            EarlyStopping(monitor="loss", patience=patience, min_delta=0.0, restore_best_weights=False),
        ):
            model = _Model()
            stopper.set_model(model)
            stopper.on_train_begin()
            for epoch, loss in enumerate(losses):
                stopper.on_epoch_end(epoch, {"loss": loss})
                if model.stop_training:
                    break
            stopped.append((stopper.stopped_epoch, stopper.best_epoch, stopper.wait))
        assert stopped[0] == stopped[1]
