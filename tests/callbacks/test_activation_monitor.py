"""ActivationMonitor: dead ReLU units and saturated sigmoid units, for real."""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import ActivationMonitor, GradientNormMonitor


@pytest.mark.slow
def test_dying_relu_network_is_detected(digits, make_mlp):
    x, y = digits
    # A bias of -5 puts every pre-activation below zero: all units dead.
    model = make_mlp("relu", "he_normal", depth=3, bias_initializer=keras.initializers.Constant(-5.0))
    monitor = ActivationMonitor(probe_data=x[:256], on_detect="log")
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[monitor])
    names = [layer.name for layer in model.layers[:3]]
    assert [history.history[f"dead_fraction/{n}"][0] for n in names] == [1.0] * 3
    assert [e["layer"] for e in monitor.events] == names
    assert {e["kind"] for e in monitor.events} == {"dead_units"}
    assert "LeakyReLU" in monitor.summary


@pytest.mark.slow
def test_healthy_relu_network_is_not_flagged(digits, make_mlp):
    x, y = digits
    model = make_mlp("relu", "he_normal", depth=3)
    monitor = ActivationMonitor(probe_data=(x[:256], y[:256]), on_detect="raise")
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[monitor])
    assert monitor.events == []
    first = f"dead_fraction/{model.layers[0].name}"
    assert all(v < 0.5 for v in history.history[first])


@pytest.mark.slow
def test_saturated_sigmoid_layer_is_detected(digits, make_mlp):
    x, y = digits
    model = make_mlp("sigmoid", keras.initializers.RandomNormal(stddev=5.0), depth=2)
    monitor = ActivationMonitor(probe_data=x[:256], on_detect="stop")
    with pytest.warns(RuntimeWarning, match="saturated"):
        history = model.fit(x, y, epochs=3, batch_size=64, verbose=0, callbacks=[monitor])
    assert len(history.history["loss"]) == 1  # stopped after the first epoch
    assert monitor.events[0]["kind"] == "saturated"
    assert monitor.events[0]["value"] > 0.5


def test_subclassed_model_is_rejected_with_a_clear_error(regression):
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1, activation="relu")

        def call(self, inputs):
            return self.dense(inputs)

    x, y = regression
    model = Tiny()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Sequential or functional model"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ActivationMonitor(probe_data=x[:8])])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"probe_data": None}, ValueError, r"`probe_data` must be the probe batch's inputs"),
        ({"dead_threshold": 1.5}, ValueError, r"`dead_threshold` must be <= 1"),
        ({"every": 0}, ValueError, r"Argument `every` must be >= 1. Received: every=0"),
        ({"on_detect": "shout"}, ValueError, r"`on_detect` must be one of 'warn'"),
        ({"saturation_margin": 0.5}, ValueError, r"`saturation_margin` must be < 0.5"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    arguments = {"probe_data": [[0.0]], **kwargs}
    with pytest.raises(error, match=match):
        ActivationMonitor(**arguments)


def test_output_layer_is_not_watched(regression):
    # A confident sigmoid output sits near 0 or 1 by design: not a problem.
    x, y = regression
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(4, activation="tanh", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="output"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    history = model.fit(
        x, (y > 0).astype("float32"), epochs=1, verbose=0, callbacks=[ActivationMonitor(probe_data=x[:64])]
    )
    assert "saturated_fraction/hidden" in history.history
    assert "saturated_fraction/output" not in history.history


@pytest.mark.slow
def test_sequential_without_input_layer_is_watched(digits):
    x, y = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[ActivationMonitor(probe_data=x[:128])])
    assert len(history.history["dead_fraction/hidden"]) == 2


def _two_inputs():
    left, right = keras.Input((1,), name="left"), keras.Input((1,), name="right")
    # Unit 0 is positive on positive inputs only, unit 1 on negative ones.
    shared = keras.layers.Dense(
        2, activation="relu", name="shared", kernel_initializer=keras.initializers.Constant([[1.0, -1.0]])
    )
    merged = keras.layers.Concatenate()([shared(left), shared(right)])
    model = keras.Model([left, right], keras.layers.Dense(1, name="head")(merged))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    return model


def test_shared_layer_is_judged_on_all_its_calls_and_a_list_is_one_array_per_input():
    model = _two_inputs()
    left = np.linspace(0.1, 1.0, 32, dtype="float32")[:, None]
    monitor = ActivationMonitor(probe_data=[left, -left], on_detect="raise")
    history = model.fit([left, -left], left, epochs=1, verbose=0, callbacks=[monitor])
    # Each call alone leaves one of the two units dead; together neither is.
    assert history.history["dead_fraction/shared"] == [0.0]
    one_sided = ActivationMonitor(probe_data=([left, left], left), on_detect="log")
    history = model.fit([left, left], left, epochs=1, verbose=0, callbacks=[one_sided])
    assert history.history["dead_fraction/shared"] == [0.5]


@pytest.mark.parametrize(
    "probe_data, match",
    [
        ("list_of_two_for_one_input", r"gives 2 input array\(s\) but the model takes 1 input"),
        ("one_array_for_two_inputs", r"gives 1 input array\(s\) but the model takes 2 input"),
    ],
)
def test_probe_data_that_does_not_fit_the_inputs_fails_before_training(regression, probe_data, match):
    x, y = regression
    if probe_data == "list_of_two_for_one_input":
        model = keras.Sequential(
            [keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile("sgd", "mse")
        data, fit_x = [x[:8], y[:8]], x
    else:
        model = _two_inputs()
        data, fit_x = x[:8, :1], [x[:, :1], x[:, 1:2]]
    seen = []
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    with pytest.raises(ValueError, match=match):
        model.fit(fit_x, y, epochs=1, verbose=0, callbacks=[ActivationMonitor(probe_data=data), spy])
    assert seen == []  # raised at train begin, before any epoch


@pytest.mark.slow
def test_an_lstm_has_one_key_in_both_monitors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(6, name="lstm"), keras.layers.Dense(1, name="head")]
    )
    model.compile("adam", "mse")
    history = model.fit(
        x,
        x.sum(axis=(1, 2)),
        epochs=1,
        verbose=0,
        callbacks=[GradientNormMonitor(), ActivationMonitor(probe_data=x[:32])],
    )
    layer_keys = {
        key.split("/", 1)[1]
        for key in history.history
        if key.startswith(("grad_norm/", "saturated_fraction/"))
    }
    assert {"lstm", "head"} <= layer_keys
    assert "saturated_fraction/lstm" in history.history and "grad_norm/lstm" in history.history
    assert not any("cell" in key for key in history.history)
