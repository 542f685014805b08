"""Fits a compiled recipe model on prepared data through a tf.data pipeline."""

import time

import keras

from kerasforge.callbacks import CompactProgbarLogger
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import log_keys


class _EpochClock(keras.callbacks.Callback):
    """Logs the wall time of each epoch's updates, before validation, as `train_seconds`."""

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        self._train_seconds = None

    def on_test_begin(self, logs=None):
        if self._train_seconds is None:
            self._train_seconds = time.perf_counter() - self._started

    def on_epoch_end(self, epoch, logs=None):
        if self._train_seconds is None:
            self._train_seconds = time.perf_counter() - self._started
        if logs is not None:
            logs[log_keys.TRAIN_SECONDS] = self._train_seconds


def fit_model(
    recipe: Recipe,
    model: keras.Model,
    data: PreparedData,
    callbacks: list | None = None,
    verbose: int | str = "auto",
    batch_size: int | None = None,
    epochs: int | None = None,
    initial_epoch: int = 0,
) -> keras.callbacks.History:
    """Trains `model` with the recipe's batch loop settings.

    The training rows go through a cached, shuffled, prefetched `tf.data`
    pipeline; together with the `steps_per_execution` that `build_model`
    picks, this is what makes a recipe faster than a default Keras script.

    Args:
        recipe: The recipe that built `model`.
        model: A compiled model.
        data: The `PreparedData` to train on.
        callbacks: Keras callbacks for this fit.
        verbose: Passed to `fit`: 0 silent, 1 progress bar, 2 one line per epoch.
        batch_size: Integer overriding `training.batch_size` (used by searches).
        epochs: Integer overriding `training.epochs`: the epoch to stop at.
        initial_epoch: Integer. Epoch to resume from (Hyperband continues
            trials this way), so epoch numbers and schedules carry on.

    Returns:
        The `keras.callbacks.History` of the fit.
    """
    training = recipe.training
    batch_size = batch_size or training.batch_size
    train_set = data.dataset(
        "train",
        batch_size,
        shuffle=training.shuffle,
        drop_remainder=training.drop_remainder,
        seed=recipe.seed,
    )
    validation = data.dataset("val", max(batch_size, 256))
    callbacks = [_EpochClock(), *(callbacks or [])]
    if verbose:
        # Last, so the bar is drawn after every callback has written its logs. Only when
        # shown: a batch-level hook makes Keras fetch the logs after every graph call.
        callbacks.append(CompactProgbarLogger())
    return model.fit(
        train_set,
        validation_data=validation,
        epochs=epochs or training.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the pipeline (tf.data or the stream) already reshuffles every epoch
    )
