"""The layer a log key names: one walk of the model, shared by both monitors.

A key names a *layer path*: a direct child layer of the model by its name,
and a layer inside a nested model by the nested model's path, a `/`, then
its name (`encoder/hidden`), so two sub-models that both have a `hidden`
layer give two keys. A layer that owns sublayers (LSTM and its cell,
Bidirectional, MultiHeadAttention, a custom block) is one path: its
sublayers' weights count as its own, so `GradientNormMonitor` and
`ActivationMonitor` name an LSTM alike (`lstm`).
"""

from __future__ import annotations

from typing import Any

import keras


def layer_paths(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, layer) for every leaf layer of `model`, nested models walked.

    Args:
        model: A built or unbuilt `keras.Model`.
        prefix: String prepended to each path (used while recursing).

    Returns:
        List of `(path, layer)`, in the model's layer order.
    """
    found: list[tuple[str, Any]] = []
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            found.extend(layer_paths(layer, prefix=f"{path}/"))
        else:
            found.append((path, layer))
    return found


def trainable_variable_paths(model: Any) -> tuple[list[Any], list[str]]:
    """The model's trainable variables and the layer path each belongs to.

    Frozen layers and non-trainable weights (BatchNormalization's moving
    statistics) are not trainable variables, so they never appear. A weight
    the model owns directly (a subclassed model's `add_weight`) belongs to the
    path named after the model.

    Returns:
        `(variables, paths)`: `model.trainable_variables`, and for each, its
        layer path.
    """
    owner: dict[int, str] = {}
    for path, layer in layer_paths(model):
        for variable in layer.trainable_variables:
            owner.setdefault(id(variable), path)
    variables = list(model.trainable_variables)
    return variables, [owner.get(id(variable), model.name) for variable in variables]
