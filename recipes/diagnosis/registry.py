"""The diagnosis registry: every rule is declared once, where it is written.

A rule is a function `(RunEvidence) -> Finding | None` decorated with `@rule(kind)`.
The decorator is the only place a rule is listed: `diagnose`, the HTML report,
`kerasforge report --rules` and the tests all read `rules()`. Adding a rule is one
decorated function in one of `RULE_MODULES`.

A rule may name the kinds its finding `supersedes`: when both fire, the superseded
finding is a consequence of this one (a high final loss is what vanishing gradients
look like from outside), so only the cause is shown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from kerasforge.recipes.diagnosis.evidence import RunEvidence
    from kerasforge.recipes.schema.recipe import Recipe

# The modules whose decorated functions are the rules, in the order findings are shown.
RULE_MODULES = (
    "kerasforge.recipes.diagnosis.layer_rules",
    "kerasforge.recipes.diagnosis.loss_curve_rules",
)


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem of a training run.

    Attributes:
        kind: The kind of the rule that found it, e.g. `"overfitting"` (see `kinds()`).
        title: One line naming the problem.
        evidence: The numbers and epochs behind it, e.g. "val_loss bottomed
            at 0.31 at epoch 6 and rose to 0.52 by epoch 20".
        fix: The recipe change to try, as command-line overrides, e.g.
            `--set model.dropout=0.3`.
        epoch: The epoch the problem starts or is clearest at, if any.

    Raises:
        ValueError: If `kind` is not the kind of a registered rule.

    Example:

    ```python
    finding = Finding("plateau", "Loss is flat", "loss moved 0.1% in 5 epochs",
                      "--set training.learning_rate=0.01", epoch=12)
    finding.to_dict()["kind"]  # "plateau"
    ```
    """

    kind: str
    title: str
    evidence: str
    fix: str
    epoch: int | None = None

    def __post_init__(self):
        allowed = kinds()
        if self.kind not in allowed:
            raise ValueError(f"Argument `kind` must be one of {allowed}. Received: kind={self.kind!r}")

    def to_dict(self) -> dict:
        """Returns the finding as a plain JSON-ready dict."""
        return asdict(self)


RuleFunction = Callable[["RunEvidence"], "Finding | None"]


@dataclass(frozen=True)
class Rule:
    """A registered diagnosis rule.

    Attributes:
        kind: The kind of finding it reports.
        detect: The rule function.
        supersedes: Kinds whose findings are consequences of this one.
    """

    kind: str
    detect: RuleFunction
    supersedes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The first line of the rule's docstring: what it detects."""
        return (self.detect.__doc__ or "").strip().splitlines()[0]


_REGISTRY: dict[str, Rule] = {}


def rule(kind: str, supersedes: Sequence[str] = ()) -> Callable[[RuleFunction], RuleFunction]:
    """Registers a diagnosis rule under `kind`.

    Args:
        kind: String. The kind of finding the rule reports; unique.
        supersedes: Kinds whose findings this one explains, and hides when both fire.

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
        _REGISTRY[kind] = Rule(kind, function, tuple(supersedes))
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


def diagnose(
    history: pd.DataFrame | dict,
    recipe: Recipe | None = None,
    events: list | None = None,
    data_info: dict | None = None,
) -> list[Finding]:
    """Runs every registered diagnosis rule on a training run.

    A finding superseded by another that fired (see `rule`) is left out, so
    a cause is not listed again as its own consequence. An empty list means
    no rule fired.

    Args:
        history: The epoch history: a `history.csv` frame or a
            `History.history` dict (key -> one value per epoch).
        recipe: The resolved `Recipe`, used to write concrete `--set` fixes.
        events: The monitors' events (`events.json`).
        data_info: The data description `describe_data` writes to
            `data.json` (`baseline_loss`, `feature_scales`, `normalize`).

    Returns:
        A list of `Finding`, in rule order.

    Example:

    ```python
    run = train(load_recipe("digits_mlp", ["training.epochs=3"]), verbose=0)
    findings = diagnose(run.history, run.recipe, run.events)
    ```
    """
    from kerasforge.recipes.diagnosis.evidence import RunEvidence

    frame = history if isinstance(history, pd.DataFrame) else pd.DataFrame(history)
    run = RunEvidence(frame.reset_index(drop=True), recipe, list(events or []), dict(data_info or {}))
    if run.history.empty:
        return []
    fired = {}
    for registered in rules():
        finding = registered.detect(run)
        if finding is not None:
            fired[registered.kind] = (registered, finding)
    hidden = {kind for registered, _ in fired.values() for kind in registered.supersedes}
    return [finding for kind, (_, finding) in fired.items() if kind not in hidden]
