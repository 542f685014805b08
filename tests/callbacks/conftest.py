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
