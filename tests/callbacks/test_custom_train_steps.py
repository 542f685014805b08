"""GradientNormMonitor with train_steps written by hand, on each backend.

A subclassed `train_step` that applies its gradients with `self.optimizer`;
a GAN-style step with two optimizers of its own; and a step that updates the
weights without any optimizer, where the monitor must say so instead of
logging nothing. Each step is written the way that backend's Keras guide
writes one (`tf.GradientTape`, `jax.value_and_grad` with `stateless_apply`,
`torch.autograd`). Norms are compared to the backend's own autodiff, as in
`test_gradient_norms_match_autodiff.py`.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kerasforge.callbacks import GradientNormMonitor

BACKEND = keras.backend.backend()
ROWS, BATCH = 64, 16


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    return x, (x @ rng.normal(size=(6, 1))).astype("float32")


def _gradients(layer, loss_fn):
    """Loss, gradients and variables inside a TensorFlow or torch train step.

    The variables are read after the forward pass: on TensorFlow a subclassed
    model is built by its first call, inside the first traced step.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        variables = layer.trainable_variables
        return loss, tape.gradient(loss, [v.value for v in variables]), variables
    import torch

    loss = loss_fn()
    variables = layer.trainable_variables
    return loss, list(torch.autograd.grad(loss, [v.value for v in variables])), variables


def _apply(optimizer, grads, variables):
    if BACKEND == "torch":
        import torch

        with torch.no_grad():
            optimizer.apply(grads, variables)
    else:
        optimizer.apply_gradients(zip(grads, variables, strict=True))


class CustomStep(keras.Model):
    """`train_step` applies the gradient of its own loss; `bypass=True` skips the optimizer."""

    def __init__(self, bypass=False):
        super().__init__(name="custom")
        self.bypass = bypass
        self.hidden = keras.layers.Dense(8, activation="relu", name="hidden")
        self.head = keras.layers.Dense(1, name="head")

    def call(self, inputs):
        return self.head(self.hidden(inputs))

    def custom_loss(self, x, y):
        return ops.mean(ops.square(self(x) - y)) + 0.1 * ops.mean(ops.abs(self.hidden.kernel))

    if BACKEND == "jax":

        def train_step(self, state, data):
            import jax

            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data

            def loss_fn(values):
                mapping = list(zip(self.trainable_variables, values, strict=True))
                mapping += list(zip(self.non_trainable_variables, non_trainable, strict=True))
                with keras.StatelessScope(state_mapping=mapping):
                    return self.custom_loss(x, y)

            loss, grads = jax.value_and_grad(loss_fn)(trainable)
            if self.bypass:
                trainable = [value - 0.01 * grad for value, grad in zip(trainable, grads, strict=True)]
            else:
                trainable, optimizer_variables = self.optimizer.stateless_apply(
                    optimizer_variables, grads, trainable
                )
            return {"loss": loss}, (trainable, non_trainable, optimizer_variables, metrics_variables)

    else:

        def train_step(self, data):
            x, y = data
            loss, grads, variables = _gradients(self, lambda: self.custom_loss(x, y))
            if self.bypass:
                for variable, grad in zip(variables, grads, strict=True):
                    variable.assign(variable - 0.01 * grad)
            else:
                _apply(self.optimizer, grads, variables)
            return {"loss": loss}


def _fit(model, monitor, epochs=1):
    x, y = _data()
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[monitor])


def _expected(autodiff, model, variables, loss_fn, layers):
    """Root mean square over the batches of `loss_fn(x, y)`'s per-layer norms."""
    x, y = _data()
    total = {}
    for start in range(0, ROWS, BATCH):
        xb, yb = (ops.convert_to_tensor(part[start : start + BATCH]) for part in (x, y))
        grads = autodiff.gradients(model, variables, lambda xb=xb, yb=yb: loss_fn(xb, yb))
        for key, norm in autodiff.layer_norms(grads, variables, layers).items():
            total[key] = total.get(key, 0.0) + norm**2 / (ROWS // BATCH)
    return {key: float(np.sqrt(value)) for key, value in total.items()}


def test_subclassed_train_step_using_self_optimizer_matches_autodiff(autodiff):
    keras.utils.set_random_seed(0)
    model = CustomStep()
    model.compile(keras.optimizers.SGD(0.0))
    monitor = GradientNormMonitor(on_detect="log")
    history = _fit(model, monitor)
    layers = {"hidden": model.hidden, "head": model.head}
    expected = _expected(autodiff, model, model.trainable_variables, model.custom_loss, layers)
    assert monitor.mode_in_use == "in_step"
    assert monitor.layer_names == ["hidden", "head"]
    for key, value in expected.items():
        assert history.history[f"grad_norm/{key}"][0] == pytest.approx(value, rel=1e-4), key


@pytest.mark.parametrize("probe", [False, True])
def test_a_step_that_bypasses_every_optimizer_is_reported_not_hidden(probe):
    keras.utils.set_random_seed(0)
    model = CustomStep(bypass=True)
    # Probe mode computes the compiled loss, which the step itself does not use.
    model.compile(keras.optimizers.SGD(0.0), loss="mse")
    x, y = _data()
    monitor = GradientNormMonitor(probe_data=(x[:BATCH], y[:BATCH]) if probe else None)
    with pytest.warns(RuntimeWarning, match="saw no gradient reach an optimizer's apply.. in epoch 1"):
        history = _fit(model, monitor, epochs=2)
    if probe:
        assert monitor.mode_in_use == "probe"
        assert len(history.history["grad_norm/hidden"]) == 2
        assert all(value > 0 for value in history.history["grad_norm/global"])
    else:
        assert monitor.mode_in_use == "none"
        assert not any(key.startswith("grad_norm") for key in history.history)
    assert "apply" not in vars(model.optimizer)


class TwoOptimizers(keras.Model):
    """The Keras GAN example's pattern: a train_step with two optimizers of its own."""

    def __init__(self):
        super().__init__(name="gan")
        self.generator = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, activation="relu", name="g_hidden"),
                keras.layers.Dense(6, name="g_out"),
            ],
            name="generator",
        )
        self.discriminator = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, activation="relu", name="d_hidden"),
                keras.layers.Dense(1, name="d_out"),
            ],
            name="discriminator",
        )

    def call(self, inputs):
        return self.discriminator(inputs)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def d_loss(self, real, _):
        fake = self.generator(real[:, :4])
        return ops.mean(ops.softplus(-self.discriminator(real))) + ops.mean(
            ops.softplus(self.discriminator(fake))
        )

    def g_loss(self, real, _):
        return ops.mean(ops.softplus(-self.discriminator(self.generator(real[:, :4]))))

    def train_step(self, data):
        real, _ = data
        d_loss, d_grads, d_variables = _gradients(self.discriminator, lambda: self.d_loss(real, None))
        _apply(self.d_optimizer, d_grads, d_variables)
        g_loss, g_grads, g_variables = _gradients(self.generator, lambda: self.g_loss(real, None))
        _apply(self.g_optimizer, g_grads, g_variables)
        return {"d_loss": d_loss, "g_loss": g_loss}


# On JAX, Keras's trainer threads only `model.optimizer.variables` through the
# compiled step: a step cannot update a second optimizer's state, so the
# pattern needs a trainer of its own there and is not collected.
if BACKEND != "jax":

    def test_gan_style_step_with_two_optimizers_monitors_both(autodiff):
        keras.utils.set_random_seed(0)
        model = TwoOptimizers()
        model.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0))
        monitor = GradientNormMonitor(on_detect="log")
        history = _fit(model, monitor)
        generator = {f"generator/{layer.name}": layer for layer in model.generator.layers}
        discriminator = {f"discriminator/{layer.name}": layer for layer in model.discriminator.layers}
        d = _expected(autodiff, model, model.discriminator.trainable_variables, model.d_loss, discriminator)
        g = _expected(autodiff, model, model.generator.trainable_variables, model.g_loss, generator)
        assert monitor.mode_in_use == "in_step"
        assert sorted(monitor.layer_names) == sorted([*generator, *discriminator])
        for key in [*generator, *discriminator]:
            expected = g[key] if key in g else d[key]
            assert history.history[f"grad_norm/{key}"][0] == pytest.approx(expected, rel=1e-4), key
        # One train step applies both: the global norm covers the two gradients.
        total = np.sqrt(d["global"] ** 2 + g["global"] ** 2)
        assert history.history["grad_norm/global"][0] == pytest.approx(total, rel=1e-4)
