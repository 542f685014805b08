"""GradientNormMonitor: real fits on digits, one per behaviour."""

import warnings

import keras
import numpy as np
import pytest

from kerasforge.callbacks import GradientNormMonitor


def _fit(model, data, monitor, epochs=3, **kwargs):
    x, y = data
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[monitor],
        **kwargs,
    )


@pytest.mark.slow
def test_deep_sigmoid_mlp_is_flagged_vanishing_at_the_input_side(digits, make_mlp):
    # Glorot & Bengio (2010): 10 sigmoid layers, Keras's default Glorot init.
    model = make_mlp("sigmoid", "glorot_uniform")
    monitor = GradientNormMonitor(on_detect="log")
    _fit(model, digits, monitor, epochs=3)
    vanishing = [e for e in monitor.events if e["kind"] == "vanishing"]
    assert vanishing and all(e["epoch"] <= 2 for e in vanishing)
    flagged = [e["layer"] for e in vanishing]
    hidden = monitor.layer_names[:-1]
    # The flagged layers are the ones nearest the input, first layer included.
    assert flagged == hidden[: len(flagged)]
    assert len(flagged) >= 3
    assert flagged[0] in monitor.summary
    assert "ReLU or LeakyReLU" in monitor.summary


@pytest.mark.slow
def test_same_depth_relu_he_mlp_is_not_flagged(digits, make_mlp):
    model = make_mlp("relu", "he_normal")
    monitor = GradientNormMonitor(on_detect="raise")
    history = _fit(model, digits, monitor, epochs=3)
    assert monitor.events == []
    assert monitor.summary == ""
    assert monitor.mode_in_use == "in_step"
    names = monitor.layer_names
    assert len(names) == 11
    for key in (
        "grad_norm/global",
        "grad_norm_max/global",
        "grad_non_finite/global",
        f"grad_norm/{names[0]}",
        f"weight_norm/{names[0]}",
        f"update_ratio/{names[0]}",
    ):
        assert len(history.history[key]) == 3
        assert monitor.history[key] == history.history[key]
    ratios = history.history[f"update_ratio/{names[0]}"]
    assert all(1e-5 < r < 1e-1 for r in ratios)


def _exploding_model(clipnorm=None):
    # Weights ~1.7x He scale in 6 ReLU layers: activations and gradients
    # grow ~3x per layer, and SGD then runs away within the first epoch.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,))]
        + [
            keras.layers.Dense(
                64,
                activation="relu",
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.3),
            )
            for _ in range(6)
        ]
        + [keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(1e-3, clipnorm=clipnorm), "mse")
    return model


class _BatchLossRecorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


@pytest.mark.slow
def test_exploding_network_is_flagged_before_its_loss_turns_nan(regression):
    monitor = GradientNormMonitor(log_every=1, on_detect="log")
    recorder = _BatchLossRecorder()
    x, y = regression
    _exploding_model().fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[monitor, recorder])
    first_nan = next(i for i, loss in enumerate(recorder.losses) if not np.isfinite(loss))
    exploding = [e for e in monitor.events if e["kind"] == "exploding"]
    assert exploding, monitor.events
    first = exploding[0]
    assert first["epoch"] == 0 and first["step"] < first_nan
    assert any(e["kind"] == "non_finite" for e in monitor.events)


def test_exploding_network_stops_before_nan_with_on_detect_stop(regression):
    monitor = GradientNormMonitor(log_every=1, on_detect="stop")
    x, y = regression
    with pytest.warns(RuntimeWarning, match="gradient norm reached .* the run.s early global norm"):
        history = _exploding_model().fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[monitor])
    assert np.all(np.isfinite(history.history["loss"]))
    assert "clipnorm" in monitor.summary


@pytest.mark.slow
def test_same_exploding_network_trains_without_nan_under_clipnorm(regression):
    monitor = GradientNormMonitor(on_detect="log")
    history = _fit(_exploding_model(clipnorm=1.0), regression, monitor)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not any(e["kind"] == "non_finite" for e in monitor.events)
    # Norms are measured before clipping, so the explosion stays visible.
    assert max(history.history["grad_norm_max/global"]) > 1.0


@pytest.mark.slow
def test_on_detect_raise_raises_and_unwraps_the_optimizer(digits, make_mlp):
    model = make_mlp("relu", "he_normal", depth=2)
    # A ratio of 1 flags every layer but the largest: a cheap way to raise.
    monitor = GradientNormMonitor(on_detect="raise", vanishing_ratio=1.0, patience=1)
    with pytest.raises(RuntimeError, match="on_detect='raise'.*gradient norm"):
        _fit(model, digits, monitor, epochs=2)
    assert "apply" not in vars(model.optimizer)
    assert "- vanishing:" in monitor.summary
    # The same monitor and model train again afterwards.
    monitor.on_detect = "log"
    history = _fit(model, digits, monitor, epochs=1)
    assert np.isfinite(history.history["grad_norm/global"][0])


def test_a_second_fit_reuses_the_wrapped_train_function_and_leaves_the_model_as_it_was(
    digits, make_mlp, tmp_path
):
    model = make_mlp("relu", "he_normal", depth=2)
    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: seen.append(model.train_function)
    )
    x, y = digits
    optimizer_variables = None
    for monitor in (GradientNormMonitor(), GradientNormMonitor(), None):
        callbacks = [spy] if monitor is None else [monitor, spy]
        model.fit(x[:256], y[:256], epochs=1, batch_size=64, verbose=0, callbacks=callbacks)
        plain = model.train_function
        if optimizer_variables is None:
            optimizer_variables = len(model.optimizer.variables)
        assert "apply" not in vars(model.optimizer)
        assert len(model.optimizer.variables) == optimizer_variables
    # Both monitored fits ran the same wrapped function (not traced again); the plain fit its own.
    monitored = {id(function) for function in seen[:8]}
    assert len(monitored) == 1 and seen[-1] is plain and seen[0] is not plain
    path = tmp_path / "model.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.models.load_model(path)
    assert len(loaded.optimizer.variables) == optimizer_variables


def test_a_fit_interrupted_by_another_callback_leaves_nothing_behind_after_the_next_fit(digits, make_mlp):
    model = make_mlp("relu", "he_normal", depth=2)
    x, y = digits

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyError("interrupted")

    monitor = GradientNormMonitor()
    with pytest.raises(KeyError, match="interrupted"):
        model.fit(x[:256], y[:256], epochs=2, verbose=0, callbacks=[monitor, Interrupt()])
    history = model.fit(x[:256], y[:256], epochs=2, verbose=0, callbacks=[GradientNormMonitor()])
    assert len(history.history["grad_norm/global"]) == 2
    assert "apply" not in vars(model.optimizer)
    plain = model.train_function
    model.fit(x[:256], y[:256], epochs=1, verbose=0)
    assert model.train_function is plain


def test_a_checkpoint_saved_during_a_monitored_fit_loads_with_the_optimizer_state(digits, make_mlp, tmp_path):
    model = make_mlp("relu", "he_normal", depth=2)
    x, y = digits
    path = tmp_path / "checkpoint.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(path))
    model.fit(x[:256], y[:256], epochs=2, verbose=0, callbacks=[GradientNormMonitor(), checkpoint])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns, and skips the state, when optimizer variables differ
        loaded = keras.models.load_model(path)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for restored, saved in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_allclose(restored.numpy(), saved.numpy())


def test_a_checkpoint_saved_mid_epoch_during_a_monitored_fit_loads_with_the_optimizer_state(
    digits, make_mlp, tmp_path
):
    # On JAX the monitor's statistics travel among the optimizer's variables
    # during an epoch; a checkpoint saved then must not hold them.
    model = make_mlp("relu", "he_normal", depth=2)
    x, y = digits
    path = tmp_path / "checkpoint.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(str(path), save_freq=5)
    model.fit(
        x[:320], y[:320], batch_size=32, epochs=1, verbose=0, callbacks=[GradientNormMonitor(), checkpoint]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns, and skips the state, when optimizer variables differ
        loaded = keras.models.load_model(path)
    assert int(loaded.optimizer.iterations.numpy()) == 10  # the last save, mid-epoch, after step 10
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    assert "save_own_variables" not in vars(model.optimizer)


@pytest.mark.slow
def test_second_fit_on_the_same_model_and_monitor_works(digits, make_mlp):
    model = make_mlp("relu", "he_normal", depth=2)
    monitor = GradientNormMonitor()
    first = _fit(model, digits, monitor, epochs=1)
    second = _fit(model, digits, monitor, epochs=2)
    assert len(monitor.history["grad_norm/global"]) == 2
    assert "apply" not in vars(model.optimizer)
    assert np.isfinite(first.history["grad_norm/global"][0])
    assert np.all(np.isfinite(second.history["grad_norm/global"]))


if keras.backend.backend() != "torch":  # torch's trainer runs one step per call

    @pytest.mark.slow
    def test_steps_per_execution_gives_the_same_epoch_norms(digits):
        x, y = digits
        results = []
        for steps in (1, 8):
            keras.utils.set_random_seed(1)
            model = keras.Sequential(
                [
                    keras.Input((64,)),
                    keras.layers.Dense(32, activation="relu"),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(
                keras.optimizers.SGD(0.05),
                "sparse_categorical_crossentropy",
                steps_per_execution=steps,
            )
            history = model.fit(
                x[:1024],
                y[:1024],
                epochs=2,
                batch_size=32,
                shuffle=False,
                verbose=0,
                callbacks=[GradientNormMonitor()],
            )
            results.append(history.history)
        for key in ("grad_norm/global", "grad_norm_max/global"):
            np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-4)


def _functional_model():
    keras.utils.set_random_seed(0)
    left, right = keras.Input((64,), name="left"), keras.Input((64,), name="right")
    shared = keras.layers.Dense(16, activation="relu", name="shared")
    encoder = keras.Sequential([keras.layers.Dense(16, activation="relu", name="inner")], name="encoder")
    frozen = keras.layers.Dense(16, name="frozen")
    frozen.trainable = False
    merged = keras.layers.Concatenate()([shared(left), shared(right)])
    hidden = keras.layers.BatchNormalization(name="norm")(encoder(merged))
    hidden = frozen(keras.layers.Dropout(0.1)(hidden))
    output = keras.layers.Dense(10, activation="softmax", name="head")(hidden)
    model = keras.Model([left, right], output)
    model.compile(
        keras.optimizers.Adam(1e-3, global_clipnorm=1.0),
        "sparse_categorical_crossentropy",
    )
    return model


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.hidden = keras.layers.Dense(16, activation="relu", name="hidden")
        self.head = keras.layers.Dense(10, activation="softmax", name="head")

    def call(self, inputs):
        return self.head(self.hidden(inputs))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["in_step", "probe"])
def test_functional_model_with_shared_nested_frozen_and_batchnorm(digits, mode):
    x, y = digits
    model = _functional_model()
    monitor = GradientNormMonitor(
        mode=mode, probe_data=([x[:64], x[:64]], y[:64]), probe_every=10, on_detect="raise"
    )
    history = model.fit([x, x], y, epochs=1, batch_size=64, verbose=0, callbacks=[monitor])
    assert monitor.mode_in_use == mode
    assert monitor.layer_names == ["shared", "encoder/inner", "norm", "head"]
    for name in monitor.layer_names:
        assert history.history[f"grad_norm/{name}"][0] > 0
    assert not any("frozen" in key for key in history.history)


@pytest.mark.parametrize("mode", ["in_step", "probe"])
def test_subclassed_model(digits, mode):
    x, y = digits
    model = _Subclassed()
    model.compile("adam", "sparse_categorical_crossentropy")
    monitor = GradientNormMonitor(mode=mode, probe_data=(x[:64], y[:64]), probe_every=5)
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[monitor])
    assert monitor.layer_names == ["hidden", "head"]
    assert history.history["grad_norm/head"][0] > 0
    assert history.history["update_ratio/hidden"][0] > 0


def test_probe_mode_matches_in_step_norm_scale_on_the_same_batches(digits):
    x, y = digits
    norms = {}
    for mode in ("in_step", "probe"):
        keras.utils.set_random_seed(0)
        model = _Subclassed()
        model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
        # Learning rate 0 and one full batch: both modes see the same gradient.
        history = model.fit(
            x[:256],
            y[:256],
            epochs=1,
            batch_size=256,
            verbose=0,
            callbacks=[GradientNormMonitor(mode=mode, probe_data=(x[:256], y[:256]))],
        )
        norms[mode] = history.history["grad_norm/global"][0]
    np.testing.assert_allclose(norms["in_step"], norms["probe"], rtol=1e-3)


def test_log_every_puts_running_values_in_batch_logs(digits, make_mlp):
    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append("grad_norm/global" in logs)
    )
    model = make_mlp("relu", "he_normal", depth=2)
    x, y = digits
    model.fit(
        x[:320],
        y[:320],
        epochs=1,
        batch_size=32,
        verbose=0,
        callbacks=[GradientNormMonitor(log_every=5), spy],
    )
    assert seen == [False, False, False, False, True] * 2


def test_csv_logger_records_the_norms(digits, make_mlp, tmp_path):
    path = tmp_path / "log.csv"
    model = make_mlp("relu", "he_normal", depth=2)
    monitor = GradientNormMonitor()
    model.fit(
        *digits,
        epochs=2,
        batch_size=64,
        verbose=0,
        callbacks=[monitor, keras.callbacks.CSVLogger(str(path))],
    )
    header = path.read_text().splitlines()[0].split(",")
    assert "grad_norm/global" in header
    assert f"weight_norm/{monitor.layer_names[0]}" in header


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mode": "fast"}, ValueError, r"`mode` must be one of 'auto', 'in_step', 'probe'"),
        ({"mode": "probe"}, ValueError, r"`probe_data` is required with mode='probe'"),
        ({"probe_data": [1, 2, 3, 4]}, ValueError, r"`probe_data` must be a tuple"),
        ({"patience": 0}, ValueError, r"Argument `patience` must be >= 1. Received: patience=0"),
        ({"growth_factor": 1.0}, ValueError, r"`growth_factor` must be > 1"),
        ({"on_detect": "email"}, ValueError, r"`on_detect` must be one of 'warn', 'stop'"),
        ({"log_every": "10"}, TypeError, r"`log_every` must be an integer"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        GradientNormMonitor(**kwargs)


def test_config_round_trip():
    monitor = GradientNormMonitor(log_every=10, patience=3, on_detect="stop")
    config = monitor.get_config()
    assert GradientNormMonitor.from_config(config).get_config() == config


def _stats(mean, peak=None, non_finite=None):
    mean = np.array(mean, dtype=float)
    return {
        "mean": mean,
        "max": mean if peak is None else np.array(peak, dtype=float),
        "non_finite": np.zeros(len(mean), int) if non_finite is None else np.array(non_finite),
        "steps": 10,
    }


def test_rules_fire_growth_non_finite_and_vanishing_once_per_layer():
    from kerasforge.callbacks._gradient_rules import GradientRules

    rules = GradientRules(["a", "b"], 1e-7, 1e-3, 1e6, None, 10.0, patience=2)
    present = np.array([True, True, True])
    assert rules.check_epoch(_stats([1e-4, 1.0, 1.0]), present, 0) == []
    events = rules.check_epoch(_stats([1e-4, 20.0, 20.0]), present, 1)
    assert [(e["kind"], e["layer"]) for e in events] == [
        ("exploding", "b"),
        ("exploding", "global"),
        ("vanishing", "a"),
    ]
    events = rules.check_epoch(_stats([1e-4, 30.0, 30.0], non_finite=[0, 2, 2]), present, 2)
    assert [(e["kind"], e["layer"], e["value"]) for e in events] == [("non_finite", "b", 2.0)]


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e-3])
def test_exploding_rule_is_scale_free(scale):
    from kerasforge.callbacks._gradient_rules import GradientRules

    present = np.array([True, True, True])
    events = []
    rules = GradientRules(["a", "b"], 0.0, 0.0, 100.0, None, 1e9, patience=2)
    for epoch, peak in enumerate([3.0, 50.0, 400.0]):
        mean = np.array([1.0, 2.0, 2.2]) * scale
        events += rules.check_epoch(_stats(mean, peak=np.array([peak, peak, peak]) * scale), present, epoch)
    assert rules.reference == pytest.approx(2.2 * scale)
    assert [(e["kind"], e["layer"], e["epoch"]) for e in events] == [
        ("exploding", "a", 2),
        ("exploding", "b", 2),
        ("exploding", "global", 2),
    ]


def test_every_backend_gives_the_same_keys_and_the_analytic_gradients_norms():
    # One full batch through tanh(x W1 + b1) W2 + b2 with mean squared error: the gradient worked out
    # by hand in float64 is the same for every backend, so each backend matching it to 1e-5 means they
    # match each other.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4))
    y = rng.normal(size=(16, 1))
    w1, b1, w2, b2 = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 1)), rng.normal(size=1)
    hidden = np.tanh(x @ w1 + b1)
    error = 2 * (hidden @ w2 + b2 - y) / len(x)
    back = (error @ w2.T) * (1 - hidden**2)
    grads = {"hidden": [x.T @ back, back.sum(0)], "head": [hidden.T @ error, error.sum(0)]}
    expected = {name: np.sqrt(sum(np.sum(g**2) for g in parts)) for name, parts in grads.items()}
    expected["global"] = np.sqrt(expected["hidden"] ** 2 + expected["head"] ** 2)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.set_weights([w.astype("float32") for w in (w1, b1, w2, b2)])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    history = model.fit(
        x.astype("float32"), y.astype("float32"), batch_size=16, verbose=0, callbacks=[GradientNormMonitor()]
    )
    keys = sorted(key for key in history.history if key.startswith("grad_norm/"))
    assert keys == ["grad_norm/global", "grad_norm/head", "grad_norm/hidden"]
    for name, value in expected.items():
        assert history.history[f"grad_norm/{name}"][0] == pytest.approx(value, rel=1e-5), name


if keras.backend.backend() == "tensorflow":

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_an_embedding_gradient_norm_never_builds_the_vocabulary_sized_gradient(jit_compile):
        import tensorflow as tf

        from kerasforge.callbacks import _tensorflow_gradients

        # A dense gradient of a 10**9-row table would need 16 GB: the norm is
        # taken over the batch's unique ids, with repeated ids' rows added up.
        ids = np.array([7, 3, 7, 999_999_999, 3, 7])
        rows = np.random.default_rng(0).normal(size=(len(ids), 4)).astype("float32")
        slices = tf.IndexedSlices(tf.constant(rows), tf.constant(ids), tf.constant([10**9, 4]))
        compiled = tf.function(_tensorflow_gradients.column_squares, jit_compile=jit_compile)
        squares = compiled([slices], [0], 2).numpy()
        expected = sum(np.sum(rows[ids == i].sum(axis=0) ** 2) for i in np.unique(ids))
        np.testing.assert_allclose(squares, [expected, expected], rtol=1e-6)


if keras.backend.backend() == "torch":

    def test_torch_norms_fall_back_to_public_ones_when_the_fused_private_one_is_missing_or_wrong():
        import torch

        from kerasforge.callbacks import _torch_gradients

        def raises(tensors):
            raise RuntimeError("gone")

        public = _torch_gradients.public_norms
        assert _torch_gradients.choose_norms(None) is public
        assert _torch_gradients.choose_norms(raises) is public
        assert _torch_gradients.choose_norms(lambda tensors: [t.sum() for t in tensors]) is public
        fused = getattr(torch, "_foreach_norm", None)
        assert _torch_gradients.choose_norms(fused) is (public if fused is None else fused)
        tensors = [torch.randn(33, 7), torch.randn(5), torch.randn(2, 3, 4)]
        np.testing.assert_allclose(
            torch.stack(public(tensors)).numpy(),
            torch.stack(_torch_gradients.norms(tensors)).numpy(),
            rtol=1e-6,
        )

    @pytest.mark.parametrize("norms", ["chosen", "public"])
    def test_torch_buffered_steps_give_the_same_norms_whenever_they_are_folded(digits, monkeypatch, norms):
        from kerasforge.callbacks import _torch_gradients

        if norms == "public":
            monkeypatch.setattr(_torch_gradients, "norms", _torch_gradients.public_norms)
        x, y = digits
        histories = []
        for rows in (_torch_gradients.FLUSH_ROWS, 3):  # 10 steps an epoch: folded once, or every 3 steps
            monkeypatch.setattr(_torch_gradients, "FLUSH_ROWS", rows)
            keras.utils.set_random_seed(3)
            model = keras.Sequential(
                [
                    keras.Input((64,)),
                    keras.layers.Dense(16, activation="relu", name="hidden"),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
            monitor = GradientNormMonitor()
            _fit(model, (x[:320], y[:320]), monitor, epochs=2)
            histories.append(monitor.history)
        for key in ("grad_norm/global", "grad_norm_max/global", "grad_norm/hidden"):
            np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-6)
        assert histories[0]["grad_non_finite/global"] == [0.0, 0.0]
