import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from kerasforge.errors import TuningError
from kerasforge.recipes import load_recipe, recipe_to_yaml, train
from kerasforge.tuning import load_histories, load_trials, run_search

# Every test here runs a real search of several trials.
pytestmark = pytest.mark.slow

TINY_SEARCH = {"layers": {"min": 1, "max": 2}, "units": [4, 8], "batch_size": [16, 32]}


@pytest.mark.parametrize("tuner, max_trials", [("random", 2), ("bayesian", 1), ("grid", 1), ("hyperband", 2)])
def test_every_tuner_runs_and_writes_the_results(tuner, max_trials, tiny_recipe, tmp_path, capsys):
    recipe = tiny_recipe(training={"epochs": 3, "batch_size": 32})
    # Without pruning: every trial must run to its end here (tiny nets may look sick to the pruner).
    result = run_search(recipe, tuner=tuner, max_trials=max_trials, run_dir=tmp_path / "s", prune="none")
    output = capsys.readouterr().out
    assert (
        f"trial {max_trials} of {max_trials}" in output and "| best " in output and "| elapsed 0:" in output
    )
    assert "top trials by val_loss" in output
    assert ("bracket 1: " in output) == (tuner == "hyperband")
    trials = pd.read_csv(tmp_path / "s" / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == max_trials
    assert (trials["status"] == "COMPLETED").all()
    expected = {"trial_id", "status", "layers", "units_1", "batch_size", "val_loss", "best_epoch", "seconds"}
    assert expected <= set(trials.columns)
    assert trials["val_loss"].min() == pytest.approx(result.best_score)
    loaded = load_trials(tmp_path / "s")
    assert list(loaded["trial_id"]) == list(trials["trial_id"])
    assert list(loaded["val_loss"]) == pytest.approx(list(trials["val_loss"]))
    histories = load_histories(tmp_path / "s")
    assert list(histories.columns) == ["trial_id", "epoch", "metric", "value"]
    assert {"loss", "val_loss", "accuracy"} <= set(histories["metric"])
    assert set(histories["trial_id"]) == set(trials["trial_id"])
    for plot in ("objective_by_trial", "batch_size", "layers"):
        assert (tmp_path / "s" / "plots" / f"{plot}.png").exists()
    if "units_2" in trials:
        assert trials.loc[trials["layers"] == 1, "units_2"].isna().all()


def test_best_recipe_reproduces_the_best_trial(tiny_recipe, tmp_path):
    result = run_search(tiny_recipe(), max_trials=1, run_dir=tmp_path / "s", verbose=0)
    best = load_recipe(tmp_path / "s" / "best_recipe.yaml")
    assert best.search is None
    assert best.model.hidden == result.best_recipe.model.hidden
    run = train(best, write=False, verbose=0)
    assert min(run.history["val_loss"]) == pytest.approx(result.best_score, abs=1e-3)


def test_failed_trial_is_recorded_with_its_reason_and_the_search_goes_on(tiny_recipe, tmp_path):
    recipe = tiny_recipe(
        training={"epochs": 2, "optimizer": "sgd"},
        callbacks={"gradient_monitor": {"enabled": False}, "early_stopping": {"enabled": False}},
        search={"max_trials": 2, "learning_rate": [1e12, 0.01]},
    )
    # Without pruning: `--prune diagnosis` would record this trial as pruned (test_pruned_search.py).
    result = run_search(recipe, tuner="grid", run_dir=tmp_path / "s", verbose=0, prune="none")
    trials = result.trials.set_index("learning_rate")
    assert trials.loc[1e12, "status"] == "FAILED"
    assert "loss became" in trials.loc[1e12, "reason"]
    assert trials.loc[0.01, "status"] == "COMPLETED"


def test_many_failures_in_a_row_stop_the_search(tiny_recipe, tmp_path):
    recipe = tiny_recipe(
        training={"epochs": 2, "optimizer": "sgd"},
        callbacks={"gradient_monitor": {"enabled": False}, "early_stopping": {"enabled": False}},
        search={"max_trials": 4, "learning_rate": [1e12, 1e13, 1e14], "max_consecutive_failures": 2},
    )
    with pytest.raises(TuningError, match="2 trials failed in a row"):
        run_search(recipe, run_dir=tmp_path / "s", verbose=0, prune="none")
    trials = load_trials(tmp_path / "s")
    assert list(trials["status"]) == ["FAILED", "FAILED"]


def test_running_again_resumes_and_max_trials_counts_the_total(tiny_recipe, tmp_path):
    run_search(tiny_recipe(), max_trials=1, run_dir=tmp_path / "s", verbose=0)
    result = run_search(tiny_recipe(), max_trials=2, run_dir=tmp_path / "s", verbose=0)
    assert list(result.trials["trial_id"].astype(int)) == [0, 1]
    again = run_search(tiny_recipe(), max_trials=2, run_dir=tmp_path / "s", verbose=0)
    assert len(again.trials) == 2


@pytest.mark.parametrize(
    "arguments, match",
    [
        ({"tuner": "annealing"}, "`tuner` must be one of random, hyperband, bayesian, grid"),
        ({"objective": "val_auc"}, "--objective 'val_auc' is not a metric of this recipe; available: loss"),
        ({"workers": 0}, "`workers` must be an integer >= 1"),
        ({"role": "worker"}, "--role and --oracle go together"),
        ({"role": "chief", "oracle": "localhost"}, "--oracle must be HOST:PORT"),
        ({"max_trials": 0}, "`max_trials` must be an integer >= 1"),
    ],
)
def test_invalid_arguments_are_rejected(arguments, match, tiny_recipe, tmp_path):
    with pytest.raises(TuningError, match=match):
        run_search(tiny_recipe(), run_dir=tmp_path / "s", verbose=0, **arguments)


def test_hyperband_refuses_to_tune_epochs(tiny_recipe, tmp_path):
    with pytest.raises(TuningError, match="cannot be tuned with --tuner hyperband"):
        run_search(tiny_recipe(search={"epochs": [2, 4]}), tuner="hyperband", run_dir=tmp_path, verbose=0)


def test_search_killed_mid_trial_resumes_without_counting_a_trial_twice(tiny_recipe, tmp_path):
    recipe = tiny_recipe(training={"epochs": 8}, callbacks={"early_stopping": {"enabled": False}})
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(recipe_to_yaml(recipe))
    run_dir = tmp_path / "s"
    command = [
        sys.executable,
        "-m",
        "kerasforge",
        "tune",
        str(recipe_file),
        "--run-dir",
        str(run_dir),
        "--max-trials",
        "2",
        "--prune",
        "none",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    second = run_dir / "keras_tuner" / "trial_1" / "trial.json"
    deadline = time.monotonic() + 180
    while not second.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads(second.read_text())["status"] == "RUNNING"

    result = run_search(recipe, max_trials=2, run_dir=run_dir, verbose=0, prune="none")
    assert list(result.trials["trial_id"]) == ["0", "1"]
    assert (result.trials["status"] == "COMPLETED").all()
    assert (result.trials["epochs_run"] == 8).all()


def test_search_longer_than_one_process_share_runs_in_child_processes(tiny_recipe, tmp_path):
    recipe = tiny_recipe(search={**TINY_SEARCH, "trials_per_process": 1})
    result = run_search(recipe, max_trials=2, run_dir=tmp_path, verbose=0, prune="none")
    assert list(result.trials["trial_id"]) == ["0", "1"]
    assert (result.trials["status"] == "COMPLETED").all()
    assert result.trials["rss_mb"].notna().all()
    records = [
        json.loads((tmp_path / "keras_tuner" / f"trial_{i}" / "kerasforge_trial.json").read_text())
        for i in "01"
    ]
    assert len({os.getpid(), records[0]["pid"], records[1]["pid"]}) == 3
