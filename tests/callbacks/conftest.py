"""Small real datasets and models shared by the callback tests."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


@pytest.fixture(scope="session")
def regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1))).astype("float32")
    return x, y


@pytest.fixture(scope="session")
def make_mlp():
    """Factory for `_deep_mlp`, so tests build fresh, seeded models."""
    return _deep_mlp


def _deep_mlp(
    activation,
    initializer,
    depth=10,
    width=64,
    optimizer=None,
    bias_initializer="zeros",
    inputs=64,
    outputs=10,
):
    """A digits classifier: `depth` hidden Dense layers, softmax output."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((inputs,))]
        + [
            keras.layers.Dense(
                width,
                activation=activation,
                kernel_initializer=initializer,
                bias_initializer=bias_initializer,
            )
            for _ in range(depth)
        ]
        + [keras.layers.Dense(outputs, activation="softmax")]
    )
    model.compile(
        optimizer or keras.optimizers.Adam(1e-3),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


BACKEND = keras.backend.backend()


@pytest.fixture(scope="session")
def autodiff():
    """The backend's own autodiff, independent of kerasforge: see `_AutodiffReference`."""
    return _AutodiffReference()


class _AutodiffReference:
    """Per-layer gradient norms computed with `tf.GradientTape`, `jax.grad` or `torch.autograd`."""

    def gradients(self, model, variables, loss_fn):
        """Gradients of `loss_fn()` w.r.t. `variables`, as numpy; the model's
        non-trainable state (dropout seeds, BatchNormalization statistics)
        advances as in a train step."""
        values = [v.value for v in variables]
        if BACKEND == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss = loss_fn()
            return [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(loss, values)]
        if BACKEND == "torch":
            import torch

            grads = torch.autograd.grad(loss_fn(), values)
            return [g.detach().cpu().numpy() for g in grads]
        import jax

        others = [v for v in model.variables if all(v is not w for w in variables)]

        def stateless(current):
            mapping = list(zip(variables, current, strict=True)) + [(v, v.value) for v in others]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                loss = loss_fn()
            return loss, [scope.get_current_value(v) for v in others]

        # Compiled, as the train step is: float16 rounding then follows the same fused ops.
        grads, updates = jax.jit(jax.grad(stateless, has_aux=True))(values)
        for variable, update in zip(others, updates, strict=True):
            if update is not None:
                variable.assign(update)
        return [np.asarray(g) for g in grads]

    def layer_norms(self, grads, variables, layers):
        """{layer key: L2 norm} over `layers` (key -> layer), plus "global"."""
        squares = {
            id(v): float(np.sum(np.square(g.astype("float64"))))
            for g, v in zip(grads, variables, strict=True)
        }
        norms = {
            key: sum(squares.get(id(v), 0.0) for v in layer.trainable_variables)
            for key, layer in layers.items()
        }
        norms["global"] = sum(squares.values())
        return {key: float(np.sqrt(value)) for key, value in norms.items()}

    def fit_loss_norms(self, model, batches, layers, training=True, scale=1.0):
        """Root mean square over `batches` of each layer's gradient norm of the
        compiled loss, as `fit` computes it (loss times `scale`, gradients
        divided by it)."""
        variables = list(model.trainable_variables)
        total = {}
        for x, y, sample_weight in batches:

            def loss_fn(x=x, y=y, sample_weight=sample_weight):
                y_pred = model(x, training=training)
                loss = model.compute_loss(x, y, y_pred, sample_weight, training=training)
                return loss * scale

            grads = [g / scale for g in self.gradients(model, variables, loss_fn)]
            for key, norm in self.layer_norms(grads, variables, layers).items():
                total[key] = total.get(key, 0.0) + norm * norm
        return {key: float(np.sqrt(value / len(batches))) for key, value in total.items()}
