import json

import keras
import numpy as np
import pandas as pd
import pytest

from kerasforge.errors import DataError, RecipeError, RunDirError
from kerasforge.recipes import load_recipe, train


def tiny(name="digits_mlp", **overrides):
    base = {
        "training.epochs": 2,
        "model.hidden": [16],
        "callbacks.activation_monitor.enabled": False,
    }
    return load_recipe(name, {**base, **overrides})


def test_run_folder_holds_every_artifact(tmp_path):
    run = train(tiny(), run_dir=tmp_path / "run", verbose=0)
    folder = tmp_path / "run"
    assert run.run_dir == folder
    for name in [
        "recipe.yaml",
        "history.csv",
        "metrics.json",
        "model.keras",
        "plots/loss.png",
        "plots/accuracy.png",
    ]:
        assert (folder / name).is_file(), name
    history = pd.read_csv(folder / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert {"loss", "val_loss", "accuracy", "grad_norm/global", "learning_rate"} <= set(history.columns)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["test"]["accuracy"] == pytest.approx(run.test_metrics["accuracy"])
    assert not list(tmp_path.glob(".*partial"))


def test_saved_model_loads_without_custom_objects_and_predicts_the_same_from_raw_columns(tmp_path):
    recipe = tiny(**{"training.learning_rate": {"schedule": "cosine", "peak": 0.01, "warmup_epochs": 1}})
    run = train(recipe, run_dir=tmp_path / "run", verbose=0)
    loaded = keras.models.load_model(tmp_path / "run" / "model.keras")
    raw = {name: values[:5] for name, values in run.data.raw["test"].items()}
    np.testing.assert_allclose(
        loaded.predict(raw, verbose=0), run.model.predict(run.data.x_test[:5], verbose=0), rtol=1e-5
    )


def test_resolved_recipe_reproduces_the_run(tmp_path):
    first = train(tiny(), run_dir=tmp_path / "first", verbose=0)
    again = train(load_recipe(tmp_path / "first" / "recipe.yaml"), run_dir=tmp_path / "again", verbose=0)
    assert again.history["loss"] == first.history["loss"]
    assert again.test_metrics == first.test_metrics


def test_same_seed_same_history_other_seed_differs():
    first = train(tiny(), write=False, verbose=0)
    second = train(tiny(), write=False, verbose=0)
    other = train(tiny(seed=123), write=False, verbose=0)
    assert first.history["loss"] == second.history["loss"]
    assert first.history["loss"] != other.history["loss"]


def test_second_run_never_overwrites_the_first(tmp_path):
    first = train(tiny(), runs_root=tmp_path, verbose=0)
    second = train(tiny(), runs_root=tmp_path, verbose=0)
    assert first.run_dir != second.run_dir
    assert (first.run_dir / "model.keras").is_file() and (second.run_dir / "model.keras").is_file()


def test_existing_run_dir_is_refused(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("earlier results")
    with pytest.raises(RunDirError, match=r"already exists and is not empty"):
        train(tiny(), run_dir=tmp_path / "taken", verbose=0)
    assert (tmp_path / "taken" / "keep.txt").read_text() == "earlier results"


def test_failed_run_leaves_nothing_behind(tmp_path):
    # The file goes missing after the recipe was loaded (load_recipe checks it is there).
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": range(30), "target": [0, 1] * 15}).to_csv(path, index=False)
    recipe = tiny(**{"data.source": str(path), "model.task": "binary"})
    path.unlink()
    with pytest.raises(DataError, match=r"data.csv' does not exist"):
        train(recipe, runs_root=tmp_path / "runs", verbose=0)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    "name, metric, floor",
    [("breast_cancer_mlp", "accuracy", 0.85), ("diabetes_regression", "r2_score", 0.2)],
)
def test_tasks_train_to_a_useful_model(name, metric, floor):
    run = train(
        load_recipe(name, {"training.epochs": 30, "callbacks.activation_monitor.enabled": False}),
        write=False,
        verbose=0,
    )
    assert run.test_metrics[metric] >= floor


def test_regression_reports_r2_and_mae():
    run = train(tiny("diabetes_regression"), write=False, verbose=0)
    assert {"loss", "r2_score", "mae"} <= set(run.test_metrics)


def test_batch_size_and_drop_remainder_set_updates_per_epoch(tmp_path):
    # 800 training rows at batch 150: 6 updates, the last of 50 rows; 5 when dropped.
    base = {
        "data.source": "synthetic",
        "model.task": "regression",
        "data.synthetic.rows": 1000,
        "data.split": {"train": 0.8, "val": 0.1, "test": 0.1},
        "training.batch_size": 150,
        "training.epochs": 1,
    }
    for drop, updates in [(False, 6), (True, 5)]:
        run = train(
            tiny(**base, **{"training.drop_remainder": drop}), run_dir=tmp_path / str(drop), verbose=0
        )
        metrics = json.loads((tmp_path / str(drop) / "metrics.json").read_text())
        assert metrics["updates_per_epoch"] == updates
        assert run.model.optimizer.iterations.numpy() == updates


def test_unknown_optimizer_argument_lists_allowed():
    with pytest.raises(RecipeError, match=r"unknown key `training.optimizer_args.momentun`.*momentum"):
        train(
            tiny(**{"training.optimizer": "sgd", "training.optimizer_args": {"momentun": 0.9}}),
            write=False,
            verbose=0,
        )


def test_early_stopping_on_val_loss_without_validation_split_is_refused():
    # Refused when the recipe is read, before any data is loaded or model built.
    with pytest.raises(RecipeError, match=r"early_stopping.monitor.*'val_loss'.*data.split.val"):
        tiny(**{"data.split": {"train": 0.8, "val": 0.0, "test": 0.2}})


@pytest.mark.parametrize("name", ["digits_mlp", "breast_cancer_mlp", "diabetes_regression"])
def test_bundled_healthy_recipes_fire_no_monitor_event(name):
    # The monitors are on by default in every bundled recipe; a healthy run must stay quiet.
    recipe = load_recipe(name, {"training.epochs": 8})
    assert recipe.callbacks.gradient_monitor.enabled and recipe.callbacks.activation_monitor.enabled
    run = train(recipe, write=False, verbose=0)
    assert run.events == []
    assert "grad_norm/global" in run.history and any(key.startswith("dead_fraction/") for key in run.history)
