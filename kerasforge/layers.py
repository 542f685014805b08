"""The three kerasforge layers a saved `model.keras` holds, registered with Keras for safe loading.

A run's `model.keras` takes raw columns: Keras's own preprocessing layers
(`Normalization`, `StringLookup`) do nearly all the work, but Keras has no
layer that replaces NaN, its `Concatenate` cannot run inside `tf.data` on JAX
or torch, and a functional model has no place for class names. These three
layers fill the gaps. They are registered as `kerasforge>FillMissing`,
`kerasforge>JoinColumns` and `kerasforge>ClassNames`, so `keras.saving.load_model` (with `safe_mode` on)
finds them once this module is imported; `import kerasforge` arranges that
(see `kerasforge/__init__.py`).

The two preprocessing layers are `DataLayer`s, like Keras's `Normalization` and
`StringLookup`: inside a `tf.data` pipeline they compute with TensorFlow ops
on any backend, which is how text columns are encoded on JAX and torch, whose
tensors cannot hold strings (see `recipes/engine/raw_model.py`).

A leaf module: it imports only keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

# The one private Keras name used outside `kerasforge._keras_compat`: importing that module here
# would be circular, since importing keras imports this module (see `kerasforge/__init__.py`).
from keras.src.layers.preprocessing.data_layer import DataLayer

PACKAGE = "kerasforge"


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillMissing(DataLayer):
    """Replaces NaN in each feature (last axis) with that feature's fill value.

    Args:
        values: List of floats, one fill value per feature.
        **kwargs: Base `Layer` arguments (`name`, `dtype`).

    Example:

    >>> import numpy as np
    >>> FillMissing([1.0, 2.0])(np.array([[np.nan, 5.0]], "float32")).numpy().tolist()
    [[1.0, 5.0]]
    """

    def __init__(self, values: Sequence[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = [float(value) for value in values]
        if not self.values:
            raise ValueError(
                f"Argument `values` must list at least one fill value. Received: values={values!r}"
            )

    def call(self, inputs: Any) -> Any:
        fill = self.backend.convert_to_tensor(self.values, dtype=inputs.dtype)
        return self.backend.numpy.where(self.backend.numpy.isnan(inputs), fill, inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "values": self.values}


@keras.saving.register_keras_serializable(package=PACKAGE)
class JoinColumns(DataLayer):
    """Concatenates blocks of columns along the last axis, one block or several.

    Keras's `Concatenate` computes with the backend's ops, which cannot run
    inside `tf.data` on JAX or torch; this one can. A model of raw columns
    ends its preprocessing with one named `encoded`, where the network starts.

    Args:
        **kwargs: Base `Layer` arguments (`name`, `dtype`).

    Example:

    >>> import numpy as np
    >>> JoinColumns()([np.ones((1, 2), "float32"), np.zeros((1, 1), "float32")]).numpy().tolist()
    [[1.0, 1.0, 0.0]]
    """

    def call(self, inputs: Any) -> Any:
        return self.backend.numpy.concatenate(list(inputs), axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        widths = [shape[-1] for shape in input_shape]
        width = None if None in widths else sum(widths)
        return (*input_shape[0][:-1], width)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClassNames(keras.layers.Layer):
    """Passes predictions through unchanged and keeps the class names they refer to.

    The last layer of a classification model: `class_names[i]` is the class
    of output unit `i` (multiclass), or of a sigmoid output near 1 when there
    are two names (binary: `class_names[0]` is near 0). The names are in the
    layer's config, so they travel inside `model.keras`.

    Args:
        class_names: List of class names (strings, integers, floats or booleans).
        **kwargs: Base `Layer` arguments (`name`, `dtype`).

    Example:

    >>> ClassNames(["barbera", "nebbiolo"]).class_names
    ['barbera', 'nebbiolo']
    """

    def __init__(self, class_names: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.class_names = list(class_names)
        if len(self.class_names) < 2:
            raise ValueError(
                f"Argument `class_names` must list at least 2 classes. Received: class_names={class_names!r}"
            )

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_names": self.class_names}


def class_names_of(model: keras.Model) -> list[Any] | None:
    """The class names a model's `ClassNames` layer holds, or None (e.g. regression)."""
    for layer in model.layers:
        if isinstance(layer, ClassNames):
            return list(layer.class_names)
    return None
