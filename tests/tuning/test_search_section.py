import pytest

from kerasforge.errors import RecipeError, TuningError
from kerasforge.recipes import load_recipe
from kerasforge.recipes.schema.search import PowersOfTwo, SearchSection
from kerasforge.tuning.search_arguments import check_search_arguments


def _search(section):
    return load_recipe({"name": "x", "search": section}).search


def test_fields_left_out_are_not_tuned():
    assert _search({"learning_rate": {"min": 1e-4, "max": 1e-2}}).tuned == ["learning_rate"]


def test_learning_rate_range_is_log_by_default():
    assert _search({"learning_rate": {"min": 1e-4, "max": 1e-2}}).learning_rate.sampling == "log"


def test_powers_of_two_range_lists_every_power():
    assert PowersOfTwo(min=16, max=128).values == [16, 32, 64, 128]


def test_default_space_tunes_layers_units_dropout_optimizer_rate_and_batch():
    assert SearchSection.default().tuned == [
        "layers",
        "units",
        "dropout",
        "optimizer",
        "learning_rate",
        "batch_size",
    ]


@pytest.mark.parametrize(
    "section, match",
    [
        ({"layers": {"min": 3, "max": 1}}, "`min` must be <= `max`"),
        ({"learning_rate": {"min": 0, "max": 1}}, "log sampling needs `min` > 0"),
        ({"batch_size": {"min": 12, "max": 64}}, "must be a power of two"),
        ({"batch_size": [32, 32]}, "lists a choice twice"),
        ({"optimizer": []}, "at least one choice"),
        ({"units": [0, 8]}, "choices must be >= 1"),
        ({"optimizer": ["adamm"]}, "search.optimizer"),
        ({"layer": [1, 2]}, "did you mean `search.layers`"),
    ],
)
def test_invalid_sections_are_rejected(section, match):
    with pytest.raises(RecipeError, match=match):
        _search(section)


@pytest.mark.parametrize("strategy", ["mirrored", "data_parallel"])
def test_a_search_of_a_distributed_recipe_is_one_clear_error(strategy, tiny_recipe):
    recipe = tiny_recipe(training={"epochs": 2, "distribute": {"strategy": strategy}})
    with pytest.raises(TuningError, match=rf"training.distribute.strategy: .*Received: '{strategy}'"):
        check_search_arguments(recipe)


def test_a_search_accepts_the_strategies_that_leave_a_trial_on_one_device(tiny_recipe):
    for strategy in ("none", "auto"):
        check_search_arguments(tiny_recipe(training={"epochs": 2, "distribute": {"strategy": strategy}}))
