"""Whether a metric gets better going down or up, by its name.

Early stopping, checkpoints and searches all need the direction of the metric
they watch. Keras metrics that know it carry it on the object; by name alone,
losses and errors go down and the metrics listed here go up.

Example:

```python
metric_direction("val_accuracy")  # "max"
metric_direction("val_loss")  # "min"
metric_direction("my_score")  # None: say mode="min" or mode="max"
```
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["min", "max"]

# Metric names (after any `val_` prefix) where higher is better. A name ending in one of
# these also counts (`top_5_accuracy`, `binary_accuracy`, `macro_f1`).
HIGHER_IS_BETTER = (
    "acc",
    "accuracy",
    "auc",
    "precision",
    "recall",
    "f1",
    "f1_score",
    "fbeta_score",
    "iou",
    "r2_score",
)
LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "mape", "msle", "crossentropy", "hinge")


def metric_direction(name: str) -> Direction | None:
    """Returns `"min"` or `"max"` for a metric name, or None when the name does not tell.

    Args:
        name: String. A log key such as `"val_loss"` or `"accuracy"`.

    Returns:
        `"min"` when lower is better, `"max"` when higher is better, else None.
    """
    bare = name.removeprefix("val_")
    if bare.endswith(HIGHER_IS_BETTER):
        return "max"
    if bare.endswith(LOWER_IS_BETTER) or "error" in bare:
        return "min"
    return None
