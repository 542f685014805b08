"""`compare` trains every variant on one split and writes the table, curves and reports."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

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


SEEDED = {
    **SMALL,
    "training": {"epochs": 3},
    "claims": [
        {"variant": "mini_batch", "beats": "large_batch", "metric": "train_loss"},
        {"variant": "large_batch", "beats": "mini_batch", "metric": "train_loss"},
    ],
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare") / "seeded"
    return compare(load_recipe(SEEDED), run_dir=folder, verbose=0, seeds=3)


@pytest.mark.slow
def test_compare_over_seeds_writes_mean_std_and_interval_columns(seeded):
    folder = seeded.run_dir
    table = pd.read_csv(folder / "comparison.csv")
    assert list(table.columns) == [
        "variant",
        "metric",
        "seeds",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "baseline",
        "diff_vs_baseline",
        "diff_ci_low",
        "diff_ci_high",
    ]
    rows = table.set_index(["variant", "metric"])
    assert {"train_loss", "val_loss", "test_accuracy", "seconds_per_epoch"} <= set(table["metric"])
    assert (rows["seeds"] == 3).all()
    assert (table["baseline"] == "mini_batch").all()
    per_seed = pd.read_csv(folder / "seeds.csv")
    assert sorted(per_seed["seed"].unique()) == [3, 4, 5]
    losses = per_seed.pivot(index="seed", columns="variant", values="train_loss")
    assert rows.loc[("large_batch", "train_loss"), "mean"] == pytest.approx(losses["large_batch"].mean())
    assert rows.loc[("large_batch", "train_loss"), "std"] == pytest.approx(losses["large_batch"].std())
    difference = losses["large_batch"] - losses["mini_batch"]
    assert rows.loc[("large_batch", "train_loss"), "diff_vs_baseline"] == pytest.approx(difference.mean())
    low, high = rows.loc[("large_batch", "train_loss"), ["ci_low", "ci_high"]]
    assert low < losses["large_batch"].mean() < high


@pytest.mark.slow
def test_compare_over_seeds_keeps_one_comparison_per_seed_and_banded_plots(seeded):
    folder = seeded.run_dir
    for seed in (3, 4, 5):
        assert (folder / f"seed_{seed}" / "comparison.csv").is_file()
        for variant in ("mini_batch", "large_batch"):
            assert (folder / f"seed_{seed}" / variant / "model.keras").is_file()
    assert seeded.record("large_batch", seed=4).recipe.seed == 4
    assert {"loss.png", "accuracy.png", "grad_norm_heatmaps.png"} <= {
        path.name for path in (folder / "plots").glob("*.png")
    }
    report = (folder / "report.html").read_text()
    assert "Mean ± std over 3 seeds" in report and "Claims" in report


@pytest.mark.slow
def test_seeds_change_the_split_and_the_initialisation_alike_for_every_variant(seeded):
    first = seeded.record("mini_batch", seed=3).history["loss"].iloc[0]
    assert first != seeded.record("mini_batch", seed=4).history["loss"].iloc[0]
    per_seed = seeded.per_seed
    assert per_seed.groupby("seed")["variant"].apply(list).tolist() == [["mini_batch", "large_batch"]] * 3


@pytest.mark.slow
def test_compare_checks_each_claim_with_its_paired_interval(seeded):
    claims = pd.read_csv(seeded.run_dir / "claims.csv")
    assert list(claims["seeds"]) == [3, 3]
    # The two claims contradict each other: at most one holds, and the gains are opposite.
    assert claims["gain"][0] == pytest.approx(-claims["gain"][1])
    assert claims["held"].sum() <= 1
    for row in claims.itertuples():
        assert row.held == (row.ci_low > 0)


def test_seeds_and_workers_must_be_positive_integers(tmp_path):
    with pytest.raises(RecipeError, match=r"Argument `seeds` must be an integer >= 1. Received: seeds=0"):
        compare(load_recipe(SMALL), run_dir=tmp_path / "x", verbose=0, seeds=0)
    with pytest.raises(
        RecipeError, match=r"Argument `workers` must be an integer >= 1. Received: workers=1.5"
    ):
        compare(load_recipe(SMALL), run_dir=tmp_path / "x", verbose=0, workers=1.5)
    assert not (tmp_path / "x").exists()


def test_a_claim_on_a_custom_metric_of_unknown_direction_fails_before_training(tmp_path):
    recipe = load_recipe(
        {
            **SMALL,
            "model": {"hidden": [16], "metrics": ["accuracy", "mystery"]},
            "claims": [{"variant": "mini_batch", "beats": "large_batch", "metric": "test_mystery"}],
        }
    )
    with pytest.raises(RecipeError, match=r"`claims.0.metric`: cannot tell whether 'test_mystery' is better"):
        compare(recipe, run_dir=tmp_path / "x", verbose=0)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_cli_compare_prints_each_claim_and_whether_it_held(tmp_path, capsys):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({**SEEDED, "training": {"epochs": 1}}))
    status = main(["compare", str(path), "--seeds", "2", "--quiet", "--run-dir", str(tmp_path / "c")])
    assert status == 0
    out = capsys.readouterr().out
    assert "claims (paired 95% interval of the gain, better is positive):" in out
    lines = [line for line in out.splitlines() if "HELD" in line]
    assert len(lines) == 2 and all(line.endswith("(2 seeds)") for line in lines)
    assert any("`mini_batch` beats `large_batch` on train_loss" in line for line in lines)
    assert (tmp_path / "c" / "claims.csv").is_file()


def test_cli_compare_rejects_zero_seeds(capsys):
    with pytest.raises(SystemExit, match="2"):
        main(["compare", "digits_mlp", "--seeds", "0"])
    assert "--seeds: expected a whole number >= 1. Received: 0" in capsys.readouterr().err


@pytest.mark.slow
def test_seeds_in_worker_processes_give_the_same_rows(seeded, tmp_path):
    parallel = compare(load_recipe(SEEDED), run_dir=tmp_path / "parallel", verbose=0, seeds=2, workers=2)
    columns = ["seed", "variant", "train_loss", "val_loss", "test_accuracy", "findings"]
    sequential = seeded.per_seed[seeded.per_seed["seed"] < 5][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(parallel.per_seed[columns], sequential)
    assert parallel.runs == {}
