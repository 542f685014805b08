"""`compare` trains every variant on one split and writes the table, curves and reports."""

import math

import numpy as np
import pandas as pd
import pytest

from kerasforge.cli import main
from kerasforge.errors import RecipeError, RunDirError
from kerasforge.recipes import compare, load_recipe

SMALL = {
    "name": "small_compare",
    "seed": 3,
    "data": {"source": "digits", "max_train_rows": 200},
    "model": {"hidden": [16]},
    "training": {"epochs": 2},
    "callbacks": {"early_stopping": {"enabled": False}},
    "variants": {"mini_batch": {"training.batch_size": 32}, "large_batch": {"training.batch_size": 150}},
}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare") / "small"
    return compare(load_recipe(SMALL), run_dir=folder, verbose=0)


def test_compare_writes_one_run_folder_per_variant_and_the_table(comparison):
    folder = comparison.run_dir
    for variant in ("mini_batch", "large_batch"):
        for name in ("recipe.yaml", "history.csv", "metrics.json", "model.keras", "report.html"):
            assert (folder / variant / name).is_file()
    table = pd.read_csv(folder / "comparison.csv")
    assert list(table["variant"]) == ["mini_batch", "large_batch"]
    for column in (
        "updates_per_epoch",
        "seconds_per_epoch",
        "train_loss",
        "val_loss",
        "gap",
        "test_accuracy",
        "findings",
    ):
        assert column in table
    assert (folder / "report.html").is_file()
    assert (folder / "loss_by_epoch.csv").is_file()


def test_updates_per_epoch_is_rows_over_batch_size_rounded_up(comparison):
    table = comparison.table.set_index("variant")
    assert table.loc["mini_batch", "updates_per_epoch"] == math.ceil(200 / 32)
    assert table.loc["large_batch", "updates_per_epoch"] == math.ceil(200 / 150)


def test_variants_train_on_the_very_same_split(comparison):
    first, second = comparison.runs["mini_batch"].data, comparison.runs["large_batch"].data
    assert first is second
    np.testing.assert_array_equal(first.x_test, second.x_test)


def test_variant_run_folders_hold_the_resolved_variant_recipe(comparison):
    recipe = load_recipe(comparison.run_dir / "large_batch" / "recipe.yaml")
    assert recipe.training.batch_size == 150
    assert recipe.variants == {}


def test_compare_writes_overlaid_curves_and_gradient_heatmaps(comparison):
    plots = {path.name for path in (comparison.run_dir / "plots").glob("*.png")}
    assert {"loss.png", "accuracy.png", "grad_norm_heatmaps.png"} <= plots


def test_gap_is_val_loss_minus_train_loss_of_the_returned_model(comparison):
    row = comparison.table.iloc[0]
    assert row["gap"] == pytest.approx(row["val_loss"] - row["train_loss"])


def test_compare_without_variants_is_a_recipe_error(tmp_path):
    recipe = load_recipe({**SMALL, "variants": {}})
    with pytest.raises(RecipeError, match="has no `variants:` section"):
        compare(recipe, run_dir=tmp_path / "none", verbose=0)
    assert not (tmp_path / "none").exists()


def test_init_from_must_name_an_earlier_variant(tmp_path):
    variants = {"first": {"model.init_from": "variant:second"}, "second": {}}
    with pytest.raises(RecipeError, match="must name a variant listed before it"):
        compare(load_recipe({**SMALL, "variants": variants}), run_dir=tmp_path / "x", verbose=0)


@pytest.mark.parametrize("name", ["../escape", "plots", ""])
def test_variant_names_must_be_safe_folder_names(tmp_path, name):
    recipe = load_recipe({**SMALL, "variants": {name: {}}})
    with pytest.raises(RecipeError, match="cannot name a run folder"):
        compare(recipe, run_dir=tmp_path / "x", verbose=0)


def test_compare_refuses_a_non_empty_run_dir(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        compare(load_recipe(SMALL), run_dir=tmp_path / "taken", verbose=0)


def test_cli_compare_without_variants_exits_2_with_one_line(tmp_path, capsys):
    status = main(["compare", "digits_mlp", "--run-dir", str(tmp_path / "c")])
    assert status == 2
    assert "has no `variants:` section" in capsys.readouterr().err


@pytest.mark.slow
def test_a_variant_started_from_another_records_the_published_model(tmp_path):
    variants = {"source": {}, "transfer": {"model.init_from": "variant:source", "model.freeze": 1}}
    result = compare(load_recipe({**SMALL, "variants": variants}), run_dir=tmp_path / "cmp", verbose=0)
    # The variants trained in the hidden staging folder; their files name the final one.
    published = str(tmp_path / "cmp" / "source" / "model.keras")
    assert load_recipe(tmp_path / "cmp" / "transfer" / "recipe.yaml").model.init_from == published
    assert result.runs["transfer"].recipe.model.init_from == published
    assert result.runs["transfer"].run_dir == tmp_path / "cmp" / "transfer"
    assert ".partial" not in (tmp_path / "cmp" / "transfer" / "report.html").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cmp"]
