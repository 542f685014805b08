"""Builds and compiles the model of a recipe for the data it will see."""

import keras
import numpy as np

from kerasforge.data import updates_per_epoch
from kerasforge.errors import RecipeError
from kerasforge.recipes.engine.backend_settings import compile_options
from kerasforge.recipes.engine.build_network import build_network
from kerasforge.recipes.engine.build_optimizer import build_optimizer
from kerasforge.recipes.engine.mixed_precision import dtype_policy, resolve_dtype_policy
from kerasforge.recipes.engine.model_memory import check_model_memory
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.recipe import Recipe


def _metrics(recipe: Recipe) -> list:
    metrics = []
    for name in recipe.model.metric_names:
        if name == "r2_score":
            metrics.append(keras.metrics.R2Score(name="r2_score"))
            continue
        try:
            keras.metrics.get(name)
        except ValueError:
            raise RecipeError(
                f"`model.metrics`: unknown Keras metric {name!r}; "
                "use a name from keras.metrics, e.g. accuracy, mae, mse, auc, r2_score"
            ) from None
        metrics.append(name)
    return metrics


def _loss(recipe: Recipe):
    name = recipe.model.loss_name
    try:
        return keras.losses.get(name)
    except ValueError:
        raise RecipeError(
            f"`model.loss`: unknown Keras loss {name!r}; use a name from keras.losses, "
            "e.g. mse, mae, huber, binary_crossentropy, sparse_categorical_crossentropy"
        ) from None


TARGET_SCALE_LAYER = "target_scale"


def _scale_target(model: keras.Model, data: PreparedData) -> keras.Model:
    """Appends `Rescaling(std, mean)` of the training target, so the network learns it standardised.

    A Dense head starts with outputs near zero and weights of order one; a
    target whose spread is in the thousands then needs weights a thousand times
    larger, which Adam's steps of about the learning rate take thousands of
    updates to reach. The head's bias stays at zero: the layer adds the mean.
    The loss stays in the target's units.
    """
    y = np.asarray(data.y_train, dtype="float64")
    spread = float(np.std(y)) or 1.0  # a constant target: only the offset to learn
    rescale = keras.layers.Rescaling(spread, float(np.mean(y)), dtype="float32", name=TARGET_SCALE_LAYER)
    return keras.Model(model.inputs, rescale(model.outputs[0]), name=model.name)


def _start_output_at_prior(model: keras.Model, data: PreparedData) -> None:
    """Sets the output bias to the training target's mean (regression) or log-odds (binary).

    The first epochs are then spent learning the features rather than the
    offset of the target: on diabetes this lifts the test r2 from about 0.2
    to about 0.5 for the same early-stopped budget. (A scaled target's offset
    is in its `target_scale` layer instead, see `_scale_target`.)
    """
    bias = model.get_layer("output").bias
    if data.task == "regression":
        bias.assign(np.full(bias.shape, float(np.mean(data.y_train)), dtype="float32"))
    elif data.task == "binary":
        positive = float(np.clip(np.mean(data.y_train), 1e-3, 1 - 1e-3))
        bias.assign(np.full(bias.shape, np.log(positive / (1 - positive)), dtype="float32"))


def build_model(recipe: Recipe, data: PreparedData) -> keras.Model:
    """Builds the network, optimizer, loss and metrics, and compiles them.

    The network is built under the dtype policy of `training.mixed_precision`
    (see `mixed_precision`); the model keeps it (`model.dtype_policy`) and Keras's
    global policy is left as it was. Under `mixed_float16`, `compile` wraps the
    optimizer in a `LossScaleOptimizer`.

    Args:
        recipe: A validated recipe.
        data: The `PreparedData` the model will be trained on; it fixes the
            input width, the output units and the updates per epoch.

    Returns:
        A compiled `keras.Model`.

    Raises:
        RecipeError: if training would not fit in the memory available (checked
            before any layer is built), a name does not resolve through Keras or
            `init_from` does not fit.

    Example:

    ```python
    recipe = load_recipe("digits_mlp")
    data = prepare_data(recipe)
    model = build_model(recipe, data)
    ```
    """
    check_model_memory(recipe, data.input_dim, data.output_units, rows=data.rows_in_memory)
    updates = updates_per_epoch(
        data.rows["train"], recipe.training.batch_size, recipe.training.drop_remainder
    )
    with dtype_policy(resolve_dtype_policy(recipe.training.mixed_precision)):
        model = build_network(recipe.model, data.input_dim, data.output_units)
    if len(data.y_train) and recipe.data.scale_target:
        model = _scale_target(model, data)
    elif len(data.y_train):
        _start_output_at_prior(model, data)
    model.compile(
        optimizer=build_optimizer(recipe.training, updates),
        loss=_loss(recipe),
        metrics=_metrics(recipe),
        **compile_options(recipe, updates),
    )
    return model


def compile_like(model: keras.Model, recipe: Recipe, optimizer, steps_per_execution: int = 1) -> None:
    """Compiles `model` with the recipe's loss and metrics and an existing optimizer.

    For the model a run saves (raw columns in front of the trained network):
    sharing the network's optimizer saves its state with the weights it tracks,
    and `evaluate` on the loaded model reports the recipe's metrics.
    """
    model.compile(
        optimizer=optimizer,
        loss=_loss(recipe),
        metrics=_metrics(recipe),
        steps_per_execution=steps_per_execution,
    )
