"""`diagnose`: reads a run's history and data description and lists what went wrong.

Each rule is a function `(evidence) -> Finding | None` over the epoch history
that `train` writes (`history.csv`: loss, val_loss, `grad_norm/<layer>`,
`dead_fraction/<layer>`, `learning_rate`, ...), the monitors' events and the
data description (`data.json`). The rules live in `layer_rules` and
`loss_curve_rules`, with their thresholds as module constants, so a test or a
curious user can see exactly what fires each one.
"""

import pandas as pd

from kerasforge.recipes.diagnosis import layer_rules, loss_curve_rules
from kerasforge.recipes.diagnosis.evidence import RunEvidence
from kerasforge.recipes.diagnosis.registry import Finding
from kerasforge.recipes.schema.recipe import Recipe

# When one of these fired, a high loss is its symptom, not a separate finding.
_CAUSES_OF_UNDERFITTING = {"vanishing", "exploding", "dead_relu", "plateau", "learning_rate_too_high"}

RULES = (
    layer_rules.vanishing,
    layer_rules.exploding,
    layer_rules.dead_relu,
    loss_curve_rules.overfitting,
    loss_curve_rules.underfitting,
    loss_curve_rules.flat,
    loss_curve_rules.learning_rate_too_high,
    layer_rules.unnormalized_inputs,
)


def diagnose(
    history: pd.DataFrame | dict,
    recipe: Recipe | None = None,
    events: list | None = None,
    data_info: dict | None = None,
) -> list[Finding]:
    """Runs every diagnosis rule on a training run.

    Rules: vanishing and exploding gradients, dead ReLUs, overfitting (with
    the epoch it starts), underfitting, a plateau or convergence, a learning
    rate that is too high (diverging or zig-zagging loss) and unnormalised
    inputs. An empty list means a healthy run.

    Args:
        history: The epoch history: a `history.csv` frame or a
            `History.history` dict (key -> one value per epoch).
        recipe: The resolved `Recipe`, used to write concrete `--set` fixes.
        events: The monitors' events (`events.json`).
        data_info: The data description `describe_data` writes to
            `data.json` (`baseline_loss`, `feature_scales`, `normalize`).

    Returns:
        A list of `Finding`, most fundamental first.

    Example:

    ```python
    run = train(load_recipe("digits_mlp", ["training.epochs=3"]), verbose=0)
    findings = diagnose(run.history, run.recipe, run.events)
    ```
    """
    frame = history if isinstance(history, pd.DataFrame) else pd.DataFrame(history)
    run = RunEvidence(frame.reset_index(drop=True), recipe, list(events or []), dict(data_info or {}))
    if run.history.empty:
        return []
    findings = [finding for rule in RULES if (finding := rule(run)) is not None]
    kinds = {finding.kind for finding in findings}
    if kinds & _CAUSES_OF_UNDERFITTING:
        findings = [finding for finding in findings if finding.kind != "underfitting"]
    if "learning_rate_too_high" in kinds:  # a bouncing val loss is not overfitting
        findings = [finding for finding in findings if finding.kind != "overfitting"]
    return findings
