"""`RunEvidence`: what the diagnosis rules read about one run, and helpers to word fixes."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.recipes.schema.training import ScheduleSection
from kerasforge.vocabulary import log_keys


@dataclass
class RunEvidence:
    """What the rules look at: the history frame, the recipe, events and data facts."""

    history: pd.DataFrame
    recipe: Recipe | None = None
    events: list = field(default_factory=list)
    data_info: dict = field(default_factory=dict)

    def series(self, key: str) -> np.ndarray | None:
        """The column as floats, or None when the run did not log it."""
        if key not in self.history:
            return None
        return self.history[key].to_numpy(dtype=float)

    def layer_columns(self, quantity: str) -> dict[str, np.ndarray]:
        """Per-layer columns of a `log_keys` quantity (not the global one) as layer -> values."""
        return {
            layer: self.history[key].to_numpy(dtype=float)
            for layer, key in log_keys.layer_keys(self.history.columns, quantity).items()
        }

    def global_series(self, quantity: str) -> np.ndarray | None:
        """The whole model's column of a `log_keys` quantity, or None when not logged."""
        return self.series(log_keys.global_key(quantity))


def epoch_number(index) -> int:
    """The 1-based epoch of a 0-based history row."""
    return int(index) + 1


def learning_rate_fix(recipe: Recipe | None, factor: float, at_least: float = 0.0) -> str:
    """A `--set` line scaling the recipe's learning rate (or schedule peak) by `factor`."""
    if recipe is None:
        return f"--set training.learning_rate=<current rate x {factor:g}>"
    rate = recipe.training.learning_rate
    if isinstance(rate, ScheduleSection):
        return f"--set training.learning_rate.peak={max(rate.peak * factor, at_least):.3g}"
    return f"--set training.learning_rate={max(rate * factor, at_least):.3g}"
