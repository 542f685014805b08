"""Each diagnosis rule fires on a real run built to trigger it, and a healthy run stays clean.

A run is built for the rule, or is a small variant of a lesson.
"""

import shlex

import numpy as np
import pytest

from kerasforge.recipes import Finding, apply_overrides, describe_data, diagnose, load_recipe, train
from kerasforge.recipes.diagnosis import kinds, rule, rules

BASE = {
    "name": "diagnosis_case",
    "seed": 0,
    "data": {"source": "digits", "max_train_rows": 300},
    "model": {"hidden": [32]},
    "training": {"epochs": 4},
    "callbacks": {
        "early_stopping": {"enabled": False},
        "gradient_monitor": {"on_detect": "log"},
        "activation_monitor": {"on_detect": "log"},
    },
}

# kind -> overrides of BASE that produce it.
TRIGGERS = {
    "healthy": ["data.max_train_rows=600", "training.learning_rate=3e-3", "training.epochs=5"],
    "dead_units": ["model.bias_initializer={name: constant, value: -10.0}", "training.epochs=2"],
    "underfitting": ["training.learning_rate=1e-4", "model.hidden=[2]", "training.epochs=3"],
    "plateau": ["training.optimizer=sgd", "training.learning_rate=1e-6", "training.epochs=7"],
    "converged": [
        "data.source=synthetic",
        "model.task=regression",
        "data.synthetic={rows: 400, features: 3, noise: 10.0}",
        "model.hidden=[]",
        "training.optimizer=sgd",
        "training.learning_rate=0.5",
        "training.batch_size=512",
        "training.epochs=8",
    ],
}
# kind -> (lesson, variant) of the small lessons (conftest.py) built to trigger it.
LESSON_TRIGGERS = {
    "vanishing": ("vanishing_gradients", "sigmoid"),
    "exploding": ("exploding_gradients", "no_clipping"),
    "overfitting": ("overfitting", "baseline"),
    "learning_rate_too_high": ("learning_rate", "too_large"),
    "unnormalized_inputs": ("input_normalization", "raw"),
}
KINDS = [kind for kind in kinds() if kind in TRIGGERS or kind in LESSON_TRIGGERS]

_runs = {}


@pytest.fixture
def diagnosed(small_lesson):
    """Returns a function: kind -> (run, findings) of a run built to trigger it."""

    def run_for(kind):
        if kind not in _runs:
            if kind in LESSON_TRIGGERS:
                lesson, variant = LESSON_TRIGGERS[kind]
                run = small_lesson(lesson).runs[variant]
            else:
                run = train(load_recipe(BASE, TRIGGERS[kind]), write=False, verbose=0)
            info = describe_data(run.recipe, run.data)
            _runs[kind] = (run, diagnose(run.history, run.recipe, run.events, info))
        return _runs[kind]

    return run_for


@pytest.mark.parametrize("kind", KINDS)
def test_rule_fires_on_a_run_built_to_trigger_it(kind, diagnosed):
    _, findings = diagnosed(kind)
    assert kind in [finding.kind for finding in findings], findings
    finding = next(finding for finding in findings if finding.kind == kind)
    assert any(character.isdigit() for character in finding.evidence)
    assert finding.fix.startswith("--set ")


def test_healthy_run_fires_no_rule(diagnosed):
    run, findings = diagnosed("healthy")
    assert findings == []
    assert run.history["loss"][-1] < run.history["loss"][0]


@pytest.mark.parametrize("kind", KINDS)
def test_every_fix_is_a_valid_set_line_for_the_recipe(kind, diagnosed):
    run, findings = diagnosed(kind)
    for finding in findings:
        words = shlex.split(finding.fix)
        assert words[::2] == ["--set"] * (len(words) // 2), finding.fix
        fixed = apply_overrides(run.recipe, words[1::2])
        assert fixed != run.recipe


def test_overfitting_names_the_epoch_val_loss_starts_rising(diagnosed):
    run, findings = diagnosed("overfitting")
    finding = next(finding for finding in findings if finding.kind == "overfitting")
    best = int(np.argmin(run.history["val_loss"]))
    assert finding.epoch == best + 2
    assert f"epoch {best + 1}" in finding.evidence


def test_vanishing_names_the_input_side_layer_and_suggests_relu(diagnosed):
    _, findings = diagnosed("vanishing")
    finding = next(finding for finding in findings if finding.kind == "vanishing")
    assert "hidden_1" in finding.evidence
    assert "model.activation=relu" in finding.fix


def test_dead_units_are_not_reported_as_vanishing_gradients(diagnosed):
    _, findings = diagnosed("dead_units")
    assert "vanishing" not in [finding.kind for finding in findings]


SCRIPTED = [
    ({"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.7, 0.65]}, []),
    ({"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05], "val_loss": [1.0, 0.6, 0.7, 0.8, 0.9, 1.0]}, ["overfitting"]),
    ({"loss": [1.0, 1.4, 0.9, 1.5, 1.0, 1.6]}, ["learning_rate_too_high"]),
    ({"loss": [1.0, 2.0, 5.0, float("nan")]}, ["exploding", "learning_rate_too_high"]),
    (
        {"loss": [1.0, 0.5, 0.4], "grad_norm/hidden_1": [1e-7] * 3, "grad_norm/output": [0.1] * 3},
        ["vanishing"],
    ),
]


@pytest.mark.parametrize("history, kinds", SCRIPTED)
def test_rules_on_scripted_histories(history, kinds):
    assert [finding.kind for finding in diagnose(history)] == kinds


def test_unnormalized_rule_stays_quiet_when_inputs_are_standardized():
    info = {"normalize": "standard", "feature_scales": {"age": 10.0, "salary": 20000.0}}
    assert diagnose({"loss": [1.0, 0.5]}, data_info=info) == []
    info["normalize"] = "none"
    assert [finding.kind for finding in diagnose({"loss": [1.0, 0.5]}, data_info=info)] == [
        "unnormalized_inputs"
    ]


def test_finding_rejects_unknown_kind():
    with pytest.raises(ValueError, match="Argument `kind` must be one of"):
        Finding("sadness", "title", "evidence", "--set seed=1")


def test_every_registered_rule_has_a_run_that_triggers_it():
    assert set(kinds()) == set(KINDS)


@pytest.mark.parametrize("registered", rules(), ids=lambda registered: registered.kind)
def test_every_rule_documents_what_it_reads_and_why(registered):
    assert registered.summary.endswith(".")
    assert len((registered.detect.__doc__ or "").split()) >= 30
    assert set(registered.supersedes) <= set(kinds())


def test_registering_a_second_rule_of_a_kind_is_refused():
    with pytest.raises(ValueError, match="registered already"):

        @rule("overfitting")
        def another_overfitting(run):
            """Also overfitting."""
