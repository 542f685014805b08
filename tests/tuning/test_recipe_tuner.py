import keras_tuner as kt
import pytest

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
