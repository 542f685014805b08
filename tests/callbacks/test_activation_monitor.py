"""ActivationMonitor: dead ReLU units and saturated sigmoid units, for real."""

import keras
import pytest

from kerasforge.callbacks import ActivationMonitor


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


def test_healthy_relu_network_is_not_flagged(digits, make_mlp):
    x, y = digits
    model = make_mlp("relu", "he_normal", depth=3)
    monitor = ActivationMonitor(probe_data=(x[:256], y[:256]), on_detect="raise")
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[monitor])
    assert monitor.events == []
    first = f"dead_fraction/{model.layers[0].name}"
    assert all(v < 0.5 for v in history.history[first])


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
        ({"probe_data": None}, ValueError, r"`probe_data` must be an array"),
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
