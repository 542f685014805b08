"""The private Keras APIs in kerasforge._keras_compat: fail here, by name, when Keras changes one."""

import keras
import pytest

from kerasforge import _keras_compat


def test_print_msg_writes_to_stdout_under_interactive_logging(capsys):
    keras.config.enable_interactive_logging()
    _keras_compat.print_msg("hello from kerasforge")
    assert capsys.readouterr().out == "hello from kerasforge\n"


def test_learning_rate_as_given_returns_the_schedule_itself():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert _keras_compat.learning_rate_as_given(keras.optimizers.SGD(schedule)) is schedule
    given = _keras_compat.learning_rate_as_given(keras.optimizers.SGD(0.25))
    assert float(keras.ops.convert_to_numpy(given)) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "metric, direction",
    [
        (keras.metrics.Accuracy(), "up"),
        (keras.metrics.F1Score(), "up"),
        (keras.metrics.AUC(), "up"),
        (keras.metrics.MeanSquaredError(), "down"),
        (keras.metrics.Hinge(), "down"),
        (keras.metrics.Mean(), None),
    ],
)
def test_metric_direction(metric, direction):
    assert _keras_compat.metric_direction(metric) == direction


@pytest.mark.parametrize("log_every, expected", [(None, True), (10, False)])
def test_keras_dispatches_the_monitors_batch_end_in_the_background_unless_it_logs(log_every, expected):
    # CallbackList reads `async_safe` to decide; a callback that is not async-safe makes Keras wait for
    # every step's logs. Backends that are not thread-safe never dispatch in the background.
    from keras.src import backend

    from kerasforge.callbacks import GradientNormMonitor

    callbacks = keras.callbacks.CallbackList([GradientNormMonitor(log_every=log_every)])
    assert callbacks._async_train is (expected and backend.IS_THREAD_SAFE)
