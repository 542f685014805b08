import keras_tuner as kt
import pytest

from kerasforge.errors import TuningError
from kerasforge.tuning import SearchSpace


def _values(space, **fixed):
    hp = kt.HyperParameters()
    hp.values.update(fixed)
    return space.values(hp), hp


def test_two_layer_trial_carries_no_width_for_deeper_layers(tiny_recipe):
    space = SearchSpace(tiny_recipe(search={"layers": {"min": 1, "max": 5}, "units": [4, 8]}))
    values, hp = _values(space, layers=2)
    assert sorted(values) == ["layers", "units_1", "units_2"]
    assert not hp.is_active("units_5")
    assert space.overrides(values)["model.hidden"] == [4, 4]


def test_every_per_layer_width_is_declared_under_a_conditional_scope(tiny_recipe):
    space = SearchSpace(tiny_recipe(search={"layers": [1, 3], "units": [4, 8]}))
    _, hp = _values(space)
    conditions = {parameter.name: parameter.conditions for parameter in hp.space}
    assert set(conditions) == {"layers", "units_1", "units_2", "units_3"}
    assert conditions["units_2"][0].values == [3]


def test_shared_units_give_one_width_for_every_layer(tiny_recipe):
    space = SearchSpace(tiny_recipe(search={"layers": [3], "units": [16], "units_per_layer": False}))
    values, _ = _values(space)
    assert values == {"layers": 3, "units": 16}
    assert space.overrides(values)["model.hidden"] == [16, 16, 16]


def test_units_without_layers_keep_the_recipe_depth(tiny_recipe):
    space = SearchSpace(tiny_recipe(model={"hidden": [8, 8]}, search={"units": [4]}))
    values, _ = _values(space)
    assert space.overrides(values)["model.hidden"] == [4, 4]


@pytest.mark.parametrize(
    "field, value, key",
    [
        ("optimizer", ["sgd"], "training.optimizer"),
        ("batch_size", [64], "training.batch_size"),
        ("epochs", [5], "training.epochs"),
        ("dropout", [0.25], "model.dropout"),
        ("activation", ["tanh"], "model.activation"),
        ("batch_norm", [True], "model.batch_norm"),
        ("l2", [0.001], "model.l2"),
        ("learning_rate", [0.01], "training.learning_rate"),
    ],
)
def test_each_field_overrides_its_recipe_key(field, value, key, tiny_recipe):
    space = SearchSpace(tiny_recipe(search={field: value}))
    trial = space.trial_recipe(kt.HyperParameters())
    assert space.overrides(space.values(kt.HyperParameters())) == {key: value[0]}
    section, name = key.split(".")
    assert getattr(getattr(trial, section), name) == value[0]


def test_learning_rate_sets_the_peak_of_a_schedule(tiny_recipe):
    space = SearchSpace(
        tiny_recipe(training={"learning_rate": {"schedule": "cosine"}}, search={"learning_rate": [0.02]})
    )
    assert space.trial_recipe(kt.HyperParameters()).training.learning_rate.peak == 0.02


def test_recipe_without_search_section_uses_the_default_space(tiny_recipe):
    recipe = tiny_recipe(search=None)
    assert SearchSpace(recipe).tuned == [
        "layers",
        "units",
        "dropout",
        "optimizer",
        "learning_rate",
        "batch_size",
    ]


@pytest.mark.parametrize(
    "model, search, match",
    [
        ({"hidden": [8, 8], "freeze": 2}, {"layers": [1, 2]}, r"invalid recipe \(layers=1\).*freeze"),
    ],
)
def test_space_producing_an_invalid_recipe_is_rejected_at_load(model, search, match, tiny_recipe):
    with pytest.raises(TuningError, match=match):
        SearchSpace(tiny_recipe(model=model, search=search))


def test_space_requires_a_recipe():
    with pytest.raises(TypeError, match="Argument `recipe` must be a Recipe"):
        SearchSpace({"name": "x"})
