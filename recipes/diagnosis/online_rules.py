"""The diagnosis rules a search can run while a trial trains, to stop a trial that cannot recover.

Each function here returns an `OnlineRule` for `kerasforge.callbacks.TrialPruner`:
`rule(history, epoch, epochs) -> (kind, evidence) | None`, called at every epoch's
end with the epochs so far. A rule of the offline diagnosis that reads a partial
history as well as a whole one is called as it is (`exploding`, `dead_units`,
`vanishing` on a `RunEvidence` of the epochs so far); the others are written here,
beside the facts they share with their offline twins (`NO_PROGRESS_SHARE`,
`DIVERGED_FACTOR`, `UNDERFIT_SHARE`), except `too_slow`, which projects a curve's
pace rather than reading a symptom and has a module of its own (`pace_rules`).

A trial is stopped only for what training does not undo: a symptom that already
keeps the loss at half a constant prediction's or worse; a loss that stays at the
constant prediction's; a validation loss far above where it started and above a
constant prediction's, its training loss not mending; or a pace too
slow to reach the search's top completed trials in the epochs left, even at
the best pace it showed lately. The patience is in epochs and every threshold is a ratio,
so the rules judge a regression on targets in the hundreds like a classifier.

The loss's rules judge the search's objective only when it is a loss. A search
for `val_accuracy` keeps a trial whose loss failed but whose accuracy ranks with
the top trials: at Adam 10 on breast_cancer, weights blown up to a training loss
of 80,000 still classified 92-96 % of the validation rows (a constant
prediction: 63 %). There a loss rule stops a trial only when its objective is also behind
the top third of the finished trials at the same epoch (`behind_the_top`); for any
objective, never a trial that ranks with them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kerasforge.recipes.diagnosis import layer_rules
from kerasforge.recipes.diagnosis.evidence import STILL_IMPROVING_RATE, RunEvidence
from kerasforge.recipes.diagnosis.loss_curve_rules import UNDERFIT_SHARE
from kerasforge.recipes.diagnosis.pace_rules import TOO_SLOW, speeding_up, spread_above, too_slow_rule
from kerasforge.recipes.diagnosis.step_size_rules import DIVERGED_FACTOR, NO_PROGRESS_SHARE
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import HealthKind
from kerasforge.vocabulary.health_thresholds import VANISHING_PATIENCE

CONSTANT_PREDICTION = "constant_prediction"
DIVERGING = "diverging"
ONLINE_KINDS = (
    HealthKind.NON_FINITE.value,
    HealthKind.EXPLODING.value,
    HealthKind.VANISHING.value,
    HealthKind.DEAD_UNITS.value,
    CONSTANT_PREDICTION,
    DIVERGING,
    TOO_SLOW,
)
"""Every kind a `diagnosis` pruner reports (`non_finite` is `TrialPruner`'s own rule)."""

STUCK_EPOCHS = 2
"""Epochs in a row the loss must fall by less than `STILL_IMPROVING_RATE` of a constant
prediction's loss before the run counts as stuck (see `_stuck_at`): at `NO_PROGRESS_SHARE` of
that loss or above for `constant_prediction`, at `UNDERFIT_SHARE` or above for a gradient
symptom. Judged from epoch 3, so the first epoch, which starts from the initial weights, is
never judged alone. A run that learns takes several percent of a constant's loss off per epoch
(one epoch is hundreds of steps on the smallest bundled data); two epochs under 1 % each are
two independent looks that agree."""

DIVERGING_EPOCHS = 3
"""Epochs in a row the validation loss must stay `DIVERGED_FACTOR` times above its first epoch's.
A validation loss measured on a few dozen rows jumps: on breast_cancer's 85 validation rows,
deep Adam runs whose first epoch happened to land low spent two epochs at 2-5x it and then fell
to a quarter of it (the best scores of their searches). Three epochs in a row is a trend."""

CHECK_EVERY = 32
"""Batches between the pruner's looks inside an epoch (`TrialPruner(check_every=...)`): the mean
loss of 32 batches varies a sixth (1/sqrt(32)) as much as one batch's, so a rise of
`DIVERGED_FACTOR` is no noise; and on TensorFlow and JAX one call runs up to 32 steps
(`MAX_STEPS_PER_EXECUTION`), so a look per call makes no step wait for another."""

EXPLODING_WINDOWS = 2
"""Windows of `CHECK_EVERY` batches in a row the training loss must stay exploded: one window's
spike of a high-rate run can come back down, two in a row have left its start behind."""


def _evidence(history: Mapping[str, Sequence[float]], recipe: Recipe | None, data_info: dict) -> RunEvidence:
    frame = pd.DataFrame({key: list(values) for key, values in history.items()})
    return RunEvidence(frame, recipe, [], dict(data_info))


def _shares(history: Mapping[str, Sequence[float]], baseline: float | None) -> np.ndarray | None:
    """Per epoch, the smaller of loss and val_loss over a constant prediction's (as `fit_share`)."""
    if not baseline or "loss" not in history:
        return None
    loss = np.asarray(history["loss"], dtype=float)
    if "val_loss" in history:
        loss = np.fmin(loss, np.asarray(history["val_loss"], dtype=float))
    return loss / baseline


def _stuck_at(shares: np.ndarray | None, floor: float) -> np.ndarray | None:
    """The best shares of the last `STUCK_EPOCHS` + 1 epochs when the loss stopped falling at `floor`
    or above, else None.

    Stopped: for `STUCK_EPOCHS` epochs in a row the run's best share so far
    (the loss over a constant prediction's, see `_shares`) stayed at `floor`
    or above, no epoch of them took `STILL_IMPROVING_RATE` of a constant's loss
    off it, and it is not speeding up (`speeding_up`). A run that learns takes
    several percent off per epoch; two epochs under 1 % each are two looks that
    agree, where one epoch's look is fooled by a validation loss that jumps.
    The best so far, not the last value, so that a run bouncing far above a
    constant's loss is judged by the lowest it reached, not by its bounces;
    and that best less the mean spread of these epochs above it must stay at
    `floor`, since a bouncing run's next draw may land lower: on a held-out
    wine search (36 validation rows), an RMSprop run at 0.18 whose val loss
    went 3.2, 5.4, 7.6 (3-7x a constant's) reached 0.0000 at epoch 8, the best
    score of its search.
    """
    if shares is None or len(shares) < STUCK_EPOCHS + 1 or not np.all(np.isfinite(shares)):
        return None
    recent = np.minimum.accumulate(shares)[-(STUCK_EPOCHS + 1) :]
    if recent[-1] - spread_above(shares, recent) < floor:
        return None
    gains = -np.diff(recent)
    # A new best after a flat epoch is what a stuck run's noise gives: only a loss that fell in
    # each of these epochs, faster each time, is leaving a plateau.
    if gains.max() >= STILL_IMPROVING_RATE or (gains.min() > 0 and speeding_up(gains)):
        return None
    return recent


def symptom_rule(recipe: Recipe | None, data_info: dict):
    """Exploding or vanishing gradients, or dead units, that already keep the loss from falling.

    Calls the offline rules `exploding`, `vanishing` and `dead_units` on the
    epochs so far (the monitors' `grad_norm`, `update_ratio` and
    `dead_fraction` logs). A symptom stops the trial only when the loss keeps
    it from learning: the loss stopped falling (`_stuck_at`) at `UNDERFIT_SHARE`
    of a constant prediction's or above (half of what a constant cannot explain
    is still unexplained), so no symptom is judged before epoch
    `STUCK_EPOCHS` + 1. A net whose layers misbehave but which learns anyway is
    left to finish. Adam and RMSprop divide each step by the gradient's own
    scale, so a layer with tiny gradients still moves and one with huge
    gradients takes bounded steps: a deep sigmoid net on its first plateau
    often leaves it (on breast_cancer, one went from 97 % to 10 % of a
    constant's loss after the epoch vanishing was seen), and a tanh net at
    Adam 1.4 on diabetes, its gradients exploding in epoch 1 at 127 % of a
    constant's loss, ended in its search's top quarter. On diabetes, deep relu
    nets at Adam 0.07-0.09 with dead units had validation losses that rose for
    one epoch by a quarter and then fell to the top quarter: one epoch is not a
    trend. Vanishing gradients must have lasted `VANISHING_PATIENCE` epochs, as
    the monitor asks.
    """
    # Each with the epochs its offline rule needs; `_stuck_at` waits longer anyway.
    checks = (
        (layer_rules.exploding, 1),
        (layer_rules.dead_units, 1),
        (layer_rules.vanishing, VANISHING_PATIENCE),
    )

    def rule(history, epoch, epochs):
        stuck = _stuck_at(_shares(history, (data_info or {}).get("baseline_loss")), UNDERFIT_SHARE)
        if stuck is None:
            return None
        run = _evidence(history, recipe, data_info)
        for detect, least in checks:
            if run.epochs < least:
                continue
            finding = detect(run)
            if finding is not None:
                return finding.kind, (
                    f"{finding.evidence}; the lowest loss so far is still {stuck[-1]:.0%} of a constant "
                    f"prediction's and fell less than {STILL_IMPROVING_RATE:.0%} of it per epoch lately"
                )
        return None

    return rule


def constant_prediction_rule(baseline: float | None):
    """The loss stays at the constant prediction's: the model has learnt nothing from the inputs.

    Fires when the smaller of the loss and the validation loss stopped falling
    (`_stuck_at`) at `NO_PROGRESS_SHARE` of the loss of predicting the class
    prior (or the target's mean) or above: a slow but sound start falls by
    several percent per epoch, a stuck one by less than one. A loss that falls
    faster each epoch is leaving the plateau, however slowly it started: an
    8-layer relu net at Adam 4e-4 on diabetes took 0.5 % then 0.8 % of a
    constant's loss off in epochs 2 and 3, then 2-8 % per epoch, and ended in
    its search's top quarter. `baseline` is the constant prediction's loss,
    computed from the training labels (`describe_data`'s `baseline_loss`);
    without it the rule never fires.
    """

    def rule(history, epoch, epochs):
        recent = _stuck_at(_shares(history, baseline), NO_PROGRESS_SHARE)
        if recent is None:
            return None
        fastest = float(np.max(-np.diff(recent)))
        return CONSTANT_PREDICTION, (
            f"the lowest loss so far stayed at {recent[-1]:.0%}-{recent[1]:.0%} of {baseline:.4g}, the loss "
            f"of a constant prediction, for epochs {epoch - STUCK_EPOCHS + 1}-{epoch}, falling at most "
            f"{fastest:.1%} of it per epoch"
        )

    return rule


def _recovering(history: Mapping[str, Sequence[float]], baseline: float | None) -> bool:
    """Whether the training loss, above `baseline`, fell in each of the last `DIVERGING_EPOCHS`."""
    train = np.asarray(history.get("loss") or [], dtype=float)[-DIVERGING_EPOCHS:]
    return bool(
        baseline
        and len(train) == DIVERGING_EPOCHS
        and np.all(np.isfinite(train))
        and train[-1] > baseline
        and np.all(np.diff(train) < 0)
    )


def diverging_rule(key: str = "val_loss", baseline: float | None = None):
    """The validation loss diverges: `DIVERGED_FACTOR` times its first epoch's, and above a constant
    prediction's, for `DIVERGING_EPOCHS`.

    The offline twin (`learning_rate_too_high`) calls a loss diverged at
    `DIVERGED_FACTOR` times its first epoch's. Measured from the first epoch,
    not from the best one, so a noisy high-rate run that bounces above its
    best and comes back is left alone; a run this far above where it started,
    epoch after epoch, has its best epoch (the trial's objective) behind it.
    And above `baseline`, the loss of predicting the class prior or the
    target's mean: a run whose first epoch already lands near zero is not
    diverging when it bounces to a fraction of a constant prediction's loss.
    On sklearn's wine (36 validation rows), runs at a first val loss of 0.004
    and 0.06 spent 3 epochs at 0.01-1.05, under a constant prediction's 1.1,
    then finished first and third of their search. Without a `baseline` the
    first epoch alone sets the bar.

    Nor is a run diverging while it recovers (`_recovering`): a training loss
    still above a constant prediction's has fit nothing, so the gap is no
    overfitting, and one that fell in each of these epochs is mending the
    weights a too-large step broke; the val loss follows it down. On
    breast_cancer, a tanh net at SGD 3.1 had val losses of 4.4, 1.8 and 5.4
    (its first: 0.56) while its training loss went 4.1, 3.7, 2.9; by epoch 14
    its val loss was 0.0009, the best of its search.
    """

    def rule(history, epoch, epochs):
        values = np.asarray(history.get(key) or [], dtype=float)
        if len(values) <= DIVERGING_EPOCHS or not np.isfinite(values[0]) or values[0] <= 0:
            return None
        recent = values[-DIVERGING_EPOCHS:]
        bar = max(DIVERGED_FACTOR * values[0], baseline or 0.0)
        if not np.all(~np.isfinite(recent) | (recent > bar)) or _recovering(history, baseline):
            return None
        constant = f" and a constant prediction's {baseline:.4g}" if baseline else ""
        return DIVERGING, (
            f"{key} was {recent[-1]:.4g} at epoch {epoch}, above {DIVERGED_FACTOR:g}x its first epoch's "
            f"{values[0]:.4g}{constant} for {DIVERGING_EPOCHS} epochs (best {np.nanmin(values):.4g})"
        )

    return rule


def exploding_loss_rule(baseline: float | None):
    """A `BatchRule`: the training loss explodes within an epoch, before it turns NaN.

    Fires when the mean training loss of each of the last `EXPLODING_WINDOWS`
    windows of `CHECK_EVERY` batches is `DIVERGED_FACTOR` times the lowest
    window's so far and above a constant prediction's (`baseline`; without it
    the rule never fires). A loss that was falling and now rises half again
    above its best, past what predicting the prior gives, is taking steps too
    large for the curvature it reached: at the same rate the steps grow the
    weights until the loss is NaN. A falling loss, however high (a regression
    whose targets start far from the initial outputs), never fires it.
    """

    def rule(windows, epoch):
        if not baseline or len(windows) <= EXPLODING_WINDOWS:
            return None
        earlier = np.asarray(windows[:-EXPLODING_WINDOWS], dtype=float)
        recent = np.asarray(windows[-EXPLODING_WINDOWS:], dtype=float)
        if not np.any(np.isfinite(earlier)):
            return None
        lowest = float(np.nanmin(earlier))
        if lowest <= 0 or not np.all(
            np.isfinite(recent) & (recent > DIVERGED_FACTOR * lowest) & (recent > baseline)
        ):
            return None
        return HealthKind.EXPLODING.value, (
            f"the training loss rose to {recent[-1]:.4g} in epoch {epoch}, above {DIVERGED_FACTOR:g}x "
            f"its lowest ({lowest:.4g}) and above a constant prediction's ({baseline:.4g}) for "
            f"{EXPLODING_WINDOWS} windows of {CHECK_EVERY} steps"
        )

    return rule


def is_a_loss(objective: str) -> bool:
    """Whether the search's objective is a loss (`val_loss`, `loss`), which the loss's rules judge."""
    return objective.endswith("loss")


def behind_the_top(rule, objective: str, direction: str, reference: Sequence[float] | None, alone: bool):
    """`rule`, silent while the trial's best `objective` so far is as good as the top trials' then.

    `reference[i]` is the top third's best objective by epoch i + 1 (see
    `TrialPruning.reference`). A trial that ranks with them has its score
    already, whatever its loss does next: stopping it would cost the search one
    of its best trials for no gain in what it found. On sklearn wine and iris
    (`benchmarks/pruning_replay.py`, the held-out spaces), two runs whose val
    loss diverged after reaching the best score of their search were stopped,
    their score kept, and counted as false positives. With no reference (fewer
    than `TOO_SLOW_WARMUP` finished trials), the rule fires on its own when
    `alone`, and never otherwise.
    """
    sign = 1.0 if direction == "min" else -1.0

    def gated(history, epoch, epochs):
        values = sign * np.asarray(history.get(objective) or [], dtype=float)
        finite = values[np.isfinite(values)]
        ahead = float(reference[min(epoch, len(reference)) - 1]) if reference else math.nan
        if not math.isfinite(ahead) or not len(finite):
            return rule(history, epoch, epochs) if alone else None
        best = float(finite.min())
        if best <= sign * ahead:
            return None
        verdict = rule(history, epoch, epochs)
        if verdict is None:
            return None
        kind, evidence = verdict
        return kind, (
            f"{evidence}; its best {objective} by epoch {epoch}, {sign * best:.4g}, is behind "
            f"{ahead:.4g}, the top finished trials' by then"
        )

    return gated


def online_rules(
    recipe: Recipe | None,
    data_info: dict,
    objective: str = "val_loss",
    direction: str = "min",
    target: float | None = None,
    reference: Sequence[float] | None = None,
) -> list:
    """The `diagnosis` pruner's rules for one trial, in the order they are asked.

    Args:
        recipe: The trial's recipe (the offline rules read its initialiser and widths).
        data_info: `describe_data`'s description (`baseline_loss`, `rows`, `feature_scales`).
        objective: The search's objective, e.g. `val_loss`.
        direction: `min` or `max`.
        target: The objective a trial must be able to reach to stay: that of the
            search's top completed trials (see `TrialPruning.target`), or None.
        reference: The top third's best objective by each epoch (see
            `TrialPruning.reference`), or None.

    Returns:
        A list of `OnlineRule` callables for `TrialPruner(rules=...)`. The
        loss's rules are `behind_the_top`: silent for a trial that ranks with
        the top trials at the same epoch, and for an objective that is not a
        loss, silent until there are top trials to rank it by.

    Example:

    ```python
    pruner = TrialPruner(rules=online_rules(recipe, describe_data(recipe, data), target=0.12))
    ```
    """
    loss_rules = [
        symptom_rule(recipe, data_info),
        constant_prediction_rule((data_info or {}).get("baseline_loss")),
        diverging_rule(baseline=(data_info or {}).get("baseline_loss")),
    ]
    alone = is_a_loss(objective)
    loss_rules = [behind_the_top(rule, objective, direction, reference, alone) for rule in loss_rules]
    return [*loss_rules, too_slow_rule(objective, direction, target, reference)]


def batch_rules(data_info: dict, objective: str = "val_loss") -> list:
    """The `diagnosis` pruner's rules inside an epoch (`TrialPruner(batch_rules=...)`).

    Args:
        data_info: `describe_data`'s description (`baseline_loss`).
        objective: The search's objective. For one that is not a loss there is
            none: inside the first epoch no objective says whether a trial whose
            loss explodes ranks with the top trials (see `behind_the_top`).

    Returns:
        A list of `BatchRule` callables, for a `TrialPruner` with `check_every=CHECK_EVERY`.
    """
    if not is_a_loss(objective):
        return []
    return [exploding_loss_rule((data_info or {}).get("baseline_loss"))]
