"""The registry: findings, grouping into causes and consequences, and the rules' declarations.

No training here: findings are built by hand, histories are scripted.
"""

import json
import math

import pytest

from kerasforge.recipes import apply_overrides, load_recipe
from kerasforge.recipes.diagnosis import Finding, diagnose, kinds, rule, rules
from kerasforge.recipes.diagnosis.registry import (
    CAUSE,
    CONSEQUENCE,
    diagnosis_record,
    format_changes,
    group_findings,
)


def _finding(kind, changes=None):
    return Finding(kind, kind.replace("_", " "), "evidence 1", changes or {"training.epochs": 5})


def test_finding_rejects_an_unknown_kind_and_role():
    with pytest.raises(ValueError, match="Argument `kind` must be one of"):
        Finding("sadness", "title", "evidence", {})
    with pytest.raises(ValueError, match="Argument `role` must be one of"):
        Finding("overfitting", "title", "evidence", {}, role="bystander")


@pytest.mark.parametrize(
    "changes",
    [
        {"training.learning_rate": 0.0004},
        {"model.hidden": [128, 64], "callbacks.early_stopping.enabled": True},
        {"model.kernel_initializer": "he_normal", "training.clipnorm": 1.0},
        {"training.learning_rate.peak": 0.02},
    ],
)
def test_fix_flags_read_back_to_the_same_changes(changes):
    recipe = load_recipe(
        {"name": "flags", "training": {"learning_rate": {"schedule": "cosine", "peak": 0.2}}}
    )
    flags = format_changes(changes).split()
    assert flags[::2] == ["--set"] * len(changes)
    assert apply_overrides(recipe, flags[1::2]) == apply_overrides(recipe, changes)


def test_a_cause_lists_its_consequences_after_it_and_only_it_keeps_a_fix():
    found = {kind: _finding(kind) for kind in ("dead_units", "exploding", "learning_rate_too_high")}
    grouped = group_findings(found)
    assert [finding.kind for finding in grouped] == ["learning_rate_too_high", "exploding", "dead_units"]
    assert [finding.role for finding in grouped] == [CAUSE, CONSEQUENCE, CONSEQUENCE]
    assert [finding.caused_by for finding in grouped] == [
        None,
        "learning_rate_too_high",
        "learning_rate_too_high",
    ]
    assert grouped[0].changes and not grouped[1].changes and not grouped[2].changes


def test_a_chain_of_explanations_points_every_consequence_at_the_root():
    # dead units explain the vanishing gradient; a learning rate too high explains both
    found = {kind: _finding(kind) for kind in ("vanishing", "dead_units", "learning_rate_too_high")}
    grouped = group_findings(found)
    assert grouped[0].kind == "learning_rate_too_high"
    assert {finding.caused_by for finding in grouped[1:]} == {"learning_rate_too_high"}


def test_unrelated_causes_both_stay_causes_the_one_explaining_more_first():
    found = {kind: _finding(kind) for kind in ("overfitting", "vanishing", "underfitting")}
    grouped = group_findings(found)
    assert [(finding.kind, finding.role) for finding in grouped] == [
        ("vanishing", CAUSE),
        ("underfitting", CONSEQUENCE),
        ("overfitting", CAUSE),
    ]


def test_a_superseded_finding_is_left_out():
    found = {kind: _finding(kind) for kind in ("bad_initialization", "exploding")}
    assert [finding.kind for finding in group_findings(found)] == ["exploding"]


def test_a_risk_is_reported_only_with_a_consequence():
    risk = {"unnormalized_inputs": _finding("unnormalized_inputs")}
    assert group_findings(risk) == []
    grouped = group_findings({**risk, "learning_rate_too_high": _finding("learning_rate_too_high")})
    assert [(finding.kind, finding.role) for finding in grouped] == [
        ("unnormalized_inputs", CAUSE),
        ("learning_rate_too_high", CONSEQUENCE),
    ]


def test_the_explains_graph_has_no_cycle_and_names_only_registered_kinds():
    graph = {registered.kind: set(registered.explains) for registered in rules()}
    for registered in rules():
        assert set(registered.explains) | set(registered.supersedes) <= set(kinds())

    def reachable(kind, seen=()):
        for child in graph[kind]:
            assert child not in seen and child != kind, f"cycle through {kind} -> {child}"
            reachable(child, (*seen, kind))

    for kind in graph:
        reachable(kind)


def test_diagnosis_record_is_strict_json_with_the_top_cause():
    found = {
        "learning_rate_too_high": Finding(
            "learning_rate_too_high", "t", "e", {"training.learning_rate": 0.1}, numbers={"ratio": math.nan}
        ),
        "exploding": _finding("exploding"),
    }
    record = diagnosis_record(group_findings(found))
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text)["top_cause"] == "learning_rate_too_high"
    first, second = record["findings"]
    assert first["numbers"] == {"ratio": None}
    assert first["fix"] == "--set training.learning_rate=0.1"
    assert (second["role"], second["caused_by"], second["fix"]) == (
        "consequence",
        "learning_rate_too_high",
        "",
    )
    assert diagnosis_record([]) == {"healthy": True, "top_cause": None, "findings": []}


@pytest.mark.parametrize("registered", rules(), ids=lambda registered: registered.kind)
def test_every_rule_documents_what_it_reads_and_why(registered):
    assert registered.summary.endswith(".")
    assert len((registered.detect.__doc__ or "").split()) >= 40


def test_registering_a_second_rule_of_a_kind_is_refused():
    with pytest.raises(ValueError, match="registered already"):

        @rule("overfitting")
        def another_overfitting(run):
            """Also overfitting."""


def test_a_history_without_a_loss_gets_no_diagnosis():
    assert diagnose({"accuracy": [0.5, 0.6]}) == []
    assert diagnose({}) == []
