"""The private Keras APIs in kerasforge._keras_compat: fail here, by name, when Keras changes one."""

import keras
import numpy as np
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


def test_optimizer_variables_can_be_tracked_and_untracked():
    optimizer = keras.optimizers.SGD(0.1)
    weight = keras.Variable(np.ones(3, "float32"))
    optimizer.build([weight])
    assert _keras_compat.optimizer_built_variables(optimizer) == [weight]
    extra = keras.Variable(np.zeros(2, "float32"), trainable=False)
    count = len(optimizer.variables)
    _keras_compat.track_optimizer_variable(optimizer, extra)
    _keras_compat.track_optimizer_variable(optimizer, extra)  # once only
    assert len(optimizer.variables) == count + 1 and optimizer.variables[-1] is extra
    _keras_compat.untrack_optimizer_variable(optimizer, extra)
    _keras_compat.untrack_optimizer_variable(optimizer, extra)  # a no-op when absent
    assert len(optimizer.variables) == count


def test_layer_call_outputs_lists_every_call_of_a_shared_layer_in_the_model():
    left, right = keras.Input((2,)), keras.Input((2,))
    shared = keras.layers.Dense(3)
    elsewhere = shared(keras.Input((2,)))  # a call outside the model is not listed
    model = keras.Model([left, right], keras.layers.Add()([shared(left), shared(right)]))
    outputs = _keras_compat.layer_call_outputs(model, shared)
    assert len(outputs) == 2 and all(output is not elsewhere for output in outputs)
    sequential = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="only")])
    assert len(_keras_compat.layer_call_outputs(sequential, sequential.get_layer("only"))) == 1


def test_graph_models_and_training_argument_are_told_apart():
    class Subclassed(keras.Model):
        def call(self, inputs):
            return inputs

    class WithTraining(keras.Model):
        def call(self, inputs, training=False):
            return inputs

    inputs = keras.Input((2,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    assert _keras_compat.is_graph_model(keras.Sequential([keras.layers.Dense(1)]))
    assert _keras_compat.is_graph_model(functional)
    assert not _keras_compat.is_graph_model(Subclassed())
    assert _keras_compat.call_takes_training(WithTraining())
    assert not _keras_compat.call_takes_training(Subclassed())


def test_sync_training_state_is_a_no_op_outside_fit():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    _keras_compat.sync_training_state(model)
    assert model.get_weights()[0].shape == (2, 1)


def test_compile_config_written_as_changes_what_is_saved_only_within_the_block():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=False)
    with _keras_compat.compile_config_written_as(model, steps_per_execution=7, jit_compile="auto"):
        inside = model.get_compile_config()
    assert (inside["steps_per_execution"], inside["jit_compile"]) == (7, "auto")
    after = model.get_compile_config()
    assert (after["steps_per_execution"], after["jit_compile"]) == (1, False)
    assert int(model.steps_per_execution) == 1


def _train_step_traces(prepare) -> int:
    """How often `fit` traces a small model's train step over 2 epochs of a `tf.data` pipeline."""
    import tensorflow as tf

    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    model = keras.Sequential(layers)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=4,
    )
    traces = []
    train_step = model.train_step

    def counted_train_step(data):
        traces.append(data)
        return train_step(data)

    model.train_step = counted_train_step
    rng = np.random.default_rng(0)
    rows = (rng.normal(size=(50, 4)).astype("float32"), rng.integers(0, 3, 50))
    dataset = tf.data.Dataset.from_tensor_slices(rows).batch(8)
    prepare(model, dataset)
    model.fit(dataset, epochs=2, verbose=0)
    return len(traces)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's trainer traces")
def test_building_the_training_state_first_spares_tensorflow_a_second_trace_of_the_train_step():
    assert _train_step_traces(lambda model, dataset: None) == 2  # Keras builds the optimizer inside the trace
    assert _train_step_traces(_keras_compat.build_training_state) == 1


def test_building_the_training_state_from_arrays_is_a_no_op():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    _keras_compat.build_training_state(model, (np.zeros((8, 4)), np.zeros((8, 3))))
    assert not model.optimizer.built
