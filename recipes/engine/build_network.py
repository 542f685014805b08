"""Builds the functional Keras model a recipe describes."""

import keras

from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.model import TASK_HEADS, InitializerSpec, ModelSection


def _initializer(spec: str | InitializerSpec, key: str):
    config = spec.to_keras_config() if isinstance(spec, InitializerSpec) else spec
    try:
        return keras.initializers.get(config)
    except (ValueError, TypeError) as error:
        raise RecipeError(f"`model.{key}`: cannot build initializer {config!r}: {error}") from None


def _regularizer(section: ModelSection):
    if section.l1 == 0 and section.l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=section.l1, l2=section.l2)


def _hidden_block(inputs, width: int, index: int, section: ModelSection):
    name = f"hidden_{index}"
    # With batch norm the Dense bias is redundant: BN's beta shifts instead.
    outputs = keras.layers.Dense(
        width,
        activation=None if section.batch_norm else section.activation,
        use_bias=not section.batch_norm,
        kernel_initializer=_initializer(section.kernel_initializer, "kernel_initializer"),
        bias_initializer=_initializer(section.bias_initializer, "bias_initializer"),
        kernel_regularizer=_regularizer(section),
        name=name,
    )(inputs)
    if section.batch_norm:
        outputs = keras.layers.BatchNormalization(name=f"{name}_bn")(outputs)
        outputs = keras.layers.Activation(section.activation, name=f"{name}_act")(outputs)
    if section.dropout > 0:
        outputs = keras.layers.Dropout(section.dropout, name=f"{name}_dropout")(outputs)
    if section.residual:
        shortcut = inputs
        if inputs.shape[-1] != width:
            shortcut = keras.layers.Dense(
                width, use_bias=False, kernel_regularizer=_regularizer(section), name=f"{name}_skip"
            )(inputs)
        outputs = keras.layers.Add(name=f"{name}_add")([outputs, shortcut])
    return outputs


def build_network(section: ModelSection, input_dim: int, output_units: int) -> keras.Model:
    """Builds the uncompiled functional model of a `model:` section.

    Hidden layers are named `hidden_1`, `hidden_2`, ... (input side first) and
    the head `output`, so per-layer logs read `grad_norm/hidden_1`. The layers take
    Keras's global dtype policy, except the head, which is float32 under a mixed one.

    Args:
        section: The recipe's `model` section.
        input_dim: Integer. Number of input features.
        output_units: Integer. Units of the output layer.

    Returns:
        A `keras.Model`.

    Raises:
        RecipeError: if an initializer cannot be built, or `init_from` does
            not fit the architecture.
    """
    inputs = keras.Input(shape=(input_dim,), name="features")
    outputs = inputs
    for index, width in enumerate(section.hidden_widths, start=1):
        outputs = _hidden_block(outputs, width, index, section)
    head_activation = TASK_HEADS[section.task][0]
    outputs = keras.layers.Dense(
        output_units,
        activation=head_activation,
        kernel_initializer=_initializer(section.kernel_initializer, "kernel_initializer"),
        kernel_regularizer=_regularizer(section),
        # Under a mixed precision policy the head and its softmax/sigmoid stay float32, so the
        # loss and the probabilities are computed in full precision.
        dtype="float32" if keras.config.dtype_policy().compute_dtype != "float32" else None,
        name="output",
    )(outputs)
    model = keras.Model(inputs, outputs, name="recipe_model")
    if section.init_from:
        _initialise_from(model, section.init_from)
    for index in range(1, section.freeze + 1):
        for suffix in ("", "_bn", "_skip"):
            layer = _find_layer(model, f"hidden_{index}{suffix}")
            if layer is not None:
                layer.trainable = False
    return model


def _find_layer(model: keras.Model, name: str):
    return next((layer for layer in model.layers if layer.name == name), None)


def _initialise_from(model: keras.Model, path: str) -> None:
    try:
        source = keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise RecipeError(f"`model.init_from`: cannot load {path!r}: {error}") from None
    copied = []
    for layer in model.layers:
        if not layer.name.startswith("hidden_") or not layer.weights:
            continue
        donor = _find_layer(source, layer.name)
        if donor is None:
            continue
        ours = [tuple(weight.shape) for weight in layer.weights]
        theirs = [tuple(weight.shape) for weight in donor.weights]
        if ours != theirs:
            raise RecipeError(
                f"`model.init_from`: layer {layer.name!r} has weight shapes {ours} here but "
                f"{theirs} in {path!r}; the hidden layers being transferred must match"
            )
        layer.set_weights(donor.get_weights())
        copied.append(layer.name)
    if not copied:
        names = [layer.name for layer in source.layers]
        raise RecipeError(
            f"`model.init_from`: {path!r} has no layer named like this recipe's hidden layers "
            f"(hidden_1, hidden_2, ...). Its layers: {names}"
        )
