import gc
import signal
import weakref

import keras
import keras_tuner as kt
import pytest

from kerasforge._stop_signals import Stopped
from kerasforge.errors import TuningError
from kerasforge.recipes import prepare_data
from kerasforge.tuning import RecipeHyperModel, RecipeTuner, SearchSpace, make_tuner


def _hypermodel(recipe):
    return RecipeHyperModel(SearchSpace(recipe), prepare_data(recipe))


@pytest.mark.parametrize(
    "name, base",
    [
        ("random", kt.RandomSearch),
        ("hyperband", kt.Hyperband),
        ("bayesian", kt.BayesianOptimization),
        ("grid", kt.GridSearch),
    ],
)
def test_make_tuner_adds_the_recipe_tuner_to_each_keras_tuner(name, base, tiny_recipe, tmp_path):
    tuner = make_tuner(
        name, _hypermodel(tiny_recipe()), kt.Objective("val_loss", "min"), 3, tmp_path, "p", seed=1
    )
    assert isinstance(tuner, RecipeTuner) and isinstance(tuner, base)
    assert tuner.oracle.max_trials == 3
    assert {parameter.name for parameter in tuner.oracle.get_space().space} == {
        "layers",
        "units_1",
        "units_2",
        "batch_size",
    }


def test_make_tuner_rejects_an_unknown_tuner(tiny_recipe, tmp_path):
    with pytest.raises(TuningError, match="`tuner` must be one of random, hyperband, bayesian, grid"):
        make_tuner(
            "evolution", _hypermodel(tiny_recipe()), kt.Objective("val_loss", "min"), 3, tmp_path, "p", 1
        )


class _Cycle:
    def __init__(self):
        self.me = self  # only the cycle collector frees it


class _Interrupts(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise Stopped(signal.SIGINT)  # as Ctrl+C does: the search ends by raising


@pytest.mark.parametrize("interrupted", [False, True])
def test_a_search_unfreezes_what_it_froze_so_a_later_garbage_cycle_is_collected(
    interrupted, tiny_recipe, tmp_path
):
    # The search freezes what is alive when it begins (its trials' collections skip it); a process
    # that goes on after the search (a notebook, a test run) must get those objects back.
    recipe = tiny_recipe(training={"epochs": 1}, search={"max_trials": 1})
    objective = kt.Objective("val_loss", "min")
    tuner = make_tuner("random", _hypermodel(recipe), objective, 1, tmp_path, "p", seed=1)
    alive_before = _Cycle()
    held = weakref.ref(alive_before)
    if interrupted:
        with pytest.raises(Stopped, match="SIGINT"):
            tuner.search(callbacks=[_Interrupts()])
    else:
        tuner.search()
    assert gc.get_freeze_count() == 0
    del alive_before
    gc.collect()
    assert held() is None


def test_a_search_leaves_what_its_caller_froze_frozen(tiny_recipe, tmp_path):
    recipe = tiny_recipe(training={"epochs": 1}, search={"max_trials": 1})
    objective = kt.Objective("val_loss", "min")
    tuner = make_tuner("random", _hypermodel(recipe), objective, 1, tmp_path, "p", seed=1)
    cycle = _Cycle()
    garbage = weakref.ref(cycle)
    gc.freeze()
    del cycle  # garbage now, but frozen: no collection may free it until the caller unfreezes
    try:
        tuner.search()
        gc.collect()
        assert garbage() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert garbage() is None
