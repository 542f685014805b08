"""The diagnosis rules a search can run while a trial trains, to stop a trial that cannot recover.

Each function here returns an `OnlineRule` for `kerasforge.callbacks.TrialPruner`:
`rule(history, epoch, epochs) -> (kind, evidence) | None`, called at every epoch's
end with the epochs so far. A rule of the offline diagnosis that reads a partial
history as well as a whole one is called as it is (`exploding`, `dead_units`,
`vanishing` on a `RunEvidence` of the epochs so far); the others are written here,
beside the facts they share with their offline twins (`NO_PROGRESS_SHARE`,
`DIVERGED_FACTOR`, `UNDERFIT_SHARE`, `RECENT_EPOCHS`).

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
from kerasforge.recipes.diagnosis.evidence import RECENT_EPOCHS, STILL_IMPROVING_RATE, RunEvidence
from kerasforge.recipes.diagnosis.loss_curve_rules import UNDERFIT_SHARE
from kerasforge.recipes.diagnosis.step_size_rules import DIVERGED_FACTOR, NO_PROGRESS_SHARE
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import HealthKind
from kerasforge.vocabulary.health_thresholds import VANISHING_PATIENCE

CONSTANT_PREDICTION = "constant_prediction"
DIVERGING = "diverging"
TOO_SLOW = "too_slow"
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

SLOW_MIN_EPOCHS = 4
"""Epochs before the pace is judged: three epoch-to-epoch gains, so a curve that is speeding up
(a run leaving a plateau) can be told from one that flattens, and one noisy epoch does not set
the pace. Judged from one gain, 2 of 20 pruned trials on the wide digits space would have
finished in the top quarter; from two, replaying 9 unpruned wide searches (digits and
breast_cancer, 30 trials each: `benchmarks/pruning_replay.py`) still stopped runs whose
validation loss bounced for two epochs before falling to the top quarter. A run already
`BEHIND_FACTOR` times behind the top trials at the same epoch is judged from
`BEHIND_MIN_EPOCHS`."""

SLOW_MIN_LEFT = 3
"""The fewest epochs left for `too_slow` to judge a run. A stop saves at most the epochs left,
and over one or two of them one epoch's jump outweighs any pace line: replaying a held-out wine
search (`benchmarks/pruning_replay.py`, seed 200), a run stopped at epoch 22 of 24, its line 1 %
short of the top third's loss, took 12 % off in its last epoch and finished in the top quarter."""

BEHIND_MIN_EPOCHS = 3
"""The earliest epoch `too_slow` judges a run: two epoch-to-epoch gains. One gain is one noisy
look: in the same replays, runs judged on it at epoch 2 (a validation loss that rose once, or a
sigmoid net still on its first plateau) went on to the top quarter."""

BEHIND_FACTOR = 2.0
"""How far behind the search's top third at the same epoch (its loss over theirs) a run must
be to be judged on two gains. Learning curves of one task fall roughly in parallel on a log scale
(a power law of the epochs), so a run at twice the top trials' loss at epoch 3 must halve its
loss more than they will over the same epochs; with its pace also too slow to reach them on a
straight line (an optimistic bound: curves flatten), it does not catch up."""

GAIN_DECAY = 1.0
"""The fastest fall of a run's gain per epoch that `too_slow` credits it with, as `1 / epoch ** GAIN_DECAY`.

A learning curve that levels off as a power law of the epochs (`L + a / epoch ** b`, b > 0) loses
its gains faster than `1 / epoch`; `1 / epoch` itself is a loss falling with the log of the
epochs, which never levels off. So a line whose gains fall as `1 / epoch` from the run's recent
pace still overestimates how far such a run gets, and by much less than a straight line, which
credits every epoch left with the whole recent pace: from epoch 4 of 24 it credits 6.8 recent
gains instead of 20. A curve that levels off exponentially but slowly (a low rate on a
well-conditioned problem) loses its gains slower than `1 / epoch` for a while, and a run leaving
a plateau gains more again: so a run is credited with its own fall when that is slower (see
`gain_decay`), and with a straight line unless its gains fell epoch after epoch. Replaying the
wide searches of `benchmarks/pruning_replay.py --fixed 0` against the straight line (0): on 3
searches of 30k synthetic rows, 0.54 of the epochs trained instead of 0.56 and the best reached in
0.56 of them instead of 0.58; on 15 sklearn searches 0.53 instead of 0.56, the best in 0.63 either
way; no false positive added on either. A cap of 1.5 or 2 trained 0.52 of the sklearn epochs with
the same false positives, 3 added one: 1 is where the physics, not the replays, stops."""


def gain_decay(gains: np.ndarray, epoch: int) -> float:
    """How fast a run's gains fall, as the exponent of `1 / epoch`: its own fall, at most `GAIN_DECAY`.

    Args:
        gains: The loss taken off in each of the last epochs, up to epoch `epoch`.
        epoch: Integer. The epoch of the last gain.

    Returns:
        0 (its gains kept: a straight line) unless they fell epoch after epoch,
        each epoch a new best; then the exponent of the fall from the first of
        them to the last, at most `GAIN_DECAY`. An epoch with no new best is no
        fall: the best so far stands still while a noisy loss bounces above it,
        and a bouncing run's next epoch can gain more than any before (a sigmoid
        net at SGD 1.0 on breast_cancer, its val loss 0.73, 0.63, 0.84, went on
        to the best score of its search).

    Example:

    ```python
    gain_decay(np.array([0.04, 0.03, 0.02]), epoch=4)  # 1.0: halved from epoch 2 to 4, capped
    gain_decay(np.array([0.018, 0.005, 0.008]), epoch=4)  # 0.0: gaining more again
    ```
    """
    first = epoch - len(gains) + 1
    if len(gains) < 2 or first < 1 or np.any(gains <= 0) or np.any(np.diff(gains) > 0):
        return 0.0
    return float(min(GAIN_DECAY, math.log(gains[0] / gains[-1]) / math.log(epoch / first)))


def _falling(decay: float) -> str:
    if decay == 0:
        return ""
    return ", falling as 1/epoch" if decay == 1 else f", falling as 1/epoch^{decay:.2g}"


def gain_epochs(epoch: int, epochs: int, decay: float) -> float:
    """How many of epoch `epoch`'s gains the epochs after it, up to `epochs`, take off at most.

    Epoch `later`'s gain is epoch `epoch`'s times `(epoch / later) ** decay`.

    Args:
        epoch: Integer. The epochs trained so far (at least 1).
        epochs: Integer. The epoch the run ends at.
        decay: Float, as `gain_decay` gives it. 0 gives the epochs left (a straight line).

    Example:

    ```python
    gain_epochs(4, 24, decay=1)  # 6.77: 4 * (1/5 + 1/6 + ... + 1/24)
    gain_epochs(4, 24, decay=0)  # 20.0
    ```
    """
    return float(sum((epoch / later) ** decay for later in range(epoch + 1, epochs + 1)))


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


def _speeding_up(gains: np.ndarray) -> bool:
    """Whether the loss never rose over these epochs (gains: loss taken off), and fell most in the last.

    A run leaving a plateau speeds up: its loss curve bends down there (it is not
    convex yet), so its pace so far says nothing of where it goes. A flattening
    run's gains shrink, and a stuck run's bounce around zero.
    """
    return len(gains) > 1 and gains[:-1].min() >= 0 and gains[-1] > gains[:-1].max()


def _spread_above(values: np.ndarray, best: np.ndarray) -> float:
    """The mean of the last `len(best)` values above `best`, their best so far at each epoch.

    A noisy run's best so far is one lucky draw, and each epoch to come is
    another: the next may land below it by about as much as its values lie above it.
    """
    return float(np.mean(values[-len(best) :] - best))


def _stuck_at(shares: np.ndarray | None, floor: float) -> np.ndarray | None:
    """The best shares of the last `STUCK_EPOCHS` + 1 epochs when the loss stopped falling at `floor`
    or above, else None.

    Stopped: for `STUCK_EPOCHS` epochs in a row the run's best share so far
    (the loss over a constant prediction's, see `_shares`) stayed at `floor`
    or above, no epoch of them took `STILL_IMPROVING_RATE` of a constant's loss
    off it, and it is not speeding up (`_speeding_up`). A run that learns takes
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
    if recent[-1] - _spread_above(shares, recent) < floor:
        return None
    gains = -np.diff(recent)
    # A new best after a flat epoch is what a stuck run's noise gives: only a loss that fell in
    # each of these epochs, faster each time, is leaving a plateau.
    if gains.max() >= STILL_IMPROVING_RATE or (gains.min() > 0 and _speeding_up(gains)):
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


def too_slow_rule(
    objective: str, direction: str, target: float | None, reference: Sequence[float] | None = None
):
    """Still improving, but too slowly to reach the search's top trials in the epochs left.

    Extrapolates the objective's best value so far over every epoch left, from
    its mean gain per epoch over the last `RECENT_EPOCHS` epochs: in a straight
    line, or, when those gains fell epoch after epoch, with each later epoch's
    gain falling as fast as they did but no faster than `1 / epoch`
    (`GAIN_DECAY`, see `gain_decay` and `gain_epochs`). A loss curve flattens
    (it is convex), so its mean recent gain is at least its gain now, and a
    curve that levels off as a power law loses its gains faster than `1 /
    epoch`: the line overestimates how far the run gets. The best value so
    far, not the last, carries the line, so a noisy validation loss sets no
    pace with its bounces; and the line ends lower by the run's mean spread
    above its best over the same epochs: a noisy run's best is one lucky draw,
    and every epoch left is another (a smooth curve has no spread).
    A curve that is speeding up (its last gain its largest, as when a run
    leaves a plateau) is not judged at all, since its gains are not falling
    there. Fires, from epoch `SLOW_MIN_EPOCHS` on and with at least
    `SLOW_MIN_LEFT` epochs left, when even that line does
    not reach `target`, the objective a trial must reach to rank among the
    search's top completed trials. Never fires without a `target`. From
    `BEHIND_MIN_EPOCHS` already when the objective (a loss, minimised) is
    `BEHIND_FACTOR` times `reference` at the same epoch: `reference[i]` is the
    top third's best by epoch i + 1 (see `TrialPruning.reference`).
    """
    sign = 1.0 if direction == "min" else -1.0

    def behind(best, epoch):
        if reference is None or direction != "min" or len(reference) == 0:
            return False
        ahead = reference[min(epoch, len(reference)) - 1]
        return math.isfinite(ahead) and ahead > 0 and float(best[-1]) > BEHIND_FACTOR * ahead

    def rule(history, epoch, epochs):
        if target is None or not math.isfinite(target) or epoch < BEHIND_MIN_EPOCHS:
            return None
        values = sign * np.asarray(history.get(objective) or [], dtype=float)
        if len(values) < BEHIND_MIN_EPOCHS or not np.all(np.isfinite(values)):
            return None
        best = np.minimum.accumulate(values)
        if epoch < SLOW_MIN_EPOCHS and not behind(best, epoch):
            return None
        recent = best[-(RECENT_EPOCHS + 1) :]
        gains = -np.diff(recent)
        if _speeding_up(gains):
            return None  # no falling gain bounds where it goes
        pace = float(recent[0] - recent[-1]) / len(gains)
        spread = _spread_above(values, recent)
        left = max(epochs - epoch, 0)
        if left < SLOW_MIN_LEFT:
            return None
        decay = gain_decay(gains, epoch)
        reachable = float(best[-1]) - pace * gain_epochs(epoch, epochs, decay) - spread
        if reachable <= sign * target:
            return None
        noise = f", less its spread above its best ({spread:.3g})," if spread > 0 else ""
        return TOO_SLOW, (
            f"{objective} {sign * best[-1]:.4g} after {epoch} epochs; from its recent pace "
            f"({pace:.3g} per epoch over {len(gains)} epochs{_falling(decay)}){noise} the {left} "
            f"epochs left reach {sign * reachable:.4g} at best, short of {target:.4g}, the top "
            "completed trials'"
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
