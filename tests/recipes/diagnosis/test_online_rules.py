"""The diagnosis pruner's online rules: each fires on runs with its fault and stays quiet on healthy runs.

Every run trains for real (synthetic data, a few hundred rows, a few epochs) with the
recipe's monitors and a `TrialPruner` holding `online_rules`, over three seeds.
"""

import keras
import numpy as np
import pytest

from kerasforge.callbacks import TrialPruner
from kerasforge.recipes import (
    build_callbacks,
    build_model,
    describe_data,
    fit_model,
    load_recipe,
    prepare_data,
    set_global_seed,
)
from kerasforge.recipes.diagnosis.evidence import STILL_IMPROVING_RATE
from kerasforge.recipes.diagnosis.online_rules import (
    CHECK_EVERY,
    ONLINE_KINDS,
    STUCK_EPOCHS,
    batch_rules,
    online_rules,
)
from kerasforge.recipes.diagnosis.pace_rules import BEHIND_MIN_EPOCHS
from kerasforge.tuning.trial_pruning import running_best

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3)
BASE = {
    "name": "online",
    "data": {"source": "synthetic", "synthetic": {"rows": 400, "features": 8, "classes": 3}},
    "model": {"hidden": [32, 32]},
    "training": {"epochs": 10, "batch_size": 32},
    "callbacks": {"early_stopping": {"enabled": False}, "activation_monitor": {"probe_rows": 64}},
}
SMALL_DATA = {"source": "synthetic", "synthetic": {"rows": 120, "features": 8, "classes": 3}}

FAULTS = {
    # A regression head: a squared error is not clipped, so the steps overflow to NaN on every
    # backend (on JAX Keras clips a cross-entropy, whose loss then stays finite).
    "non_finite": {"model": {"task": "regression"}, "training": {"optimizer": "sgd", "learning_rate": 1e6}},
    # Steps larger than the weights, the loss far above a constant's, but finite. Its lowest loss
    # so far can keep edging down on lucky epochs for a while (to epoch 17 on JAX).
    "exploding": {
        "model": {"activation": "tanh", "kernel_initializer": "glorot_uniform"},
        "training": {"optimizer": "sgd", "learning_rate": 10.0, "epochs": 20},
    },
    "dead_units": {"model": {"bias_initializer": {"name": "constant", "value": -5.0}}},
    # Its loss can start above a constant prediction's and fall toward it (the output bias
    # learning the prior): the rule waits until it is stuck there, about epoch 11 on torch.
    "vanishing": {
        "model": {"hidden": [32] * 8, "activation": "sigmoid", "kernel_initializer": "glorot_uniform"},
        "training": {"optimizer": "sgd", "learning_rate": 0.01, "epochs": 16},
    },
    "constant_prediction": {"training": {"learning_rate": 1e-7}},
    # A wide net on 72 training rows at a high rate: the val loss soars once it memorises them.
    "diverging": {
        "data": SMALL_DATA,
        "model": {"hidden": [256, 256]},
        "training": {"learning_rate": 0.01, "epochs": 30},
    },
}
HEALTHY = {
    "relu": {},
    "tanh": {"model": {"activation": "tanh", "kernel_initializer": "glorot_uniform"}},
}


def _recipe(seed, sections):
    return load_recipe(
        {
            **BASE,
            **sections,
            "seed": seed,
            "model": {**BASE["model"], **sections.get("model", {})},
            "training": {**BASE["training"], **sections.get("training", {})},
        }
    )


def _fit(seed, sections, target=None, reference=None, objective="val_loss", direction="min"):
    recipe = _recipe(seed, sections)
    data = prepare_data(recipe)
    set_global_seed(seed)
    model = build_model(recipe, data)
    info = describe_data(recipe, data)
    # The pruner a `diagnosis` search gives each trial (`TrialPruning.pruner`).
    pruner = TrialPruner(
        rules=online_rules(recipe, info, objective, direction, target=target, reference=reference),
        check_every=CHECK_EVERY,
        batch_rules=batch_rules(info, objective),
    )
    history = fit_model(recipe, model, data, build_callbacks(recipe, data, verbose=0) + [pruner], verbose=0)
    return pruner.verdict, history.history


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", list(FAULTS))
def test_each_rule_stops_a_run_with_its_fault(kind, seed):
    verdict, history = _fit(seed, FAULTS[kind])
    assert verdict is not None and verdict["kind"] == kind, verdict
    assert len(history["loss"]) == verdict["epoch"]
    assert verdict["evidence"]
    if kind == "exploding":
        assert all(np.isfinite(history["loss"])), history["loss"]  # caught before it is NaN


@pytest.mark.parametrize("seed", SEEDS)
def test_for_an_accuracy_objective_a_failed_loss_stops_only_a_trial_behind_the_top_trials(seed):
    # The exploding fault's loss fails (its own rule stops it for `val_loss`); whether its accuracy
    # fails is for the search's objective to say.
    alone, _ = _fit(seed, FAULTS["exploding"], objective="val_accuracy", direction="max")
    assert alone is None or alone["kind"] == "non_finite", alone  # no finished trials to rank it by
    perfect = [1.0]  # top trials right on every row by epoch 1 (and so on every later epoch)
    behind, history = _fit(
        seed, FAULTS["exploding"], reference=perfect, objective="val_accuracy", direction="max"
    )
    assert behind is not None and behind["kind"] == "exploding", behind
    assert "the top finished trials' by then" in behind["evidence"]
    assert max(history["val_accuracy"]) < 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_too_slow_stops_a_run_that_cannot_reach_the_top_trials(seed):
    verdict, history = _fit(seed, {}, target=1e-4)
    assert verdict["kind"] == "too_slow", verdict
    assert "short of 0.0001, the top completed trials'" in verdict["evidence"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(HEALTHY))
def test_healthy_runs_are_never_stopped(name, seed):
    verdict, history = _fit(seed, HEALTHY[name])
    assert verdict is None, verdict
    assert len(history["loss"]) == BASE["training"]["epochs"]
    # Nor when the top trials are this very run: its own pace reaches its own best, and it is
    # never behind its own curve.
    curve = list(running_best(history["val_loss"], "min"))
    verdict, _ = _fit(seed, HEALTHY[name], target=curve[-1], reference=curve)
    assert verdict is None, verdict


@pytest.mark.parametrize("seed", SEEDS)
def test_too_slow_stops_a_run_far_behind_the_top_trials_at_the_same_epoch_an_epoch_sooner(seed):
    digits = {"data": {"source": "digits", "normalize": "standard"}}
    _, top = _fit(seed, {**digits, "training": {"learning_rate": 1e-2}})
    curve = list(running_best(top["val_loss"], "min"))
    # Adam at 1e-4 learns (3-5 % of a constant's loss per epoch), but at over twice the top run's
    # loss at the same epoch and at a pace that cannot reach its final loss. At 3e-5 a run can
    # start at the constant's loss and take 1 % of it off per epoch: that is stuck (on torch).
    slow = {**digits, "training": {"learning_rate": 1e-4}}
    verdict, history = _fit(seed, slow, target=curve[-1], reference=curve)
    assert verdict["kind"] == "too_slow" and verdict["epoch"] == BEHIND_MIN_EPOCHS, verdict
    assert len(history["loss"]) == BEHIND_MIN_EPOCHS
    # Without the curve (only the final target) the same run is judged one epoch later.
    verdict, _ = _fit(seed, slow, target=curve[-1])
    assert verdict["kind"] == "too_slow" and verdict["epoch"] == BEHIND_MIN_EPOCHS + 1, verdict


@pytest.mark.parametrize("seed", SEEDS)
def test_a_deep_sigmoid_net_that_adam_still_moves_is_not_stopped_for_vanishing_gradients(seed):
    # Its first layers' gradients are a sliver of the last one's (the offline rule fires at epoch
    # 2), but Adam scales each step to the gradient's own size: the loss falls by a sixth of a
    # constant prediction's in epoch 2 and on TensorFlow to about half of it by epoch 10 (on JAX,
    # whose initial draws differ, to about three quarters).
    deep_sigmoid = {
        "data": {"source": "digits", "normalize": "standard"},
        "model": {"hidden": [32] * 6, "activation": "sigmoid", "kernel_initializer": "glorot_uniform"},
        "training": {"optimizer": "adam", "learning_rate": 1e-2},
    }
    verdict, history = _fit(seed, deep_sigmoid)
    assert verdict is None, verdict
    assert min(history["val_loss"]) < 0.85 * history["val_loss"][0]


def test_exploding_gradients_stop_a_trial_only_once_its_loss_stopped_falling():
    # Unscaled diabetes targets, a tanh net at Adam 1.4: in epoch 1 a step moves the weights by 3x
    # their norm (the offline rule fires there), but Adam's steps are bounded and tanh saturates,
    # so the loss may still fall. A trial runs on until its lowest loss so far has taken less than
    # 1 % of a constant prediction's loss off in each of two epochs in a row.
    bounded = {
        "data": {"source": "diabetes", "normalize": "standard"},
        "model": {
            "task": "regression",
            "hidden": [32] * 6,
            "activation": "tanh",
            "kernel_initializer": "glorot_uniform",
        },
        "training": {"optimizer": "adam", "learning_rate": 1.4},
    }
    stopped = 0
    for seed in SEEDS:
        verdict, history = _fit(seed, bounded)
        recipe = _recipe(seed, bounded)
        baseline = describe_data(recipe, prepare_data(recipe))["baseline_loss"]
        lowest = np.minimum.accumulate(np.fmin(history["loss"], history["val_loss"])) / baseline
        gains = -np.diff(lowest)
        if verdict is None:
            # Left to run, it kept learning: 1 % or more of a constant's loss off per epoch on average.
            assert gains.mean() >= STILL_IMPROVING_RATE, (seed, lowest)
            continue
        stopped += 1
        assert verdict["kind"] == "exploding" and verdict["epoch"] >= STUCK_EPOCHS + 1, verdict
        assert "at epoch 1" in verdict["evidence"] and len(history["loss"]) == verdict["epoch"]
        assert gains[-STUCK_EPOCHS:].max() < STILL_IMPROVING_RATE, (seed, lowest)
    assert stopped, "no seed's run was stopped for its exploding gradients"


@pytest.mark.parametrize("seed", SEEDS)
def test_a_loss_exploding_inside_an_epoch_stops_the_run_before_the_epoch_ends(seed):
    # A learning-rate range test: the rate grows 4x every 32 steps, so the loss falls, then
    # rises far above a constant prediction's, in the second epoch of 125 steps.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4000, 8)).astype("float32")
    y = ((x[:, 0] + x[:, 1] > 0).astype("int32") + (x[:, 2] > 1)).astype("int32")
    prior = np.bincount(y) / len(y)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32, "tanh"), keras.layers.Dense(32, "tanh")]
        + [keras.layers.Dense(3, "softmax")]
    )
    rate = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=32, decay_rate=4.0)
    model.compile(keras.optimizers.SGD(rate), "sparse_categorical_crossentropy")
    info = {"baseline_loss": float(-(prior * np.log(prior)).sum())}
    pruner = TrialPruner(check_every=CHECK_EVERY, batch_rules=batch_rules(info))
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0, callbacks=[pruner])
    assert pruner.verdict["kind"] == "exploding", pruner.verdict
    assert "above 1.5x its lowest" in pruner.verdict["evidence"]
    assert len(history.history["loss"]) == pruner.verdict["epoch"] <= 2
    assert len(pruner.windows) < 2 * (125 // CHECK_EVERY + 1)  # stopped inside epoch 2
    assert np.isfinite(pruner.windows).all()


def test_the_kinds_are_listed_once():
    assert len(set(ONLINE_KINDS)) == len(ONLINE_KINDS)
    assert set(FAULTS) | {"too_slow"} == set(ONLINE_KINDS)
