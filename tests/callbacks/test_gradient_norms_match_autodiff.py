"""GradientNormMonitor's per-layer norms against the backend's own autodiff, model by model.

Each scenario trains one epoch with a learning rate of 0 (the weights stay
put, so every step's gradient can be recomputed afterwards), then recomputes
each batch's gradient with `tf.GradientTape`, `jax.grad` or
`torch.autograd` from the same starting state (dropout seeds included) and
compares the root mean square over the batches, layer by layer, to a relative
error of 1e-4. The same file runs under KERAS_BACKEND=tensorflow, jax and
torch; a scenario a backend cannot run is left out of the parametrization.
"""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import GradientNormMonitor

BACKEND = keras.backend.backend()
ROWS, BATCH = 96, 32
RELATIVE_ERROR = 1e-4


def _regression(features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, features)).astype("float32")
    y = (x @ rng.normal(size=(features, 1)) + 0.1 * rng.normal(size=(ROWS, 1))).astype("float32")
    return x, y


def _sequential():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    x, y = _regression()
    return model, "mse", (x, y), {}


def _functional_shared():
    left, right = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    shared = keras.layers.Dense(8, activation="tanh", name="shared")
    merged = keras.layers.Concatenate()([shared(left), shared(right)])
    output = keras.layers.Dense(1, name="head")(keras.layers.Dense(8, activation="relu", name="mix")(merged))
    x, y = _regression(12)
    return keras.Model([left, right], output), "mse", ([x[:, :6], x[:, 6:]], y), {}


def _nested_clashing_names():
    def block(name, width):
        inputs = keras.Input((width,))
        hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
        return keras.Model(inputs, keras.layers.Dense(width, name="out")(hidden), name=name)

    inputs = keras.Input((6,))
    output = keras.layers.Dense(1, name="head")(block("decoder", 6)(block("encoder", 6)(inputs)))
    x, y = _regression()
    # Keras 3.15's torch backend registers one of two same-named nested layers as a torch module, so
    # `zero_grad()` misses the other's weights and their gradients add up from step to step; the
    # optimizer then applies the sum, which the monitor reports. One step keeps the comparison to
    # the loss's own gradient on every backend.
    return keras.Model(inputs, output), "mse", (x, y), {"batch_size": ROWS}


def _embedding(mask_zero):
    def build():
        rng = np.random.default_rng(1)
        # 12 ids over 96 rows of 10 tokens: every id repeats, and 0 pads the rows.
        ids = rng.integers(1, 12, size=(ROWS, 10))
        ids[:, 7:] = 0
        y = (ids.sum(axis=1, keepdims=True) / 50.0).astype("float32")
        model = keras.Sequential(
            [
                keras.Input((10,), dtype="int32"),
                keras.layers.Embedding(12, 4, mask_zero=mask_zero, name="embedding"),
                keras.layers.GlobalAveragePooling1D(name="pool"),
                keras.layers.Dense(1, name="head"),
            ]
        )
        return model, "mse", (ids.astype("int32"), y), {}

    return build


def _lstm():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(ROWS, 5, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(6, name="lstm"), keras.layers.Dense(1, name="head")]
    )
    return model, "mse", (x, y), {}


def _conv_batchnorm_dropout():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(ROWS, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, size=ROWS).astype("int32")
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, name="conv"),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.Activation("relu"),
            # Seeded: unseeded dropout on torch draws from torch's global generator.
            keras.layers.Dropout(0.3, seed=7, name="dropout"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", name="head"),
        ]
    )
    return model, "sparse_categorical_crossentropy", (x, y), {}


def _frozen():
    model, loss, data, fit = _sequential()
    frozen = keras.layers.Dense(16, name="frozen")
    model = keras.Sequential([keras.Input((6,)), model.get_layer("hidden"), frozen, model.get_layer("head")])
    frozen.trainable = False
    return model, loss, data, fit


def _weighted(kind):
    def build():
        rng = np.random.default_rng(4)
        x = rng.normal(size=(ROWS, 6)).astype("float32")
        y = (x[:, 0] > 0.3).astype("int32")
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation="relu", name="hidden"),
                keras.layers.Dense(2, activation="softmax", name="head"),
            ]
        )
        if kind == "sample":
            return model, "sparse_categorical_crossentropy", (x, y, rng.uniform(0.1, 3.0, ROWS)), {}
        return model, "sparse_categorical_crossentropy", (x, y), {"class_weight": {0: 0.3, 1: 4.0}}

    return build


SCENARIOS = {
    "sequential": _sequential,
    "functional_multi_input_shared_layer": _functional_shared,
    "nested_submodels_with_clashing_names": _nested_clashing_names,
    "embedding_repeated_ids": _embedding(False),
    "embedding_repeated_ids_mask_zero": _embedding(True),
    "lstm": _lstm,
    "conv_batchnorm_dropout": _conv_batchnorm_dropout,
    "frozen_layer": _frozen,
    "sample_weights": _weighted("sample"),
    "class_weights": _weighted("class"),
}
EXPECTED_LAYERS = {
    "sequential": ["hidden", "head"],
    "functional_multi_input_shared_layer": ["shared", "mix", "head"],
    "nested_submodels_with_clashing_names": [
        "encoder/hidden",
        "encoder/out",
        "decoder/hidden",
        "decoder/out",
        "head",
    ],
    "embedding_repeated_ids": ["embedding", "head"],
    "embedding_repeated_ids_mask_zero": ["embedding", "head"],
    "lstm": ["lstm", "head"],
    "conv_batchnorm_dropout": ["conv", "norm", "head"],
    "frozen_layer": ["hidden", "head"],
    "sample_weights": ["hidden", "head"],
    "class_weights": ["hidden", "head"],
}
# Probe mode runs the model with training=False, where BatchNormalization
# reads statistics the training steps moved: compared in-step only.
PROBE_SCENARIOS = [name for name in SCENARIOS if name != "conv_batchnorm_dropout"]


def _layer(model, path):
    for name in path.split("/"):
        model = model.get_layer(name)
    return model


def _batches(data, fit_kwargs):
    x, y = data[0], data[1]
    size = fit_kwargs.get("batch_size", BATCH)
    weights = data[2] if len(data) > 2 else None
    if "class_weight" in fit_kwargs:
        weights = np.vectorize(fit_kwargs["class_weight"].get)(y).astype("float32")

    def take(value, start):
        if value is None:
            return None
        if isinstance(value, list):
            return [part[start : start + size] for part in value]
        return value[start : start + size]

    return [(take(x, s), take(y, s), take(weights, s)) for s in range(0, ROWS, size)]


def _run(scenario, mode, autodiff, steps_per_execution=1, jit_compile="auto", policy=None, batch_size=None):
    keras.utils.set_random_seed(0)
    model, loss, data, fit_kwargs = SCENARIOS[scenario]()
    if batch_size is not None:
        fit_kwargs = {**fit_kwargs, "batch_size": batch_size}
    optimizer = keras.optimizers.SGD(0.0)
    if policy == "mixed_float16":
        # Keras's default first scale (2**15) overflows float16 on these losses, and the loss-scale
        # optimizer then skips those steps: a smaller scale keeps every step.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2.0**7)
    model.compile(optimizer, loss, steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    before = [v.numpy() for v in model.non_trainable_variables]
    batches = _batches(data, fit_kwargs)
    probe = batches[0]
    monitor = GradientNormMonitor(mode=mode, probe_data=probe, probe_every=1000, on_detect="log")
    x, y = data[0], data[1]
    sample_weight = data[2] if len(data) > 2 else None
    fit_kwargs = {"batch_size": BATCH, **fit_kwargs}
    history = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[monitor],
        **fit_kwargs,
    )
    for variable, value in zip(model.non_trainable_variables, before, strict=True):
        variable.assign(value)
    layers = {path: _layer(model, path) for path in EXPECTED_LAYERS[scenario]}
    scale = float(model.optimizer.dynamic_scale.numpy()) if policy == "mixed_float16" else 1.0
    in_step = mode == "in_step"
    expected = autodiff.fit_loss_norms(
        model, batches if in_step else [probe], layers, training=in_step, scale=scale
    )
    assert monitor.mode_in_use == mode
    assert monitor.layer_names == EXPECTED_LAYERS[scenario]
    measured = {key: history.history[f"grad_norm/{key}"][0] for key in expected}
    for key, value in expected.items():
        assert value > 0, key
        assert measured[key] == pytest.approx(value, rel=RELATIVE_ERROR), (key, measured, expected)
    return history


# Over ~5 s on some backend (JAX compiles LSTMs and convolutions slowly on CPU).
SLOW = {"lstm", "conv_batchnorm_dropout"}


def _marked(names):
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in names]


@pytest.mark.parametrize("scenario", _marked(SCENARIOS))
def test_in_step_norms_match_autodiff(scenario, autodiff):
    _run(scenario, "in_step", autodiff)


@pytest.mark.parametrize("scenario", _marked(PROBE_SCENARIOS))
def test_probe_norms_match_autodiff(scenario, autodiff):
    _run(scenario, "probe", autodiff)


if BACKEND != "torch":  # torch's trainer runs one step per call (`steps_per_execution` must be 1)

    @pytest.mark.slow
    def test_steps_per_execution_16_with_jit_match_autodiff(autodiff):
        # 24 steps of 4 rows: one execution of 16 steps, then one of 8.
        history = _run(
            "sequential", "in_step", autodiff, steps_per_execution=16, jit_compile=True, batch_size=4
        )
        assert history.history["grad_non_finite/global"] == [0.0]


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["sequential", "lstm"])
def test_mixed_float16_norms_match_autodiff(scenario, autodiff):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        _run(scenario, "in_step", autodiff, policy="mixed_float16")
    finally:
        keras.config.set_dtype_policy("float32")
