"""Builds the optimizer and learning rate (constant or scheduled) of a recipe."""

import inspect

import keras

from kerasforge.errors import RecipeError
from kerasforge.recipes.schema.training import OPTIMIZER_FACTS, ScheduleSection, TrainingSection

# Set through their own recipe fields, so not accepted in `optimizer_args`.
_OWN_FIELDS = ("learning_rate", "clipnorm", "clipvalue", "global_clipnorm", "name")


def build_schedule(schedule: ScheduleSection, batch_size: int, updates_per_epoch: int, epochs: int):
    """Turns a `training.learning_rate` schedule section into a Keras schedule.

    Epoch counts in the section become update counts here, so the schedule
    steps every update.
    """
    from kerasforge.callbacks import OneCycleSchedule, WarmupDecaySchedule, scale_learning_rate

    peak = schedule.peak
    if schedule.base_batch_size is not None:
        peak = scale_learning_rate(peak, batch_size, base_batch_size=schedule.base_batch_size)
    total_steps = max(1, updates_per_epoch * epochs)
    warmup_steps = min(int(round(schedule.warmup_epochs * updates_per_epoch)), total_steps - 1)
    if schedule.schedule == "one_cycle":
        return OneCycleSchedule(max_learning_rate=peak, total_steps=total_steps)
    decay_steps = total_steps - warmup_steps
    if schedule.schedule == "step":
        decay_steps = max(1, int(round(schedule.step_epochs * updates_per_epoch)))
    return WarmupDecaySchedule(
        peak_learning_rate=peak,
        warmup_steps=warmup_steps,
        decay=schedule.schedule,
        decay_steps=decay_steps,
        final_learning_rate=schedule.final,
        decay_rate=schedule.decay_rate,
    )


def build_optimizer(training: TrainingSection, updates_per_epoch: int) -> keras.optimizers.Optimizer:
    """Builds the Keras optimizer of a `training:` section.

    Args:
        training: The recipe's `training` section.
        updates_per_epoch: Integer. Optimizer updates in one epoch, used to
            turn schedule epochs into steps.

    Returns:
        A `keras.optimizers.Optimizer`.

    Raises:
        RecipeError: naming an `optimizer_args` key the optimizer does not take.
    """
    optimizer_class = getattr(keras.optimizers, OPTIMIZER_FACTS[training.optimizer].keras_class)
    accepted = [
        name
        for name, parameter in inspect.signature(optimizer_class).parameters.items()
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD and name not in _OWN_FIELDS
    ]
    for key in training.optimizer_args:
        if key not in accepted:
            raise RecipeError(
                f"unknown key `training.optimizer_args.{key}` for optimizer "
                f"{training.optimizer!r}; allowed: {', '.join(accepted)}"
            )
    learning_rate = training.learning_rate
    if isinstance(learning_rate, ScheduleSection):
        learning_rate = build_schedule(learning_rate, training.batch_size, updates_per_epoch, training.epochs)
    clipping = {
        key: getattr(training, key)
        for key in ("clipnorm", "clipvalue", "global_clipnorm")
        if getattr(training, key) is not None
    }
    try:
        return optimizer_class(learning_rate=learning_rate, **clipping, **training.optimizer_args)
    except ValueError as error:
        raise RecipeError(
            f"`training.optimizer_args`: {training.optimizer} rejected {training.optimizer_args}: {error}"
        ) from None
