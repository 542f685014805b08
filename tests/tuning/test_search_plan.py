from kerasforge.tuning import SearchPlan, SearchSpace


def test_hyperband_plan_lists_brackets_trials_and_epochs(tiny_recipe):
    plan = SearchPlan.build("hyperband", SearchSpace(tiny_recipe(training={"epochs": 9})), max_trials=None)
    assert plan.brackets == [[(9, 1), (3, 3), (1, 9)], [(5, 3), (2, 9)], [(3, 9)]]
    assert (plan.trials, plan.total_epochs) == (23, 9 + 3 * 2 + 6 + 15 + 2 * 6 + 27)
    lines = plan.lines()
    assert (
        "plan: hyperband, max 9 epochs per trial, 3 brackets, 23 trials, at most 75 epochs in total" in lines
    )
    assert "  bracket 1: 9 trials to epoch 1, 3 trials to epoch 3, 1 trials to epoch 9" in lines


def test_max_trials_caps_a_hyperband_plan(tiny_recipe):
    plan = SearchPlan.build("hyperband", SearchSpace(tiny_recipe(training={"epochs": 9})), max_trials=5)
    assert plan.trials == 5


def test_other_tuners_plan_trials_times_epochs(tiny_recipe):
    plan = SearchPlan.build("random", SearchSpace(tiny_recipe(search={"epochs": [2, 6]})), max_trials=4)
    assert (plan.trials, plan.epochs_per_trial, plan.total_epochs) == (4, 6, 24)
    assert "epochs: 2 | 6" in "\n".join(plan.lines())
