"""A Hyperband search's recorded scores are what retraining its recipes reaches."""

import pandas as pd
import pytest

from kerasforge.recipes import load_recipe, train
from kerasforge.tuning import SearchSpace, run_search
from kerasforge.tuning.search_files import best_recipe
from kerasforge.tuning.trial_table import trial_values

pytestmark = pytest.mark.slow

# Float32 on CPU: a promoted trial continues its parent's exact state, so only the order of
# floating-point sums could differ, and it does not: the same ops run on the same batches.
TOLERANCE = 1e-6


def _recipe(tiny_recipe, seed):
    return tiny_recipe(
        seed=seed,
        training={"epochs": 4, "batch_size": 32},
        callbacks={"early_stopping": {"patience": 2}, "activation_monitor": {"probe_rows": 16}},
        search={"units": [4, 8], "learning_rate": {"min": 1e-3, "max": 3e-2}, "hyperband_factor": 2},
    )


@pytest.mark.parametrize("seed", [3, 11])
def test_promoted_hyperband_trials_and_the_best_recipe_reproduce_their_scores(tiny_recipe, tmp_path, seed):
    recipe = _recipe(tiny_recipe, seed)
    result = run_search(recipe, tuner="hyperband", run_dir=tmp_path / "s", prune="none", verbose=0)
    trials = result.trials
    promoted = trials[(trials["tuner/round"] > 0) & (trials["status"] == "COMPLETED")]
    assert len(promoted) >= 3  # the full plan of 4 epochs, factor 2, promotes 6 trials
    space = SearchSpace(recipe)
    for row in promoted.to_dict("records"):
        retrained = best_recipe(space, trial_values(tmp_path / "s", row["trial_id"]), row["trial_id"], "")
        assert retrained.training.epochs == row["tuner/epochs"]
        run = train(retrained, write=False, verbose=0)
        assert min(run.history["val_loss"]) == pytest.approx(row["val_loss"], abs=TOLERANCE), row["trial_id"]
    best = load_recipe(tmp_path / "s" / "best_recipe.yaml")
    run = train(best, write=False, verbose=0)
    assert min(run.history["val_loss"]) == pytest.approx(result.best_score, abs=TOLERANCE)
    histories = pd.read_csv(tmp_path / "s" / "histories.csv", dtype={"trial_id": str})
    # A promoted trial's own epochs follow its parent's, numbered on from them.
    first = promoted.iloc[0]
    epochs = histories[(histories["trial_id"] == first.trial_id) & (histories["metric"] == "val_loss")]
    assert epochs["epoch"].min() == first["tuner/initial_epoch"] + 1
