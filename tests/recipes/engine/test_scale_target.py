"""`data.scale_target`: a target in the thousands, learnt standardised and reported in its units."""

import numpy as np
import pytest

from kerasforge.recipes import doctor, predict_rows, train
from kerasforge.recipes.diagnosis.zoo import TUNING
from kerasforge.recipes.engine.build_model import TARGET_SCALE_LAYER
from kerasforge.recipes.engine.use_model import load_run_model

# A synthetic regression whose target is multiplied by 100 (std about 10,000), as prices are.
PRICES = TUNING["unscaled_target"]


def _test_r2(run) -> float:
    return run.test_metrics["r2_score"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_scaled_target_is_learnt_where_the_unscaled_one_is_not(seed, tmp_path):
    unscaled = train(PRICES.recipe({"seed": seed}), write=False, verbose=0)
    scaled_recipe = PRICES.recipe({"seed": seed, "data.scale_target": True})
    scaled = train(scaled_recipe, run_dir=tmp_path / "run", verbose=0)
    assert _test_r2(unscaled) < 0.3
    assert _test_r2(scaled) > 0.8
    # The loss and the metrics stay in the target's units: MAE of thousands, not of a standard score.
    assert scaled.test_metrics["mae"] > 100
    assert unscaled.model.get_layer("output").bias.numpy()[0] == pytest.approx(
        float(np.mean(unscaled.data.y_train)), rel=0.05
    )
    # The saved model maps back to the target's units by itself: predictions of new rows are prices.
    rows = scaled.data.raw["test"]
    predictions = np.asarray(predict_rows(load_run_model(tmp_path / "run").model, rows)).reshape(-1)
    target = np.asarray(scaled.data.y_test).reshape(-1)
    assert 1 - np.sum((predictions - target) ** 2) / np.sum((target - target.mean()) ** 2) > 0.8
    assert scaled.model.layers[-1].name == TARGET_SCALE_LAYER


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_doctor_names_the_unscaled_target_and_its_fix_helps(seed, tmp_path):
    report = doctor(PRICES.recipe({"seed": seed}), rounds=1, run_dir=tmp_path / "doc", verbose=0)
    first, second = report.rounds
    assert first.findings[0].kind == "unscaled_target"
    assert "std over the training rows is" in first.findings[0].evidence
    assert second.recipe.data.scale_target is True
    assert second.val_loss < 0.3 * first.val_loss
