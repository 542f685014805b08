import pytest
import yaml

from kerasforge.errors import RecipeError, RecipeNotFoundError
from kerasforge.recipes import (
    apply_overrides,
    bundled_recipes,
    load_recipe,
    parse_overrides,
    recipe_to_yaml,
)
from kerasforge.recipes.schema.recipe import Recipe


def write_recipe(tmp_path, body):
    path = tmp_path / "recipe.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("name", ["digits_mlp", "breast_cancer_mlp", "diabetes_regression"])
def test_bundled_recipe_loads_by_name(name):
    recipe = load_recipe(name)
    assert recipe.name == name
    assert name in bundled_recipes()


def test_minimal_recipe_gets_every_default():
    recipe = load_recipe({"name": "tiny"})
    assert recipe.data.source == "digits"
    assert recipe.model.hidden_widths == [64, 64]
    assert recipe.callbacks.early_stopping.min_delta == 1e-4
    assert recipe.callbacks.early_stopping.monitor == "val_loss"


def test_learning_rate_written_as_1e_3_is_a_number(tmp_path):
    # PyYAML reads `1e-3` (no dot) as a string.
    path = write_recipe(tmp_path, "name: lr\ntraining:\n  learning_rate: 1e-3\n")
    assert load_recipe(path).training.learning_rate == pytest.approx(0.001)


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "model:\n  activaton: relu\n",
            r"unknown key `model.activaton` \(did you mean `model.activation`\?\)",
        ),
        ("trainin:\n  epochs: 3\n", r"unknown key `trainin` \(did you mean `training`\?\)"),
        ("training:\n  batch_size: 0\n", r"`training.batch_size`: .*greater than or equal to 1. Received: 0"),
        ("training:\n  epochs: many\n", r"`training.epochs`.*Received: 'many'"),
        ("model:\n  dropout: 1.5\n", r"`model.dropout`.*less than 1.*Received: 1.5"),
        (
            "model:\n  activation: relux\n",
            r"`model.activation`: 'relux' is not allowed; choose one of: 'relu'.*'leaky_relu'",
        ),
        (
            "model:\n  kernel_initializer: glorot\n",
            r"`model.kernel_initializer` must be one of 'glorot_uniform'.*Received: 'glorot'",
        ),
        (
            "training:\n  optimizer: adamx\n",
            r"`training.optimizer`: 'adamx' is not allowed; choose one of: 'sgd'.*'adam'",
        ),
        (
            "data:\n  split: {train: 0.5, val: 0.1, test: 0.1}\n",
            r"`data.split`: train \+ val \+ test must sum to 1",
        ),
        ("model:\n  hidden: [32]\n  layers: 2\n  units: 8\n", r"give either `hidden`"),
        (
            "training:\n  clipnorm: 1.0\n  global_clipnorm: 1.0\n",
            r"at most one of `clipnorm` and `global_clipnorm`",
        ),
        ("variants:\n  wide:\n    model.units: 0\n", r"variants.wide: .*`model.units`"),
    ],
)
def test_bad_recipe_names_key_value_and_allowed(tmp_path, body, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(write_recipe(tmp_path, "name: bad\n" + body))


def test_yaml_syntax_error_gives_line_number(tmp_path):
    path = write_recipe(tmp_path, "name: broken\nmodel:\n  hidden: [32, 16\ntraining: {}\n")
    with pytest.raises(RecipeError, match=r"YAML syntax error at line \d+.*line 3"):
        load_recipe(path)


@pytest.mark.parametrize("body", ["", "- a\n- b\n"])
def test_recipe_that_is_not_a_mapping_is_rejected(tmp_path, body):
    with pytest.raises(RecipeError, match=r"(empty|must be a YAML mapping)"):
        load_recipe(write_recipe(tmp_path, body))


def test_missing_recipe_file_is_named(tmp_path):
    with pytest.raises(RecipeNotFoundError, match=r"recipe file not found: '.*nowhere.yaml'"):
        load_recipe(tmp_path / "nowhere.yaml")


def test_unknown_bundled_name_lists_bundled_recipes():
    with pytest.raises(RecipeNotFoundError, match=r"bundled recipes: .*digits_mlp"):
        load_recipe("digits_mpl")


def test_overrides_parse_values_as_yaml():
    overrides = parse_overrides(["training.epochs=5", "model.hidden=[8, 4]", "training.learning_rate=1e-2"])
    recipe = load_recipe("digits_mlp", overrides)
    assert recipe.training.epochs == 5
    assert recipe.model.hidden == [8, 4]
    assert recipe.training.learning_rate == pytest.approx(0.01)


@pytest.mark.parametrize(
    "override, message",
    [
        ("training.epochs", r"--set expects KEY=VALUE.*Received: 'training.epochs'"),
        ("training.epochz=3", r"--set: unknown key `training.epochz` \(did you mean `training.epochs`\?\)"),
        ("training.epochs=-1", r"--set: `training.epochs`.*Received: -1"),
        ("training.epochs.value=3", r"`training.epochs` is a value \(50\), not a section"),
        ("model.hidden=[1, 2", r"cannot read the value '\[1, 2' as YAML"),
    ],
)
def test_bad_override_is_reported(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("digits_mlp", [override])


def test_override_does_not_change_the_original_recipe():
    recipe = load_recipe("digits_mlp")
    changed = apply_overrides(recipe, {"training.epochs": 1})
    assert changed.training.epochs == 1
    assert recipe.training.epochs == 50


def test_a_deeper_override_leaves_the_callers_section_mapping_as_it_was():
    # The fault zoo's datasets share one `data.synthetic` mapping; an entry that set a key inside it
    # used to write into that mapping, and every later recipe built from it got the key too.
    synthetic = {"rows": 200, "features": 4}
    overrides = {"data.source": "synthetic", "data.synthetic": synthetic, "data.synthetic.rows": 50}
    assert load_recipe("diabetes_regression", overrides).data.synthetic.rows == 50
    assert synthetic == {"rows": 200, "features": 4}
    assert load_recipe("diabetes_regression", {"data.synthetic": synthetic}).data.synthetic.rows == 200


def test_resolved_yaml_round_trips(tmp_path):
    recipe = load_recipe(
        "digits_mlp", ["training.learning_rate={schedule: cosine, peak: 0.01, warmup_epochs: 2}"]
    )
    text = recipe_to_yaml(recipe)
    assert "min_delta" in text  # every default is written out
    path = write_recipe(tmp_path, text)
    assert load_recipe(path) == recipe
    assert yaml.safe_load(text)["training"]["learning_rate"]["schedule"] == "cosine"


def test_json_schema_describes_every_section():
    schema = Recipe.model_json_schema()
    assert {"data", "model", "training", "callbacks"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
