"""The diagnosis registry: every rule is declared once, where it is written.

A rule is a function `(RunEvidence) -> Finding | None` decorated with `@rule(kind)`.
The decorator is the only place a rule is listed: `diagnose`, the HTML report,
`kerasforge report --rules` and the tests all read `rules()`. Adding a rule is one
decorated function in one of `RULE_MODULES`.

Rules read symptoms one at a time; the registry knows how they relate, so a
diagnosis names the cause first:

* `explains`: kinds that are *consequences* of this one. When both fire, the
  consequence is kept, marked `role="consequence"` and `caused_by` this kind, and
  listed under it, without a fix of its own: the fix to try is the cause's. A
  learning rate too high explains exploding steps and dead units.
* `supersedes`: kinds that name the same problem less precisely. When both fire,
  the superseded finding is left out (a too-large initialisation whose gradients
  explode is reported once, as `exploding`, with the initialiser as its fix).
* `needs_consequence`: the rule names a risk, not an observed failure (inputs on
  wildly different scales); it is reported only when something it explains fired.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

if TYPE_CHECKING:
    from kerasforge.recipes.diagnosis.evidence import RunEvidence
    from kerasforge.recipes.schema.recipe import Recipe

# The modules whose decorated functions are the rules, in the order findings are shown.
RULE_MODULES = (
    "kerasforge.recipes.diagnosis.data_rules",
    "kerasforge.recipes.diagnosis.step_size_rules",
    "kerasforge.recipes.diagnosis.layer_rules",
    "kerasforge.recipes.diagnosis.loss_curve_rules",
)

CAUSE = "cause"
CONSEQUENCE = "consequence"
ROLES = (CAUSE, CONSEQUENCE)


def format_changes(changes: Mapping[str, Any]) -> str:
    """Returns recipe changes as command-line flags: `--set key=value ...`.

    Args:
        changes: Dotted recipe key -> new value.

    Returns:
        The flags, each value written as one-line YAML (so `--set` reads it back).

    Example:

    ```python
    format_changes({"training.learning_rate": 0.01})  # "--set training.learning_rate=0.01"
    ```
    """
    flags = []
    for key, value in changes.items():
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        text = text.removesuffix("\n...").removesuffix("...").strip()
        flags.append(f"--set {key}={text.replace(' ', '')}")
    return " ".join(flags)


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem of a training run.

    Attributes:
        kind: The kind of the rule that found it, e.g. `"overfitting"` (see `kinds()`).
        title: One line naming the problem.
        evidence: The numbers and epochs behind it, e.g. "val_loss bottomed
            at 0.31 at epoch 6 and rose to 0.52 by epoch 20".
        changes: The recipe change to try: dotted key -> new value (what
            `apply_overrides` takes). Empty when no recipe change applies.
        epoch: The epoch the problem starts or is clearest at, if any.
        numbers: The evidence as named numbers, for `diagnosis.json`.
        role: `"cause"`, or `"consequence"` of the finding named by `caused_by`.
        caused_by: The kind of the finding that explains this one, if any.

    Raises:
        ValueError: If `kind` is not the kind of a registered rule, or `role`
            is not one of `ROLES`.

    Example:

    ```python
    finding = Finding("underfitting", "Underfitting", "train loss is 80% of a constant's",
                      {"model.hidden": [128]}, epoch=12)
    finding.fix  # "--set model.hidden=[128]"
    ```
    """

    kind: str
    title: str
    evidence: str
    changes: dict = field(default_factory=dict)
    epoch: int | None = None
    numbers: dict = field(default_factory=dict)
    role: str = CAUSE
    caused_by: str | None = None

    def __post_init__(self):
        allowed = kinds()
        if self.kind not in allowed:
            raise ValueError(f"Argument `kind` must be one of {allowed}. Received: kind={self.kind!r}")
        if self.role not in ROLES:
            raise ValueError(f"Argument `role` must be one of {ROLES}. Received: role={self.role!r}")

    @property
    def fix(self) -> str:
        """The changes as `--set` flags to paste after `kerasforge train RECIPE`."""
        return format_changes(self.changes)

    def to_dict(self) -> dict:
        """Returns the finding as a plain JSON-ready dict, with its `fix` flags (NaN numbers as None)."""
        record = asdict(self)
        record["numbers"] = {key: json_number(value) for key, value in self.numbers.items()}
        return {**record, "fix": self.fix}


def json_number(value):
    """A float for JSON: NaN and infinities (which strict JSON lacks) become None; others pass."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


RuleFunction = Callable[["RunEvidence"], "Finding | None"]


@dataclass(frozen=True)
class Rule:
    """A registered diagnosis rule.

    Attributes:
        kind: The kind of finding it reports.
        detect: The rule function.
        explains: Kinds whose findings are consequences of this one.
        supersedes: Kinds whose findings this one replaces (the same problem, less precisely named).
        needs_consequence: Report it only when a finding it explains fired.
    """

    kind: str
    detect: RuleFunction
    explains: tuple[str, ...] = ()
    supersedes: tuple[str, ...] = ()
    needs_consequence: bool = False

    @property
    def summary(self) -> str:
        """The first line of the rule's docstring: what it detects."""
        return (self.detect.__doc__ or "").strip().splitlines()[0]


_REGISTRY: dict[str, Rule] = {}


def rule(
    kind: str,
    explains: Sequence[str] = (),
    supersedes: Sequence[str] = (),
    needs_consequence: bool = False,
) -> Callable[[RuleFunction], RuleFunction]:
    """Registers a diagnosis rule under `kind`.

    Args:
        kind: String. The kind of finding the rule reports; unique.
        explains: Kinds this one causes: when both fire they are shown as its consequences.
        supersedes: Kinds this one names more precisely: when both fire they are left out.
        needs_consequence: Boolean. Report the finding only when one it explains fired.

    Returns:
        The decorator; it returns the function unchanged.

    Raises:
        ValueError: If `kind` is registered already, or the function has no docstring.

    Example:

    ```python
    @rule("overfitting")
    def overfitting(run):
        \"\"\"Validation loss rises while the training loss falls.\"\"\"
    ```
    """

    def register(function: RuleFunction) -> RuleFunction:
        if kind in _REGISTRY and _REGISTRY[kind].detect.__qualname__ != function.__qualname__:
            raise ValueError(f"a diagnosis rule of kind {kind!r} is registered already")
        if not (function.__doc__ or "").strip():
            raise ValueError(f"diagnosis rule {function.__name__!r} needs a docstring: what, evidence, why")
        _REGISTRY[kind] = Rule(kind, function, tuple(explains), tuple(supersedes), needs_consequence)
        return function

    return register


def rules() -> tuple[Rule, ...]:
    """Returns every registered rule, in the order their findings are shown."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    return tuple(_REGISTRY.values())


def kinds() -> tuple[str, ...]:
    """Returns the kind of every registered rule."""
    return tuple(registered.kind for registered in rules())


def _explainer(kind: str, fired: dict[str, Rule], order: list[str]) -> str | None:
    """The first fired kind that explains `kind` and is not itself explained by `kind` (no cycles)."""
    for candidate in order:
        if candidate != kind and kind in fired[candidate].explains:
            return candidate
    return None


def _root(kind: str, parent: dict[str, str | None]) -> str:
    seen = {kind}
    while parent.get(kind) is not None and parent[kind] not in seen:
        kind = parent[kind]
        seen.add(kind)
    return kind


def group_findings(found: dict[str, Finding]) -> list[Finding]:
    """Orders fired findings into causes, each followed by its consequences.

    Superseded findings are dropped; a finding explained by another fired one
    becomes a consequence of that finding's root cause, and its own `changes`
    are dropped. Causes come in rule order, the one explaining the most
    findings first.

    Args:
        found: Kind -> the finding its rule returned.

    Returns:
        The findings, each with `role` and `caused_by` set.
    """
    registry = {registered.kind: registered for registered in rules()}
    order = [kind for kind in registry if kind in found]
    hidden = {kind for fired in order for kind in registry[fired].supersedes if kind != fired}
    order = [kind for kind in order if kind not in hidden]
    fired = {kind: registry[kind] for kind in order}
    parent = {kind: _explainer(kind, fired, order) for kind in order}
    roots = {kind: _root(kind, parent) for kind in order}
    order = [
        kind
        for kind in order
        if not (fired[kind].needs_consequence and not any(parent[other] == kind for other in order))
    ]
    causes = [kind for kind in order if roots[kind] == kind]
    consequences = {
        cause: [kind for kind in order if kind != cause and roots[kind] == cause] for cause in causes
    }
    causes.sort(key=lambda cause: -len(consequences[cause]))
    grouped = []
    for cause in causes:
        grouped.append(replace(found[cause], role=CAUSE, caused_by=None))
        # A consequence's own remedy treats the symptom (more epochs for a loss that the dead units
        # keep high, a higher rate for steps that die out): only the cause's fix is suggested.
        grouped += [
            replace(found[kind], role=CONSEQUENCE, caused_by=cause, changes={})
            for kind in consequences[cause]
        ]
    return grouped


def diagnose(
    history: pd.DataFrame | dict,
    recipe: Recipe | None = None,
    events: list | None = None,
    data_info: dict | None = None,
) -> list[Finding]:
    """Runs every registered diagnosis rule on a training run.

    The findings come grouped by root cause (see `group_findings`): each cause,
    then the findings it explains (`role="consequence"`, `caused_by` the cause).
    The first finding is the top cause, and its `changes` the fix to try
    first. An empty list means no rule fired.

    Args:
        history: The epoch history: a `history.csv` frame or a
            `History.history` dict (key -> one value per epoch).
        recipe: The resolved `Recipe`, used to write concrete `--set` fixes.
        events: The monitors' events (`events.json`).
        data_info: The data description `describe_data` writes to
            `data.json` (`baseline_loss`, `feature_scales`, `normalize`, `rows`).

    Returns:
        A list of `Finding`, causes first.

    Example:

    ```python
    run = train(load_recipe("digits_mlp", ["training.epochs=3"]), verbose=0)
    findings = diagnose(run.history, run.recipe, run.events)
    ```
    """
    from kerasforge.recipes.diagnosis.evidence import RunEvidence

    frame = history if isinstance(history, pd.DataFrame) else pd.DataFrame(history)
    run = RunEvidence(frame.reset_index(drop=True), recipe, list(events or []), dict(data_info or {}))
    if run.history.empty or "loss" not in run.history:
        return []
    found = {}
    for registered in rules():
        finding = registered.detect(run)
        if finding is not None:
            found[registered.kind] = finding
    return group_findings(found)


def diagnosis_record(findings: Sequence[Finding]) -> dict:
    """Returns the JSON document `diagnosis.json` holds for a list of findings.

    Args:
        findings: The output of `diagnose`.

    Returns:
        `{"healthy": bool, "top_cause": kind or None, "findings": [...]}`,
        each finding as `Finding.to_dict` gives it (kind, role, caused_by,
        evidence, numbers, changes, fix, epoch, title).

    Example:

    ```python
    json.dumps(diagnosis_record(diagnose(run.history, run.recipe)))
    ```
    """
    causes = [finding.kind for finding in findings if finding.role == CAUSE]
    return {
        "healthy": not findings,
        "top_cause": causes[0] if causes else None,
        "findings": [finding.to_dict() for finding in findings],
    }
