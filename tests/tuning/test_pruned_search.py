"""`tune --prune`: pruned trials in trials.csv, the consecutive-failures stop, the median rule, the flag."""

import math

import pandas as pd
import pytest

from kerasforge.errors import TuningError
from kerasforge.recipes import describe_data, prepare_data
from kerasforge.tuning import run_search
from kerasforge.tuning.search_arguments import PRUNE_MODES, check_search_arguments
from kerasforge.tuning.trial_pruning import (
    MEDIAN_WARMUP_EPOCHS,
    MEDIAN_WARMUP_TRIALS,
    TrialPruning,
    median_rule,
    running_best,
)

# A regression head: a squared error is not clipped, so these rates turn the loss NaN on every
# backend (on JAX Keras clips a cross-entropy, whose loss then stays finite).
DIVERGING = {
    "model": {"hidden": [8], "task": "regression"},
    "training": {"epochs": 2, "optimizer": "sgd"},
    "callbacks": {"early_stopping": {"enabled": False}},
}


@pytest.mark.slow
def test_pruned_trials_are_recorded_and_never_count_as_failures(tiny_recipe, tmp_path, capsys):
    # Each of these rates turns the loss NaN in the first epoch: without pruning, two such
    # trials in a row stop the search (tests/tuning/test_run_search.py); pruned, it goes on.
    recipe = tiny_recipe(
        **DIVERGING,
        search={"max_trials": 3, "learning_rate": [1e12, 1e13, 1e14], "max_consecutive_failures": 2},
    )
    result = run_search(recipe, tuner="grid", run_dir=tmp_path / "s", prune="diagnosis")
    output = capsys.readouterr().out
    trials = pd.read_csv(tmp_path / "s" / "trials.csv", dtype={"trial_id": str})
    assert list(trials["status"]) == ["PRUNED"] * 3
    assert list(trials["prune_kind"]) == ["non_finite"] * 3
    assert list(trials["pruned_epoch"]) == [1, 1, 1]
    assert trials["reason"].str.startswith("non_finite: ").all()
    # The oracle got a finite score for each: a diverged trial counts as a constant prediction's loss.
    baseline = describe_data(recipe, prepare_data(recipe))["baseline_loss"]
    assert list(trials["val_loss"]) == pytest.approx([baseline] * 3, rel=1e-6)
    assert result.best_recipe is None  # a pruned trial is never the best recipe
    assert "pruning: diagnosis" in output
    assert "pruned at epoch 1 (non_finite: " in output
    assert "pruned trials:\n3 pruned (3 non_finite):" in output


@pytest.mark.slow
def test_a_diverged_trial_of_another_objective_shows_no_stand_in_score(
    tiny_recipe, tmp_path, capsys, recwarn
):
    # Nothing finite to rank it by: the oracle gets the worst float32, but people see no number.
    recipe = tiny_recipe(**DIVERGING, search={"max_trials": 2, "learning_rate": [1e12, 1e13]})
    run_search(recipe, tuner="grid", run_dir=tmp_path / "s", prune="diagnosis", objective="val_mae")
    output = capsys.readouterr().out
    trials = pd.read_csv(tmp_path / "s" / "trials.csv", dtype={"trial_id": str})
    assert list(trials["status"]) == ["PRUNED"] * 2
    assert trials["val_mae"].isna().all()
    assert "e+38" not in output and "340282" not in output
    assert "val_mae nan | no trial has reached a finite val_mae yet" in output
    assert not [warning for warning in recwarn if "All-NaN" in str(warning.message)]


@pytest.mark.slow
def test_a_search_without_pruning_records_no_pruned_trial(tiny_recipe, tmp_path):
    recipe = tiny_recipe(**DIVERGING, search={"max_trials": 2, "learning_rate": [1e12, 0.01]})
    result = run_search(recipe, tuner="grid", run_dir=tmp_path / "s", verbose=0, prune="none")
    trials = result.trials.set_index("learning_rate")
    assert trials.loc[1e12, "status"] == "FAILED"
    assert trials["prune_kind"].isna().all() and trials["pruned_epoch"].isna().all()
    assert result.pruned_table() == ""


@pytest.mark.slow
def test_the_median_rule_prunes_in_a_real_search(tiny_recipe, tmp_path):
    recipe = tiny_recipe(
        training={"epochs": 4, "batch_size": 32},
        callbacks={"early_stopping": {"enabled": False}},
        search={"max_trials": 7, "learning_rate": [1e-2, 1.1e-2, 1.2e-2, 1.3e-2, 1.4e-2, 1e-7, 1.1e-7]},
    )
    result = run_search(recipe, tuner="grid", run_dir=tmp_path / "s", verbose=0, prune="median")
    trials = result.trials.set_index("learning_rate")
    # The five good rates complete first; the two that barely move fall below their median.
    assert (trials.loc[[1e-2, 1.1e-2, 1.2e-2, 1.3e-2, 1.4e-2], "status"] == "COMPLETED").all()
    assert list(trials.loc[[1e-7, 1.1e-7], "prune_kind"]) == ["median", "median"]
    assert list(trials.loc[[1e-7, 1.1e-7], "pruned_epoch"]) == [MEDIAN_WARMUP_EPOCHS] * 2


def test_the_median_rule_compares_the_best_so_far_with_the_completed_trials_median():
    completed = [
        [1.0, 0.8, 0.6, 0.5],
        [1.0, 0.7, 0.5],
        [1.2, 0.9, 0.7, 0.6],
        [0.9, 0.9, 0.8, 0.8],
        [2, 1, 0.9],
    ]
    rule = median_rule("val_loss", "min", completed)
    # Median of the running bests at epoch 3: 0.6, 0.5, 0.7, 0.8, 0.9 -> 0.7.
    assert rule({"val_loss": [1.0, 0.9, 0.75]}, 3, 10)[0] == "median"
    assert rule({"val_loss": [1.0, 0.69, 0.75]}, 3, 10) is None  # its best so far counts, not its last
    assert rule({"val_loss": [5.0, 5.0]}, 2, 10) is None  # warm-up epochs
    # A trial shorter than the epoch keeps its final best: at epoch 4, 0.5, 0.5, 0.6, 0.8, 0.9.
    assert "0.6, the median of 5" in rule({"val_loss": [1, 1, 1, 0.65]}, 4, 10)[1]
    assert (
        median_rule("val_loss", "min", completed[: MEDIAN_WARMUP_TRIALS - 1])(
            {"val_loss": [9.0, 9.0, 9.0]}, 3, 10
        )
        is None
    )  # too few completed trials yet
    accuracy = median_rule("val_accuracy", "max", [[0.5, 0.9, 0.9]] * MEDIAN_WARMUP_TRIALS)
    assert accuracy({"val_accuracy": [0.5, 0.6, 0.7]}, 3, 10)[0] == "median"
    assert accuracy({"val_accuracy": [0.5, 0.6, 0.95]}, 3, 10) is None


def test_running_best_skips_non_finite_epochs():
    assert list(running_best([3.0, math.nan, 1.0, 2.0], "min")) == [3.0, 3.0, 1.0, 1.0]
    assert list(running_best([0.1, 0.3, math.inf, 0.2], "max")) == [0.1, 0.3, 0.3, 0.3]


def test_pruning_reads_only_completed_unpruned_trials_and_no_pruner_for_none(tmp_path):
    for trial, record in {
        "trial_0": {"reason": None, "history": {"val_loss": [1.0, 0.4]}},
        "trial_1": {"reason": "loss became nan", "history": {"val_loss": [0.1]}},
        "trial_2": {
            "reason": "too_slow: ...",
            "pruned": {"kind": "too_slow"},
            "history": {"val_loss": [0.2]},
        },
        "trial_3": {"reason": None, "history": {"val_loss": [None, 0.3]}},
    }.items():
        (tmp_path / trial).mkdir()
        (tmp_path / trial / "record.json").write_text(pd.Series(record).to_json(), encoding="utf-8")
    pruning = TrialPruning.from_folder("diagnosis", tmp_path, "record.json", "val_loss", "min")
    assert len(pruning.completed) == 2 and pruning.best == 0.3
    assert pruning.pruned == [[0.2]] and pruning.target == 0.2  # the best of 3 finished trials


def test_too_slow_is_judged_against_the_top_third_of_finished_trials():
    def target(finals, direction="min", pruned=()):
        curves = [[final] for final in finals]
        return TrialPruning("diagnosis", "val_loss", direction, curves, [[value] for value in pruned]).target

    assert target([0.5]) is None  # fewer than 2 finished
    assert target([], pruned=[0.4]) is None
    assert target([0.5, 0.1, 0.3]) == 0.1  # the best of 2 and 3
    assert target([0.5], pruned=[0.4]) == 0.4
    assert target([0.5, 0.1, 0.3, 0.2]) == 0.2  # the 2nd best of 4 to 6
    assert target([0.1, 0.3], pruned=[0.9, 0.8]) == 0.3
    # Pruned trials count: without them a trial would be ranked against the good ones only.
    assert target([0.1, 0.2, 0.3, 0.4], pruned=[0.9, 0.8, 0.7, 0.6]) == 0.3  # the 3rd best of 7 to 9
    assert target([0.5, 0.1, 0.3, 0.2, 0.4]) == 0.2
    assert target([0.5, 0.1, 0.3, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0]) == 0.4  # the 4th of 10 to 12
    assert target([0.5, 0.9, 0.7, 0.8, 0.6], direction="max") == 0.8
    assert TrialPruning("none", "val_loss", "min").pruner(None, {}) is None
    with pytest.raises(ValueError, match="Received: mode='sometimes'"):
        TrialPruning("sometimes", "val_loss", "min")


def test_an_unknown_prune_mode_is_one_clear_error(tiny_recipe):
    with pytest.raises(
        TuningError, match=r"`prune` must be one of diagnosis, median, none. Received: prune='x'"
    ):
        check_search_arguments(tiny_recipe(), prune="x")
    assert PRUNE_MODES == ("diagnosis", "median", "none")


def test_the_reference_is_the_top_thirds_best_by_each_epoch():
    completed = [[1.0, 0.5, 0.4], [2.0, 1.0], [0.9, 0.8, 0.7, 0.6], [3.0, 2.0, 1.0, 0.9]]
    pruning = TrialPruning("diagnosis", "val_loss", "min", completed, pruned=[[1.5, math.nan]])
    # Five trials: the top third is the 2nd best; a shorter curve keeps its last best.
    assert pruning.reference == [1.0, 0.8, 0.7, 0.6]
    assert TrialPruning("diagnosis", "val_loss", "min", completed[:2]).reference == [1.0, 0.5, 0.4]
    assert TrialPruning("diagnosis", "val_loss", "min", completed[:1]).reference is None
    # Four trials: the 2nd best of each epoch.
    maximised = TrialPruning("diagnosis", "acc", "max", [[0.1, 0.5], [0.2, 0.3], [0.3], [0.0, 0.9]])
    assert maximised.reference == [0.2, 0.5]


def test_a_search_for_another_objective_than_a_loss_looks_inside_epochs_for_nan_only(tiny_recipe):
    recipe = tiny_recipe()
    info = describe_data(recipe, prepare_data(recipe))
    by_loss = TrialPruning("diagnosis", "val_loss", "min").pruner(recipe, info)
    by_accuracy = TrialPruning("diagnosis", "val_accuracy", "max").pruner(recipe, info)
    assert len(by_loss.batch_rules) == 1  # the exploding loss
    assert by_accuracy.batch_rules == () and by_accuracy.check_every == by_loss.check_every
