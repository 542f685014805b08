"""A stop signal whose exception was lost inside `fit` still stops a training run and a search."""

import os
import signal

import keras
import keras_tuner as kt
import pytest

from kerasforge._stop_signals import Stopped, stop_signals_as_interrupts
from kerasforge.recipes import build_model, prepare_data
from kerasforge.recipes.engine.fit import fit_model
from kerasforge.tuning import RecipeHyperModel, SearchSpace, make_tuner


class _LosesTheStop(keras.callbacks.Callback):
    """Sends itself SIGTERM at the end of epoch 0 and loses the `Stopped`, as C code can.

    Args:
        how: `dropped` swallows it; `turned` raises a TypeError in its place.
    """

    def __init__(self, how: str):
        super().__init__()
        self.how = how
        self.epochs_begun: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_begun.append(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if epoch != 0:
            return
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**8):  # the handler raises in here
                pass
        except Stopped:
            if self.how == "turned":
                raise TypeError("Failed to convert elements of (None,) to Tensor") from None


@pytest.mark.parametrize("how", ["dropped", "turned"])
def test_a_lost_stop_ends_the_fit_by_the_next_epoch(tiny_recipe, how):
    recipe = tiny_recipe(training={"epochs": 5, "batch_size": 32})
    data = prepare_data(recipe)
    losing = _LosesTheStop(how)
    with stop_signals_as_interrupts(), pytest.raises(Stopped, match="SIGTERM") as stopped:
        fit_model(recipe, build_model(recipe, data), data, [losing], verbose=0)
    turned = isinstance(stopped.value.__cause__, TypeError)
    # The exception's traceback holds this frame, which holds it: a cycle that only the collector
    # frees, and a tf.data iterator in `fit`'s frames can then hold that collection up to 60 s.
    del stopped
    assert losing.epochs_begun == [0]
    assert turned == (how == "turned")


@pytest.mark.parametrize("how", ["dropped", "turned"])
def test_a_lost_stop_ends_a_search_without_recording_a_failed_trial(tiny_recipe, tmp_path, how):
    recipe = tiny_recipe(training={"epochs": 5, "batch_size": 32})
    hypermodel = RecipeHyperModel(SearchSpace(recipe), prepare_data(recipe))
    tuner = make_tuner("random", hypermodel, kt.Objective("val_loss", "min"), 3, tmp_path, "p", seed=1)
    with stop_signals_as_interrupts(), pytest.raises(Stopped, match="SIGTERM"):
        tuner.search(callbacks=[_LosesTheStop(how)])
    assert [trial.status for trial in tuner.oracle.trials.values()] == [kt.engine.trial.TrialStatus.RUNNING]
