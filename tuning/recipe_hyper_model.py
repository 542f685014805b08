"""`RecipeHyperModel`: the KerasTuner HyperModel of a recipe and its search space."""

import math

import keras
import keras_tuner as kt
import numpy as np

from kerasforge.errors import RecipeError
from kerasforge.recipes import (
    PreparedData,
    build_callbacks,
    build_model,
    describe_data,
    fit_model,
    set_global_seed,
)
from kerasforge.tuning._keras_tuner_compat import SaveBestEpoch
from kerasforge.tuning.search_space import SearchSpace
from kerasforge.tuning.trial_state import trial_checkpoint

WORST_FLOAT32 = float(np.finfo("float32").max)
"""The objective a diverged, pruned trial gives the oracle when it has nothing finite to rank by
(negated for a `max` objective)."""


def shown_score(score: float | None) -> float | None:
    """A trial's score as people see it: NaN for `WORST_FLOAT32`, the oracle's stand-in for nothing finite.

    Example:

    ```python
    shown_score(-WORST_FLOAT32)  # nan: a diverged trial of a `max` objective
    ```
    """
    return math.nan if score is not None and abs(score) == WORST_FLOAT32 else score


class _StopOnNaN(keras.callbacks.Callback):
    """Ends a diverged trial at the epoch's end (TerminateOnNaN would check every batch)."""

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.model.stop_training = True


def _finite_objective(
    history: keras.callbacks.History, objective: str, direction: str, baseline: float | None
) -> None:
    """Gives a pruned trial that diverged a finite objective, so the oracle can rank it and go on.

    Its non-finite epochs get its worst finite value or, for a loss, the loss of
    a constant prediction (`baseline`) if that is worse: a diverged model
    knows less than a constant. Without either, the worst a float32 holds.
    `history_` keeps the real values for `trials.csv`.
    """
    values = history.history.get(objective)
    if not values:
        return
    finite = [float(value) for value in values if math.isfinite(float(value))]
    if objective.endswith("loss") and baseline:
        finite.append(float(baseline))
    worst = (max(finite) if direction == "min" else min(finite)) if finite else None
    if worst is None:
        worst = WORST_FLOAT32 * (1.0 if direction == "min" else -1.0)
    history.history[objective] = [float(value) if math.isfinite(float(value)) else worst for value in values]


class RecipeHyperModel(kt.HyperModel):
    """Builds and fits one trial of a recipe search through the recipe engine.

    `build` applies the trial's hyperparameters to the base recipe and calls
    `build_model`; `fit` builds the recipe's callbacks (early stopping, the
    gradient and activation monitors) and calls `fit_model` with the trial's
    batch size and epochs. Each trial is seeded with the recipe's seed just as
    `kerasforge train` seeds a run, so retraining the best recipe reproduces
    the best trial.

    A trial whose recipe cannot be built, or whose loss becomes NaN, raises
    `keras_tuner.errors.FailedTrialError` with the reason; KerasTuner records
    it as failed and the search goes on.

    Args:
        space: The `SearchSpace` (it holds the base recipe).
        data: The `PreparedData` every trial trains on; prepared once so all
            trials see the same split.
        keep_checkpoints: Boolean. Write each trial's whole training state
            after every epoch (see `trial_state`), so a promoted Hyperband
            trial continues from its parent's exactly; other tuners skip the
            writes. KerasTuner's best-epoch weight files are never written.
            Defaults to `False`.

    Attributes:
        history_: Metric name -> per-epoch values of the last fit (also set
            when the fit failed), or None.
        pruning: A `TrialPruning` the tuner sets before each trial, or None
            (no pruning).
        pruned_: The last fit's `TrialPruner.verdict` (`kind`, `evidence`,
            `epoch`), or None when it was not pruned.
        trial_dir, parent_dir: The folders of the trial about to run and of
            the trial it continues (or None); the tuner sets them before each
            trial when `keep_checkpoints` is on.

    Example:

    ```python
    hypermodel = RecipeHyperModel(space, prepare_data(space.recipe))
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_loss", max_trials=5)
    ```
    """

    def __init__(self, space: SearchSpace, data: PreparedData, keep_checkpoints: bool = False):
        if not isinstance(space, SearchSpace):
            raise TypeError(f"Argument `space` must be a SearchSpace. Received: space={space!r}")
        if not isinstance(data, PreparedData):
            raise TypeError(f"Argument `data` must be a PreparedData. Received: data={data!r}")
        super().__init__(name=space.recipe.name)
        self.space = space
        self.data = data
        self.keep_checkpoints = keep_checkpoints
        self.history_ = None
        self.pruning = None
        self.pruned_ = None
        self.trial_dir = None
        self.parent_dir = None

    def _trial_recipe(self, hp):
        try:
            return self.space.trial_recipe(hp)
        except RecipeError as error:
            raise kt.errors.FailedTrialError(f"invalid trial recipe: {error}") from None

    def build(self, hp) -> keras.Model:
        """Returns the compiled model of the trial's recipe."""
        recipe = self._trial_recipe(hp)
        self.history_ = None
        set_global_seed(recipe.seed)
        try:
            return build_model(recipe, self.data)
        except (RecipeError, ValueError) as error:
            raise kt.errors.FailedTrialError(f"cannot build the model: {error}") from None

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0, **kwargs):
        """Trains `model` with the trial's batch size, epochs and recipe callbacks.

        Args:
            hp: The trial's `HyperParameters`.
            model: The model `build` returned.
            *args: Not supported: the data comes from the recipe.
            callbacks: KerasTuner's own callbacks for the trial.
            epochs: Integer. Hyperband's cumulative epoch budget, else None
                (the trial recipe's `training.epochs`).
            initial_epoch: Integer. Epochs the weights were already trained
                (Hyperband continuing a trial). Defaults to `0`.
            **kwargs: Not supported; listed so a stray fit argument is an error.

        Returns:
            The `keras.callbacks.History`.

        Raises:
            TypeError: if data or other fit arguments are passed.
            keras_tuner.errors.FailedTrialError: if the loss became NaN (unless
                the trial's pruner stopped it: then it is pruned, not failed).
        """
        if args or kwargs:
            raise TypeError(
                "RecipeHyperModel.fit takes its data from the recipe. "
                f"Received extra arguments: {list(args) + sorted(kwargs)}"
            )
        recipe = self._trial_recipe(hp)
        self.pruned_ = None
        data_info = describe_data(recipe, self.data) if self.pruning is not None else {}
        pruner = None if self.pruning is None else self.pruning.pruner(recipe, data_info)
        tuner_callbacks = [callback for callback in callbacks if not isinstance(callback, SaveBestEpoch)]
        recipe_callbacks = build_callbacks(recipe, self.data, verbose=0)
        state = []
        if self.keep_checkpoints and self.trial_dir is not None:
            state = [trial_checkpoint(self.trial_dir, self.parent_dir, recipe_callbacks)]
            # The epochs the parent really trained (fewer if it stopped early, and then none more).
            continued = state[0].fit_arguments()
            initial_epoch, epochs = continued["initial_epoch"], continued.get("epochs", epochs)
        # The pruner comes after the monitors, whose logs it reads; the state is saved after every
        # callback that may stop training; KerasTuner's own callbacks report each epoch to the oracle.
        trial_callbacks = (
            recipe_callbacks
            + [_StopOnNaN()]
            + ([pruner] if pruner is not None else [])
            + state
            + tuner_callbacks
        )
        history = fit_model(
            recipe,
            model,
            self.data,
            trial_callbacks,
            verbose=0,
            batch_size=recipe.training.batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
        )
        # A continued trial's History starts at epoch 1 (its parent's epochs first), so its score,
        # the best epoch of it, is what training its recipe from scratch reaches; its record keeps
        # its own epochs.
        restored = state[0].initial_epoch if state else 0
        self.history_ = {
            key: [float(value) for value in values[restored:]] for key, values in history.history.items()
        }
        if pruner is not None and pruner.verdict is not None:
            self.pruned_ = dict(pruner.verdict)
            _finite_objective(
                history, self.pruning.objective, self.pruning.direction, data_info.get("baseline_loss")
            )
            return history
        losses = self.history_.get("loss", [])
        if any(math.isnan(value) or math.isinf(value) for value in losses):
            epoch = next(i for i, value in enumerate(losses) if math.isnan(value) or math.isinf(value))
            raise kt.errors.FailedTrialError(
                f"loss became {losses[epoch]} at epoch {initial_epoch + epoch + 1}"
            )
        return history
