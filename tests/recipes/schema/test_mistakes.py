"""Recipe mistakes that used to pass silently or crash: each is one `KerasforgeError` line."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import DataError, RecipeError
from kerasforge.recipes import apply_overrides, load_recipe, parse_overrides, recipe_to_yaml
from kerasforge.recipes.engine.prepare_data import check_recipe_data, prepare_data
from kerasforge.vocabulary import log_keys


def write(tmp_path, body, name="recipe.yaml"):
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return path


# --- files that are not UTF-8 YAML -------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


@pytest.mark.parametrize(
    "content, message",
    [
        ("name: café\n".encode("latin-1"), r"not UTF-8: byte 0xe9 at line 1.*Latin-1"),
        (b"\x00\x01\xfe\xff\x80garbage", r"not UTF-8: byte 0xfe at line 1.*binary file"),
        (PNG, r"this is a PNG image, not a YAML recipe"),
        (b"PK\x03\x04rest of a zip", r"zip archive"),
    ],
)
def test_a_recipe_that_is_not_utf8_text_is_one_error(tmp_path, content, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(write(tmp_path, content))


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    assert load_recipe(write(tmp_path, "\ufeffname: bom\n")).name == "bom"


# --- YAML oddities --------------------------------------------------------------------------


def test_duplicate_section_names_both_lines(tmp_path):
    body = "name: dup\ntraining:\n  epochs: 3\nmodel:\n  hidden: [16]\ntraining:\n  batch_size: 64\n"
    with pytest.raises(RecipeError, match=r"duplicate key `training` at line 6 \(first at line 2\)"):
        load_recipe(write(tmp_path, body))


def test_duplicate_nested_key_names_its_path(tmp_path):
    body = "model:\n  hidden: [8]\n  activation: relu\n  hidden: [16]\n"
    with pytest.raises(RecipeError, match=r"duplicate key `model.hidden` at line 4 \(first at line 2\)"):
        load_recipe(write(tmp_path, body))


def test_duplicate_key_in_a_set_value_names_columns():
    with pytest.raises(RecipeError, match=r"--set training: .*duplicate key `epochs` at line 1, column 13"):
        parse_overrides(["training={epochs: 1, epochs: 2}"])


def test_merge_keys_may_be_overridden_beside_them(tmp_path):
    # `<<: *base` then a key of its own is YAML's way to override, not a duplicate.
    body = "model:\n  <<: {hidden: [8], activation: tanh}\n  hidden: [16]\n"
    recipe = load_recipe(write(tmp_path, body))
    assert recipe.model.hidden == [16] and recipe.model.activation == "tanh"


@pytest.mark.parametrize(
    "body, message",
    [
        ("name: !!python/object/apply:os.system [ls]\n", r"YAML error.*no Python tags"),
        ("name: a\n---\nname: b\n", r"expected a single document"),
        ("seed: !!int abc\n", r"cannot read a value: invalid literal for int"),
        ("name: !!timestamp 2001-13-45\n", r"cannot read a value: month must be in 1..12"),
        ("variants: &a {x: *a}\n", r"`variants.x` at line 1 contains itself through an alias"),
        ('description: "\\ud800"\n', r"`description` at line 1 holds '\\ud800', which is not a Unicode"),
        ("name: x\nvariants: " + "[" * 3000 + "]" * 3000 + "\n", r"nested too deeply"),
        (
            "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
            r"expands to more than 100,000 values through aliases",
        ),
        ("Model:\n  hidden: [8]\n", r"unknown key `Model` \(did you mean `model`\?\)"),
    ],
)
def test_yaml_oddities_are_one_error(tmp_path, body, message):
    with pytest.raises(RecipeError, match=message) as caught:
        load_recipe(write(tmp_path, body))
    assert "\n" not in str(caught.value)


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, -1e-3, math.inf, -math.inf, math.nan])
@pytest.mark.parametrize(
    "key, shown",
    [
        ("training.learning_rate", "training.learning_rate"),
        ("training.learning_rate.peak", "training.learning_rate.peak"),
        ("search.learning_rate", "search.learning_rate.1"),
    ],
)
def test_learning_rates_must_be_finite_and_positive(key, shown, value):
    overrides = {key: [1e-3, value] if key.startswith("search") else value}
    if key.endswith("peak"):
        overrides = {"training.learning_rate": {"schedule": "cosine", "peak": value}}
    with pytest.raises(RecipeError, match=r"(greater than 0|finite number)\. Received: ") as caught:
        load_recipe("digits_mlp", overrides)
    assert str(caught.value).startswith(f"--set: `{shown}`: ")
    assert str(caught.value).endswith(f"Received: {value!r}")


@pytest.mark.parametrize(
    "key, value",
    [
        ("training.learning_rate", {"final": math.inf}),
        ("model.dropout", math.nan),
        ("model.l1", math.inf),
        ("model.l2", math.nan),
        ("training.clipnorm", math.inf),
        ("training.clipvalue", math.nan),
        ("callbacks.early_stopping.min_delta", math.nan),
        ("callbacks.early_stopping.divergence_threshold", math.inf),
        ("callbacks.early_stopping.stopping_threshold", math.nan),
        ("callbacks.gradient_monitor.exploding_threshold", math.inf),
        ("data.synthetic.noise", math.inf),
        ("model.kernel_initializer", {"name": "random_normal", "mean": math.nan}),
        ("search.dropout", {"min": 0.0, "max": math.inf}),
        ("search.l2", [math.nan]),
    ],
)
def test_no_recipe_number_may_be_inf_or_nan(key, value):
    with pytest.raises(RecipeError, match=r"finite number"):
        load_recipe("digits_mlp", {key: value})


def test_optimizer_args_must_be_finite():
    with pytest.raises(RecipeError, match=r"`training.optimizer_args`: `momentum` must be a finite number"):
        load_recipe("digits_mlp", {"training.optimizer": "sgd", "training.optimizer_args.momentum": math.nan})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"search.dropout": [0.2, 1.5]}, r"`search.dropout.1`: input should be less than 1. Received: 1.5"),
        ({"search.dropout": {"min": 0.0, "max": 1.5}}, r"`dropout` rates must be < 1"),
        (
            {"search.learning_rate": {"min": 0.0, "max": 0.1, "sampling": "linear"}},
            r"`learning_rate` must be > 0",
        ),
        ({"seed": 2**40}, r"`seed`: input should be less than or equal to 4294967295"),
        ({"training.batch_size": 2**40}, r"`training.batch_size`: input should be less than or equal"),
        (
            {"data.synthetic.rows": 10**7, "data.synthetic.features": 10**3},
            r"rows x features must be at most",
        ),
        (
            {"model.kernel_initializer": {"name": "random_uniform", "minval": 1, "maxval": 0}},
            r"`minval` must be < `maxval`",
        ),
        ({"training.steps_per_execution": 0}, r"`training.steps_per_execution`: input should be greater"),
        ({"data.scale_target": True}, r"`data.scale_target` standardises a regression target, but"),
        ({"data.synthetic.target_scale": 0}, r"`data.synthetic.target_scale`: input should be greater"),
        ({"data.synthetic.target_scale": 10}, r"`model.task` is 'multiclass'. Received: 10.0; leave it at 1"),
    ],
)
def test_out_of_range_numbers_are_refused(overrides, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("digits_mlp", overrides)


@pytest.mark.parametrize("text, epochs", [("1e3", 1000), ("1.0e3", 1000), ("1000.0", 1000), ("2e0", 2)])
def test_whole_number_fields_take_exponent_notation(tmp_path, text, epochs):
    assert load_recipe("digits_mlp", [f"training.epochs={text}"]).training.epochs == epochs
    path = write(tmp_path, f"training:\n  epochs: {text}\n  learning_rate: 3e-4\n")
    recipe = load_recipe(path)
    assert recipe.training.epochs == epochs and recipe.training.learning_rate == pytest.approx(3e-4)


def test_a_fraction_in_a_whole_number_field_is_refused():
    with pytest.raises(RecipeError, match=r"`training.epochs`: .*fractional part. Received: 1.5"):
        load_recipe("digits_mlp", ["training.epochs=1.5"])


# --- messages that used to be garbled --------------------------------------------------------


def test_search_range_min_above_max_reads_plainly():
    message = "--set: `search.layers`: `min` must be <= `max`. Received: min=3, max=1"
    with pytest.raises(RecipeError, match=re.escape(message)) as caught:
        load_recipe("digits_mlp", {"search.layers": {"min": 3, "max": 1}})
    assert str(caught.value) == message


def test_a_schedule_with_a_bad_field_names_that_field():
    message = "--set: `training.learning_rate.peak`: input should be greater than 0. Received: -1"
    with pytest.raises(RecipeError, match=re.escape(message)) as caught:
        load_recipe("digits_mlp", {"training.learning_rate": {"peak": -1}})
    assert str(caught.value) == message


# --- early stopping must watch a key the run logs ------------------------------------------


@pytest.mark.parametrize(
    "overrides, monitor, hint",
    [
        ({}, "val_acc", "val_accuracy"),
        ({}, "acc", "accuracy"),
        ({"model.metrics": ["auc"]}, "val_accuracy", "val_auc"),
        ({"model.task": "regression"}, "val_r2", "val_r2_score"),
        ({"callbacks.gradient_monitor.enabled": False}, "grad_norm/global", None),
    ],
)
def test_early_stopping_on_a_key_never_logged_is_refused(overrides, monitor, hint):
    overrides = {**overrides, "callbacks.early_stopping.monitor": monitor}
    with pytest.raises(
        RecipeError, match=rf"monitor` is '{monitor}', which this recipe's run does not log"
    ) as e:
        load_recipe("digits_mlp", overrides)
    if hint:
        assert f"did you mean '{hint}'?" in str(e.value)
    assert "Logged keys: loss, " in str(e.value)


@pytest.mark.parametrize(
    "overrides, monitor",
    [
        ({}, "val_accuracy"),
        ({}, "loss"),
        ({}, "grad_norm/global"),
        ({}, "dead_fraction/hidden_1"),
        ({"model.metrics": ["acc", "auc"]}, "val_acc"),
        ({"model.task": "regression"}, "val_mae"),
        ({"callbacks.early_stopping.enabled": False}, "anything"),
    ],
)
def test_early_stopping_on_a_logged_key_is_accepted(overrides, monitor):
    recipe = load_recipe("digits_mlp", {**overrides, "callbacks.early_stopping.monitor": monitor})
    assert recipe.callbacks.early_stopping.monitor == monitor


def test_the_monitor_check_covers_variants():
    with pytest.raises(RecipeError, match=r"variants.v: .*'val_acc', which this recipe's run does not log"):
        load_recipe("digits_mlp", {"variants": {"v": {"callbacks.early_stopping.monitor": "val_acc"}}})


# --- data paths -----------------------------------------------------------------------------


def csv(path, rows=60):
    frame = pd.DataFrame({"a": range(rows), "b": [i % 7 for i in range(rows)], "label": [0, 1] * (rows // 2)})
    frame.to_csv(path, index=False)
    return path


def data_recipe(folder, source="data.csv", **data):
    lines = ", ".join([f"source: {source}", "target: label", *(f"{k}: {v}" for k, v in data.items())])
    return write(folder, f"name: rel\ndata: {{{lines}}}\nmodel: {{task: binary, hidden: [4]}}\n")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """`tmp_path/project/` holding `data.csv` and a recipe naming it; the current folder is `tmp_path`."""
    folder = tmp_path / "project"
    folder.mkdir()
    csv(folder / "data.csv")
    monkeypatch.chdir(tmp_path)
    return folder


def test_a_relative_data_path_is_found_beside_the_recipe(project):
    data_recipe(project)
    recipe = load_recipe("project/recipe.yaml")
    assert recipe.data.source == "project/data.csv"
    assert "source: project/data.csv" in recipe_to_yaml(recipe)
    assert prepare_data(recipe).input_dim == 2


def test_a_relative_data_path_falls_back_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "recipes").mkdir()
    csv(tmp_path / "data.csv")
    path = data_recipe(tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    assert load_recipe(path).data.source == "data.csv"


def test_a_missing_data_file_names_every_place_looked(tmp_path, monkeypatch):
    (tmp_path / "project").mkdir()
    path = data_recipe(tmp_path / "project")
    monkeypatch.chdir(tmp_path)
    beside, here = tmp_path / "project" / "data.csv", tmp_path / "data.csv"
    with pytest.raises(DataError, match=rf"does not exist; looked at: {beside}, {here}$"):
        load_recipe(path)


def test_a_set_data_path_is_relative_to_the_current_folder(tmp_path, project):
    path = data_recipe(project)
    with pytest.raises(DataError, match=rf"--set: `data.source`: .*looked at: {tmp_path / 'data.csv'}$"):
        load_recipe(path, ["data.source=data.csv"])
    assert load_recipe(path, ["data.source=project/data.csv"]).data.source == "project/data.csv"


def test_a_variant_data_path_is_found_beside_the_recipe(project):
    csv(project / "other.csv")
    path = data_recipe(project)
    path.write_text(path.read_text() + "variants:\n  other: {data.source: other.csv}\n")
    assert load_recipe(path).variants["other"]["data.source"] == str(project / "other.csv")


# --- data checks ----------------------------------------------------------------------------


def test_a_target_listed_as_a_feature_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv(tmp_path / "data.csv")
    recipe = load_recipe(data_recipe(tmp_path, features="[a, b, label]"))
    with pytest.raises(DataError, match=r"`data.features` lists the target column 'label'"):
        prepare_data(recipe)


@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_a_continuous_target_for_classification_suggests_regression(task):
    recipe = load_recipe("diabetes_regression", {"model.task": task})
    with pytest.raises(DataError, match=rf"214 distinct numbers .* for task {task}. Use task regression"):
        prepare_data(recipe)


def test_placeholders_are_named_and_na_values_fixes_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame({"age": [str(20 + i % 30) for i in range(100)], "label": [0, 1] * 50})
    frame.loc[::10, "age"] = "?"
    frame.loc[5, "age"] = "n/a"
    frame.to_csv(tmp_path / "data.csv", index=False)
    path = data_recipe(tmp_path)
    with pytest.raises(
        DataError, match=r"Column 'age' holds numbers except for .*'\?' \(\d+\).*data.na_values"
    ):
        prepare_data(load_recipe(path))
    fixed = load_recipe(path, ["data.na_values=['?', n/a]", "data.missing=median"])
    data = prepare_data(fixed)
    assert data.feature_names == ["age"]  # one numeric input, not a one-hot level per age


def test_validate_data_checks_every_variant(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv(tmp_path / "data.csv")
    path = data_recipe(tmp_path)
    path.write_text(path.read_text() + "variants:\n  wrong: {data.target: price}\n")
    with pytest.raises(DataError, match=r"Target column 'price' is not in the data"):
        check_recipe_data(load_recipe(path))
    assert "train/val/test rows, 2 inputs, 1 outputs" in check_recipe_data(load_recipe(data_recipe(tmp_path)))


# --- the README's examples --------------------------------------------------------------------


def test_readme_apply_overrides_example_works_on_the_default_recipe():
    recipe = load_recipe("digits_mlp")
    assert apply_overrides(recipe, {"model.hidden": [256, 128]}).model.hidden_widths == [256, 128]
    assert apply_overrides(recipe, ["model.hidden=[256, 128]"]).model.hidden_widths == [256, 128]
    with pytest.raises(RecipeError, match=r"give either `hidden`"):
        apply_overrides(recipe, {"model.units": 64})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({1: 2}, r"a key must be a dotted string. Received: 1"),
        ({"training..epochs": 2}, r"key 'training..epochs' has an empty part"),
        ({"training.epochs.x": 1}, r"`training.epochs` is a value \(50\), not a section"),
    ],
)
def test_bad_override_keys_are_one_error(overrides, message):
    with pytest.raises(RecipeError, match=message):
        apply_overrides(load_recipe("digits_mlp"), overrides)


@pytest.mark.parametrize(
    "task, source, activation",
    [("multiclass", "digits", "relu"), ("regression", "diabetes", "tanh")],
)
def test_every_key_a_run_logs_is_a_monitor_the_recipe_accepts(task, source, activation):
    from kerasforge.recipes import train

    overrides = {
        "data.source": source,
        "model.task": task,
        "model.activation": activation,
        "model.hidden": [8],
        "model.batch_norm": True,
        "training.epochs": 1,
    }
    run = train(load_recipe({"name": "keys"}, overrides), write=False, verbose=0)
    recipe = load_recipe({"name": "keys"}, overrides)
    logged = set(run.history)
    for key in logged:
        load_recipe({"name": "keys"}, {**overrides, "callbacks.early_stopping.monitor": key})
    plain = {key for key in recipe.logged_keys() if "/<layer>" not in key}
    assert plain <= logged
    prefixes = {key.split("/")[0] for key in logged if "/" in key}
    assert set(log_keys.GRADIENT_QUANTITIES) <= prefixes
    assert prefixes <= {key.split("/")[0] for key in recipe.logged_keys() if "/<layer>" in key}


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"search": {"units": {"min": 0, "max": 8}}},
            r"`units` choices must be >= 1. Received: units=\{min: 0",
        ),
        ({"search": {"layers": [-1, 2]}}, r"`layers` choices must be >= 0. Received: layers=\[-1, 2\]"),
    ],
)
def test_settings_that_cannot_work_together_are_refused(overrides, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("digits_mlp", overrides)


def test_a_folder_given_as_the_recipe_says_so(tmp_path):
    from kerasforge.errors import RecipeNotFoundError

    with pytest.raises(RecipeNotFoundError, match=r"is a folder; give a recipe .yaml file in it"):
        load_recipe(str(tmp_path))


def test_stratifying_a_continuous_regression_target_says_why_it_cannot():
    recipe = load_recipe("diabetes_regression", {"data.stratify": True})
    with pytest.raises(
        DataError, match=r"regression, so the split keeps the share of each of the 214 distinct"
    ):
        prepare_data(recipe)


def test_stratifying_a_regression_target_with_few_values_keeps_each_value_in_every_split():
    recipe = load_recipe("digits_mlp", {"model.task": "regression", "data.stratify": True})
    data = prepare_data(recipe)
    assert set(np.unique(data.y_test)) == set(range(10))
