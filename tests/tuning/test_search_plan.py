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
    assert plan.lines()[-2:] == [
        "plan: hyperband, max 1 epochs per trial, 1 brackets, 3 trials, at most 3 epochs in total "
        "(--max-trials stops it after 3 of the full plan's 23 trials)",
        "  bracket 1: 3 trials to epoch 1",
    ]
    plan = SearchPlan.build("hyperband", space, max_trials=11)
    assert plan.brackets == [[(9, 1), (2, 3)]]
    assert (plan.trials, plan.total_epochs) == (11, 9 + 2 * 2)
    full = SearchPlan.build("hyperband", space, max_trials=23)
    assert full.total_epochs == 75
    assert "stops it" not in "\n".join(full.lines())


@pytest.mark.slow
def test_a_capped_hyperband_plan_is_what_kerastuner_runs(tiny_recipe, tmp_path):
    recipe = tiny_recipe(training={"epochs": 5, "batch_size": 32})
    plan = SearchPlan.build("hyperband", SearchSpace(recipe), max_trials=6)
    result = run_search(recipe, tuner="hyperband", max_trials=6, run_dir=tmp_path / "s", verbose=0)
    columns = ["tuner/bracket", "tuner/round", "tuner/epochs"]
    ran = Counter(result.trials[columns].itertuples(index=False, name=None))
    brackets = [
        [(ran[(bracket, round_, epochs)], epochs) for (b, round_, epochs) in sorted(ran) if b == bracket]
        for bracket in sorted({key[0] for key in ran}, reverse=True)
    ]
    assert brackets == plan.brackets == [[(5, 2), (1, 5)]]
    assert len(result.trials) == plan.trials


def test_other_tuners_plan_trials_times_epochs(tiny_recipe):
    plan = SearchPlan.build("random", SearchSpace(tiny_recipe(search={"epochs": [2, 6]})), max_trials=4)
    assert (plan.trials, plan.epochs_per_trial, plan.total_epochs) == (4, 6, 24)
    assert "epochs: 2 | 6" in "\n".join(plan.lines())
