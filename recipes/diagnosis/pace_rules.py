"""`too_slow`: a trial still improving, but too slowly to reach the search's top trials in the epochs left.

The one online rule that judges a run by where its learning curve is going
rather than by a symptom it shows: it projects the run's best value so far
over the epochs left, from its recent pace, and stops the run when even that
projection falls short of the search's top finished trials. The projection is
built to overestimate where a run ends (loss curves flatten), so a run is
stopped only when its optimistic future is not good enough. The shapes of a
curve this reads (`speeding_up`, `spread_above`) are shared with
`online_rules`' test of a stuck run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kerasforge.recipes.diagnosis.evidence import RECENT_EPOCHS

TOO_SLOW = "too_slow"

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


def speeding_up(gains: np.ndarray) -> bool:
    """Whether the loss never rose over these epochs (gains: loss taken off), and fell most in the last.

    A run leaving a plateau speeds up: its loss curve bends down there (it is not
    convex yet), so its pace so far says nothing of where it goes. A flattening
    run's gains shrink, and a stuck run's bounce around zero.
    """
    return len(gains) > 1 and gains[:-1].min() >= 0 and gains[-1] > gains[:-1].max()


def spread_above(values: np.ndarray, best: np.ndarray) -> float:
    """The mean of the last `len(best)` values above `best`, their best so far at each epoch.

    A noisy run's best so far is one lucky draw, and each epoch to come is
    another: the next may land below it by about as much as its values lie above it.
    """
    return float(np.mean(values[-len(best) :] - best))


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
        if speeding_up(gains):
            return None  # no falling gain bounds where it goes
        pace = float(recent[0] - recent[-1]) / len(gains)
        spread = spread_above(values, recent)
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
