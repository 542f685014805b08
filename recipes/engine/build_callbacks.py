"""Builds the Keras callbacks of a recipe's `callbacks:` section."""

from kerasforge.callbacks import (
    ActivationMonitor,
    EarlyStopping,
    GradientNormMonitor,
    LearningRateLogger,
)
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.recipe import Recipe


def _set_fields(section, exclude=("enabled",)) -> dict:
    """The section's fields a user set to a value, leaving the callback's own defaults otherwise."""
    return {
        key: value for key, value in section.model_dump(exclude=set(exclude)).items() if value is not None
    }


def build_callbacks(recipe: Recipe, data: PreparedData, verbose: int = 1) -> list:
    """Returns the callbacks a recipe asks for, in the order they should run.

    `LearningRateLogger` always comes first, so the learning rate is in the
    epoch logs; the monitors come before `EarlyStopping`, so a stop decided by
    a monitor is seen by early stopping, which then restores the best weights.

    Args:
        recipe: A validated recipe.
        data: The data the model trains on; the activation monitor probes
            validation rows (training rows when there is no validation split).
        verbose: Integer. 0 keeps the callbacks quiet.
    """
    section = recipe.callbacks
    callbacks = [LearningRateLogger()]
    if section.gradient_monitor.enabled:
        callbacks.append(GradientNormMonitor(verbose=verbose, **_set_fields(section.gradient_monitor)))
    if section.activation_monitor.enabled:
        rows = section.activation_monitor.probe_rows
        probe = data.x_val[:rows] if len(data.x_val) else data.x_train[:rows]
        callbacks.append(
            ActivationMonitor(
                probe_data=probe,
                on_detect=section.activation_monitor.on_detect,
                verbose=verbose,
            )
        )
    stopping = section.early_stopping
    if stopping.enabled:
        # The recipe already checked that the run logs `monitor` (Recipe._monitor_is_logged).
        callbacks.append(EarlyStopping(verbose=verbose, **_set_fields(stopping)))
    return callbacks
