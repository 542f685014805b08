from collections import Counter

import pytest

from kerasforge.tuning import SearchPlan, SearchSpace, run_search


def test_hyperband_plan_lists_brackets_trials_and_epochs(tiny_recipe):
    plan = SearchPlan.build("hyperband", SearchSpace(tiny_recipe(training={"epochs": 9})), max_trials=None)
    assert plan.brackets == [[(9, 1), (3, 3), (1, 9)], [(5, 3), (2, 9)], [(3, 9)]]
    assert (plan.trials, plan.total_epochs) == (23, 9 + 3 * 2 + 6 + 15 + 2 * 6 + 27)
    lines = plan.lines()
    assert (
        "plan: hyperband, max 9 epochs per trial, 3 brackets, 23 trials, at most 75 epochs in total" in lines
    )
    assert "  bracket 1: 9 trials to epoch 1, 3 trials to epoch 3, 1 trials to epoch 9" in lines


def test_max_trials_cuts_a_hyperband_plan_where_kerastuner_stops(tiny_recipe):
    space = SearchSpace(tiny_recipe(training={"epochs": 9}))
    plan = SearchPlan.build("hyperband", space, max_trials=3)
    assert plan.brackets == [[(3, 1)]]
    assert (plan.trials, plan.total_epochs, plan.epochs_per_trial) == (3, 3, 1)
    assert plan.lines()[-3:] == [
        "plan: hyperband, max 1 epochs per trial, 1 brackets, 3 trials, at most 3 epochs in total "
        "(--max-trials stops it after 3 of the full plan's 23 trials)",
        "  bracket 1: 3 trials to epoch 1",
        "  no trial is promoted: --max-trials 3 ends the search within the first round of bracket 1, "
        "so every trial trains 1 epochs and the best recipe has epochs: 1; --max-trials 10 or more "
        "promotes the best trials to more epochs",
    ]
    plan = SearchPlan.build("hyperband", space, max_trials=11)
    assert plan.brackets == [[(9, 1), (2, 3)]]
    assert (plan.trials, plan.total_epochs) == (11, 9 + 2 * 2)
    assert "no trial is promoted" not in "\n".join(plan.lines())
    full = SearchPlan.build("hyperband", space, max_trials=23)
    assert full.total_epochs == 75
    assert "stops it" not in "\n".join(full.lines())


@pytest.mark.slow
@pytest.mark.parametrize(
    "max_trials, epochs, factor, expected",
    [(6, 5, 3, [[(5, 2), (1, 5)]]), (6, 4, 2, [[(4, 1), (2, 2)]]), (3, 9, 3, [[(3, 1)]])],
)
def test_a_capped_hyperband_plan_is_what_kerastuner_runs(
    tiny_recipe, tmp_path, capsys, max_trials, epochs, factor, expected
):
    recipe = tiny_recipe(
        training={"epochs": epochs, "batch_size": 32},
        callbacks={"early_stopping": {"enabled": False}, "activation_monitor": {"probe_rows": 16}},
        search={"units": [4, 8], "learning_rate": {"min": 1e-3, "max": 3e-2}, "hyperband_factor": factor},
    )
    plan = SearchPlan.build("hyperband", SearchSpace(recipe), max_trials=max_trials)
    result = run_search(recipe, "hyperband", max_trials, run_dir=tmp_path / "s", prune="none")
    printed = capsys.readouterr().out.splitlines()
    columns = ["tuner/bracket", "tuner/round", "tuner/epochs"]
    ran = Counter(result.trials[columns].itertuples(index=False, name=None))
    brackets = [
        [(ran[(bracket, round_, epochs)], epochs) for (b, round_, epochs) in sorted(ran) if b == bracket]
        for bracket in sorted({key[0] for key in ran}, reverse=True)
    ]
    assert brackets == plan.brackets == expected
    assert len(result.trials) == plan.trials
    # Every epoch planned was trained: a promoted trial trains only the epochs after its parent's.
    assert result.trials["epochs_run"].sum() == plan.total_epochs
    assert set(plan.lines()) <= set(printed)
    assert any("no trial is promoted" in line for line in printed) == (len(expected[0]) == 1)


def test_other_tuners_plan_trials_times_epochs(tiny_recipe):
    plan = SearchPlan.build("random", SearchSpace(tiny_recipe(search={"epochs": [2, 6]})), max_trials=4)
    assert (plan.trials, plan.epochs_per_trial, plan.total_epochs) == (4, 6, 24)
    assert "epochs: 2 | 6" in "\n".join(plan.lines())
