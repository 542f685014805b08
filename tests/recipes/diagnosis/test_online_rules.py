"""The diagnosis pruner's online rules: each fires on runs with its fault and stays quiet on healthy runs.

Every run trains for real (synthetic data, a few hundred rows, a few epochs) with the
recipe's monitors and a `TrialPruner` holding `online_rules`, over three seeds.
"""

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
from kerasforge.recipes.diagnosis.online_rules import ONLINE_KINDS, online_rules

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
    "non_finite": {"training": {"optimizer": "sgd", "learning_rate": 1e6}},
    "dead_units": {"model": {"bias_initializer": {"name": "constant", "value": -5.0}}},
    "vanishing": {
        "model": {"hidden": [32] * 8, "activation": "sigmoid", "kernel_initializer": "glorot_uniform"},
        "training": {"optimizer": "sgd", "learning_rate": 0.01},
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


def _fit(seed, sections, target=None):
    recipe = load_recipe(
        {
            **BASE,
            **sections,
            "seed": seed,
            "model": {**BASE["model"], **sections.get("model", {})},
            "training": {**BASE["training"], **sections.get("training", {})},
        }
    )
    data = prepare_data(recipe)
    set_global_seed(seed)
    model = build_model(recipe, data)
    pruner = TrialPruner(rules=online_rules(recipe, describe_data(recipe, data), target=target))
    history = fit_model(recipe, model, data, build_callbacks(recipe, data, verbose=0) + [pruner], verbose=0)
    return pruner.verdict, history.history


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", list(FAULTS))
def test_each_rule_stops_a_run_with_its_fault(kind, seed):
    verdict, history = _fit(seed, FAULTS[kind])
    assert verdict is not None and verdict["kind"] == kind, verdict
    assert len(history["loss"]) == verdict["epoch"]
    assert verdict["evidence"]


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
    # Nor when the top trials' objective is this very run's: its own pace reaches its own best.
    verdict, _ = _fit(seed, HEALTHY[name], target=min(history["val_loss"]))
    assert verdict is None, verdict


def test_the_kinds_are_listed_once():
    assert len(set(ONLINE_KINDS)) == len(ONLINE_KINDS)
    assert set(FAULTS) | {"too_slow", "exploding"} == set(ONLINE_KINDS)
