"""`describe_data`: the facts about a run's data that its diagnosis needs (`data.json`)."""

import numpy as np

from kerasforge.data.model_inputs import encoded_feature_names, encoded_feature_scales
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.model import head_defaults
from kerasforge.recipes.schema.recipe import Recipe

_CROSSENTROPY = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")
_SQUARED = ("mse", "mean_squared_error")
_ABSOLUTE = ("mae", "mean_absolute_error")


def baseline_loss(y_train: np.ndarray, loss: str) -> float | None:
    """The training loss of the best constant prediction, or None for other losses.

    Class frequencies for a cross-entropy (their entropy), the mean for mean
    squared error (the variance), the median for mean absolute error. A model
    whose loss stays near this has learnt little from the inputs.
    """
    y = np.asarray(y_train, dtype=float).reshape(len(y_train), -1)[:, 0]
    if not len(y):
        return None
    if loss in _CROSSENTROPY:
        _, counts = np.unique(y, return_counts=True)
        shares = counts / counts.sum()
        return float(-(shares * np.log(shares)).sum())
    if loss in _SQUARED:
        return float(np.var(y))
    if loss in _ABSOLUTE:
        return float(np.mean(np.abs(y - np.median(y))))
    return None


def _target_std(data: PreparedData) -> float | None:
    if data.task != "regression" or not len(data.y_train):
        return None
    return float(np.std(data.y_train))


def describe_data(recipe: Recipe, data: PreparedData) -> dict:
    """Returns the JSON-ready description of a run's data that `train` writes as `data.json`.

    Args:
        recipe: The resolved recipe.
        data: The `PreparedData` the run trained on.

    Returns:
        A dict with `task`, `rows` (per split), `normalize`, `feature_scales`
        (feature -> standard deviation of the training rows *before*
        normalisation), `baseline_loss` (see `baseline_loss`; None when the
        loss is not one it knows), `target_std` (a regression target's standard
        deviation over the training rows, else None) and `scale_target`.

    Example:

    ```python
    recipe = load_recipe("digits_mlp")
    info = describe_data(recipe, prepare_data(recipe))
    info["rows"]["train"]
    ```
    """
    scales = {}
    if data.statistics is not None:
        names = encoded_feature_names(data.statistics)
        scales = dict(zip(names, encoded_feature_scales(data.statistics), strict=True))
    loss = recipe.model.loss or head_defaults(recipe.model.task)[0]
    return {
        "task": data.task,
        "rows": data.rows,
        "normalize": recipe.data.normalize,
        "feature_scales": scales,
        "baseline_loss": baseline_loss(data.y_train, loss),
        "target_std": _target_std(data),
        "scale_target": recipe.data.scale_target,
    }
