"""Fits a compiled recipe model on prepared data: tf.data on TensorFlow, arrays on JAX and torch."""

import time

import keras

from kerasforge.callbacks import CompactProgbarLogger
from kerasforge.data import make_dataset
from kerasforge.errors import BackendMissingError
from kerasforge.recipes.engine.backend_settings import backend_facts
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


def evaluation_inputs(x, y, batch_size: int = 256) -> dict:
    """The data arguments of `evaluate` for held-out rows: `x` (and `y`, `batch_size`).

    A `tf.data` pipeline on TensorFlow; the arrays themselves on JAX and torch,
    which then never import TensorFlow.

    Example:

    ```python
    model.evaluate(**evaluation_inputs(data.x_test, data.y_test), return_dict=True)
    ```
    """
    if backend_facts().needs_tensorflow_pipeline:
        return {"x": make_dataset(x, y, batch_size=batch_size, shuffle=False)}
    return {"x": x, "y": y, "batch_size": batch_size}


def _training_inputs(recipe: Recipe, data: PreparedData, batch_size: int) -> dict:
    """The data arguments of `fit`: a `tf.data` pipeline, or arrays where the backend is not TensorFlow."""
    training = recipe.training
    validation_batch = max(batch_size, 256)
    # Keras's array path cannot drop the last partial batch of each reshuffled epoch; tf.data can.
    if backend_facts().needs_tensorflow_pipeline or training.drop_remainder:
        try:
            import tensorflow  # noqa: F401
        except ModuleNotFoundError:
            raise BackendMissingError(
                f"`training.drop_remainder: true` on the {keras.backend.backend()} backend needs "
                "TensorFlow's tf.data, which is not installed; pip install 'kerasforge[cpu]' "
                "or set training.drop_remainder=false"
            ) from None
        inputs: dict = {
            "x": make_dataset(
                data.x_train,
                data.y_train,
                batch_size=batch_size,
                shuffle=training.shuffle,
                drop_remainder=training.drop_remainder,
                seed=recipe.seed,
            ),
            "shuffle": False,  # the tf.data pipeline already reshuffles every epoch
        }
        if data.validation_data is not None:
            inputs["validation_data"] = make_dataset(
                data.x_val, data.y_val, batch_size=validation_batch, shuffle=False
            )
        return inputs
    return {
        "x": data.x_train,
        "y": data.y_train,
        "batch_size": batch_size,
        "shuffle": training.shuffle,
        "validation_data": data.validation_data,
        "validation_batch_size": validation_batch,
    }


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

    On TensorFlow the training rows go through a cached, shuffled,
    prefetched `tf.data` pipeline; together with the `steps_per_execution`
    that `build_model` picks, this is what makes a recipe faster than a
    default Keras script. On JAX and torch they go to `fit` as arrays, which
    Keras batches and reshuffles every epoch with NumPy's generator (seeded by
    `set_global_seed`), so those backends need no TensorFlow.

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
    inputs = _training_inputs(recipe, data, batch_size)
    callbacks = [_EpochClock(), *(callbacks or [])]
    if verbose:
        # Last, so the bar is drawn after every callback has written its logs. Only when
        # shown: a batch-level hook makes Keras fetch the logs after every graph call.
        callbacks.append(CompactProgbarLogger())
    return model.fit(
        **inputs,
        epochs=epochs or training.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
