"""Each bundled lesson, in a smaller version, shows the claim from the lecture notes."""

import math

import numpy as np
import pytest

from kerasforge.recipes import bundled_recipes, load_recipe

LESSONS = (
    "gd_variants",
    "vanishing_gradients",
    "exploding_gradients",
    "overfitting",
    "input_normalization",
    "learning_rate",
    "transfer_and_pretraining",
)


def _kinds(comparison, variant):
    return comparison.table.set_index("variant").loc[variant, "findings"].split()


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_is_bundled_with_variants_and_a_description(name):
    assert name in bundled_recipes()
    recipe = load_recipe(name)
    assert len(recipe.variants) >= 2
    assert recipe.description


def test_gd_variants_updates_per_epoch_and_sgd_reaches_the_lowest_loss(small_lesson):
    result = small_lesson("gd_variants")
    table = result.table.set_index("variant")
    rows = len(result.runs["batch"].data.x_train)
    for variant, batch in (("batch", 400), ("mini_batch_32", 32), ("stochastic", 1)):
        assert table.loc[variant, "updates_per_epoch"] == math.ceil(rows / batch)
    # Same epochs: more updates per epoch reach a lower loss (SGD < mini-batch < batch).
    loss = table["train_loss"]
    assert loss["stochastic"] < loss["mini_batch_32"] < loss["batch"]


def test_vanishing_gradients_flags_sigmoid_and_not_the_remedies(small_lesson):
    result = small_lesson("vanishing_gradients")
    assert "vanishing" in _kinds(result, "sigmoid")
    assert any(event["kind"] == "vanishing" for event in result.runs["sigmoid"].events)
    for remedy in ("relu_he", "batch_norm", "residual"):
        assert "vanishing" not in _kinds(result, remedy)
        assert not any(event["kind"] == "vanishing" for event in result.runs[remedy].events)
    assert (result.run_dir / "plots" / "grad_norm_heatmaps.png").is_file()


def test_exploding_gradients_without_clipping_and_training_with_it(small_lesson):
    result = small_lesson("exploding_gradients")
    wild = result.runs["no_clipping"]
    assert "exploding" in _kinds(result, "no_clipping") or not np.isfinite(wild.history["loss"][-1])
    clipped = result.runs["clipnorm"].history["loss"]
    assert np.all(np.isfinite(clipped)) and clipped[-1] < clipped[0]
    assert "exploding" not in _kinds(result, "clipnorm")
    assert result.runs["clipnorm"].test_metrics["accuracy"] > 0.5


def test_overfitting_remedies_shrink_the_train_val_gap(small_lesson):
    result = small_lesson("overfitting")
    gap = result.table.set_index("variant")["gap"]
    assert "overfitting" in _kinds(result, "baseline")
    for remedy in ("dropout", "l2", "l1", "early_stopping"):
        assert gap[remedy] < gap["baseline"], (remedy, gap.to_dict())
    assert result.table["test_accuracy"].notna().all()


def test_input_normalization_reaches_the_target_loss_sooner(small_lesson):
    result = small_lesson("input_normalization")
    table = result.table.set_index("variant")
    column = next(column for column in table if column.startswith("epochs_to_"))
    standardized, raw = table.loc["standardized", column], table.loc["raw", column]
    assert not math.isnan(standardized)
    assert math.isnan(raw) or standardized < raw
    assert "unnormalized_inputs" in _kinds(result, "raw")
    assert "unnormalized_inputs" not in _kinds(result, "standardized")


def test_learning_rate_too_large_zig_zags_and_warmup_ramps_up(small_lesson):
    result = small_lesson("learning_rate")
    loss = result.table.set_index("variant")["train_loss"]
    assert loss["good"] < loss["too_small"] and loss["good"] < loss["too_large"]
    assert "learning_rate_too_high" in _kinds(result, "too_large")
    assert "learning_rate_too_high" not in _kinds(result, "good")
    rates = result.runs["warmup_cosine"].history["learning_rate"]
    assert rates[0] < rates[1] and rates[-1] < max(rates)


def test_transfer_and_pretraining_report_a_test_metric_for_each(small_lesson):
    result = small_lesson("transfer_and_pretraining")
    accuracy = result.table.set_index("variant")["test_accuracy"]
    # The lesson's claim is the report itself: whether pretraining wins at 50 labels is what
    # it measures (README), and a few-epoch run is too short to settle that.
    assert accuracy[["scratch", "autoencoder", "transfer"]].between(0, 1).all()
    assert result.table.set_index("variant").loc["related_task", "test_r2_score"] > 0
    assert (result.run_dir / "pretrain_autoencoder" / "model.keras").is_file()
    # The transferred first layer was frozen, so it still holds the related task's weights.
    donor = result.runs["related_task"].model.get_layer("hidden_1").get_weights()
    frozen = result.runs["transfer"].model.get_layer("hidden_1").get_weights()
    for theirs, ours in zip(donor, frozen, strict=True):
        np.testing.assert_array_equal(theirs, ours)
