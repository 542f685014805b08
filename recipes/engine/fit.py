"""Fits a compiled recipe model on prepared data, each epoch in an order drawn from (seed, epoch)."""

import time

import keras

from kerasforge._keras_compat import build_training_state
from kerasforge._stop_signals import raise_if_stopping
from kerasforge.callbacks import CompactProgbarLogger
from kerasforge.recipes.engine.prepare_data import PreparedData
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import log_keys


class _EpochClock(keras.callbacks.Callback):
    """Logs the wall time of each epoch's updates, before validation, as `train_seconds`.

    It also knows the epoch under way (`epoch`), from which each epoch's data order is drawn,
    and stops a fit at the next epoch if a stop signal's exception was lost on its way (see
    `raise_if_stopping`), once every callback has finished the last one.
    """

    def __init__(self, first_epoch: int):
        super().__init__()
        self.epoch = first_epoch

    def on_epoch_begin(self, epoch, logs=None):
        raise_if_stopping()
        self.epoch = epoch
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
    shard: tuple[int, int, int] = (1, 0, 1),
) -> keras.callbacks.History:
    """Trains `model` with the recipe's batch loop settings.

    The training rows go through a shuffled, prefetched `tf.data` pipeline
    whose every epoch's order is drawn from (seed, epoch) (see
    `make_epoch_dataset`; on JAX and torch the same batches as NumPy slices,
    `EpochArrays`), so a resumed run sees the same batches. Together
    with the `steps_per_execution` that `build_model` picks, this is what
    makes a recipe faster than a default Keras script.

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
        shard: (processes, this process, its devices) of a JAX data-parallel
            run: this process trains on its share of every global batch (see
            `PreparedData.dataset`). Validation batches are fed whole by every
            process, which leaves their mean metrics as one process's.

    Returns:
        The `keras.callbacks.History` of the fit.
    """
    training = recipe.training
    batch_size = batch_size or training.batch_size
    clock = _EpochClock(initial_epoch)
    # Each epoch's order comes from (seed, epoch), so a resumed run sees the batches it would have.
    train_set = data.dataset(
        "train",
        batch_size,
        epoch_of_pass=lambda: clock.epoch,
        shuffle=training.shuffle,
        drop_remainder=training.drop_remainder,
        seed=recipe.seed,
        shard=shard,
    )
    validation = data.dataset("val", max(batch_size, 256), shard=shard)
    callbacks = [clock, *(callbacks or [])]
    if verbose:
        # Last, so the bar is drawn after every callback has written its logs. Only when
        # shown: a batch-level hook makes Keras fetch the logs after every graph call.
        callbacks.append(CompactProgbarLogger())
    build_training_state(model, train_set)
    try:
        return model.fit(
            train_set,
            validation_data=validation,
            epochs=epochs or training.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the batches (tf.data, EpochArrays or the stream) come in each epoch's order
        )
    except Exception as error:
        raise_if_stopping(error)
        raise
