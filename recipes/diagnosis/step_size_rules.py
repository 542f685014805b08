"""Diagnosis rules over the size and number of optimizer steps: a learning rate too high or
too low, batches too large for the epochs given. Each is `(RunEvidence) -> Finding | None`.

The step size is measured, not guessed from the optimizer's name: `update_ratio/<layer>`
is how far one step moved a layer's weights, relative to their norm. A healthy step moves
them by about 1e-3 of their norm (healthy Adam and SGD runs on digits, breast cancer, wine,
iris and diabetes took first steps of 2.5e-3 to 7e-3).
"""

import math

import numpy as np

from kerasforge.recipes.diagnosis.evidence import (
    RunEvidence,
    epoch_number,
    learning_rate,
    learning_rate_change,
)
from kerasforge.recipes.diagnosis.registry import Finding, rule
from kerasforge.vocabulary import health_thresholds, log_keys

# A step that moves the weights by a tenth of their norm leaves the region where the loss is
# close to its linear approximation, so it can overshoot; measured: runs that diverged or
# zig-zagged took first steps of 0.13 to 1e22, healthy ones at most 7e-3.
STEP_TOO_LARGE = 0.1
# ... and steps of 1% of the weights, epoch after epoch, are ten times the healthy size: too
# large when the loss also bounces (Adam at 0.05 and SGD at 1.0 on digits: 0.014 and 0.016).
STEPS_LARGE = 0.01
# Steps below a third of the healthy 1e-3 need thousands of updates to move the weights at all:
# Adam at 1e-6 took 2.6e-6, SGD at 1e-5 on diabetes 1.7e-4, and neither learnt in 15 epochs.
STEPS_TOO_SMALL = 3e-4
# A step moves the weights in proportion to the learning rate (exactly so for SGD and Adam), so a
# rate too low is raised by HEALTHY_STEP over the measured step, between MIN_RAISE and MAX_RAISE
# times: enough to matter, not so much that a misjudged step size overshoots.
HEALTHY_STEP = 1e-3
MIN_RAISE = 10.0
MAX_RAISE = 100.0
# A loss that rises by more than this share from one epoch to the next, twice or more, zig-zags:
# an epoch's mean loss averages many batches, so noise moves it by a percent or two.
RISE_SHARE = 0.05
# A first epoch whose loss is this many times the constant prediction's went the wrong way
# at once: the output starts at the prior, so a sane first epoch ends below that loss.
FIRST_EPOCH_OVERSHOOT = 2.0
# Large steps that leave the loss at this share of a constant prediction's or above made no
# progress: they overshoot every time.
NO_PROGRESS_SHARE = 0.9
# A loss this many times its first epoch's has diverged.
DIVERGED_FACTOR = 1.5
# Steps that end at this share of the run's largest or below have died out: no gradient reaches the
# weights any more. After steps of STEPS_LARGE or more, with the loss left at NO_PROGRESS_SHARE of a
# constant prediction's, the large steps killed the units. Measured: SGD at 4.0 on digits (JAX,
# seeds 0-2) took steps of 0.04 to 0.09 in epoch 1 (averaged over the epoch, so the first ones were
# larger), then 1e-9 or exactly 0; a schedule that decays the rate tenfold leaves steps at 0.1.
DIED_OUT_SHARE = 1e-3
# Initial weights that multiply a signal's spread by more than this, or less than its inverse
# squared, explain big or small steps themselves (see `RunEvidence.init_amplification`).
INIT_TOO_LARGE = 10.0
INIT_TOO_SMALL = 0.01
# Batches this large or smaller are the small-batch regime; with fewer than MIN_UPDATES
# updates per epoch, each epoch is only a handful of steps.
SMALL_BATCH = 32
MIN_UPDATES = 8


def _init_off_scale(run: RunEvidence) -> bool:
    amplification = run.init_amplification()
    return amplification is not None and not INIT_TOO_SMALL <= amplification <= INIT_TOO_LARGE


def _steps_died_out(run: RunEvidence) -> tuple[float, int, float] | None:
    """Large steps that then stopped, with nothing learnt: `(largest, its epoch, last)`, or None.

    The update ratio of an epoch is measured over its first compiled call, which may hold the
    whole epoch; a few huge steps that kill the units are then averaged with the zero steps
    after them, so the largest ratio is a lower bound and `STEPS_LARGE` is the test.
    """
    ratios, largest, share = run.step_ratios(), run.largest_step(), run.fit_share()
    if ratios is None or largest is None or share is None or not np.isfinite(ratios[-1]):
        return None
    size, epoch = largest
    if size >= STEPS_LARGE and ratios[-1] <= DIED_OUT_SHARE * size and share >= NO_PROGRESS_SHARE:
        return size, epoch, float(ratios[-1])
    return None


def _rises(values: np.ndarray, share: float) -> list[int]:
    """Indices i where values[i + 1] is more than `share` above values[i]."""
    with np.errstate(all="ignore"):
        relative = np.diff(values) / np.maximum(np.abs(values[:-1]), 1e-12)
    return [int(index) for index in np.flatnonzero(relative > share)]


def _misbehaviour(run: RunEvidence) -> tuple[list[str], int] | None:
    """How the loss shows overshooting steps: (evidence, epoch), or None when it does not."""
    loss = run.series("loss")
    if loss is None:
        return None
    evidence, epochs = [], []
    if not np.all(np.isfinite(loss)):
        first = int(np.argmax(~np.isfinite(loss)))
        evidence.append(f"loss became {loss[first]} at epoch {first + 1}")
        epochs.append(first + 1)
    elif len(loss) >= 2 and loss[-1] > DIVERGED_FACTOR * loss[0]:
        evidence.append(f"loss went from {loss[0]:.4g} at epoch 1 to {loss[-1]:.4g} at epoch {len(loss)}")
        epochs.append(int(np.argmax(loss > loss[0])) + 1)
    baseline = run.baseline
    if baseline and np.isfinite(loss[0]) and loss[0] >= FIRST_EPOCH_OVERSHOOT * baseline:
        evidence.append(
            f"epoch 1 ended at loss {loss[0]:.4g}, {loss[0] / baseline:.3g}x the {baseline:.4g} "
            "of a constant prediction, where the model started"
        )
        epochs.append(1)
    share = run.fit_share()
    if share is not None and share >= NO_PROGRESS_SHARE:
        evidence.append(f"the loss ended at {share:.0%} of a constant prediction's")
        epochs.append(run.epochs)
    dead = {
        layer: float(values[-1])
        for layer, values in run.layer_columns(log_keys.DEAD_FRACTION).items()
        if values[-1] >= health_thresholds.DEAD_THRESHOLD
    }
    if dead:
        layer = max(dead, key=dead.get)
        evidence.append(f"{dead[layer]:.0%} of `{layer}`'s units are dead")
        epochs.append(1)
    for key in ("loss", "val_loss"):
        values = run.series(key)
        if values is None or not np.all(np.isfinite(values)):
            continue
        rises = _rises(values, RISE_SHARE if key == "loss" else 4 * RISE_SHARE)
        if key == "val_loss":
            # Overfitting raises the validation loss steadily; a zig-zag comes back down.
            rises = [
                index for index in rises if index + 2 < len(values) and values[index + 2] < values[index + 1]
            ]
        if len(rises) >= 2:
            worst = max(rises, key=lambda index: values[index + 1] / values[index])
            evidence.append(
                f"{key} rose in {len(rises)} of {len(values) - 1} epochs, most from "
                f"{values[worst]:.4g} to {values[worst + 1]:.4g} at epoch {worst + 2}"
            )
            epochs.append(rises[0] + 2)
    return (evidence, min(epochs)) if evidence else None


@rule(
    "learning_rate_too_high",
    explains=(
        "exploding",
        "dead_units",
        "saturated",
        "vanishing",
        "overfitting",
        "stopped_too_early",
        "underfitting",
    ),
)
def learning_rate_too_high(run: RunEvidence) -> Finding | None:
    """The steps are too large for the weights: the loss overshoots, bounces or diverges.

    Reads `update_ratio/<layer>` (the step as a share of the weights' norm), the
    loss and val loss, and the constant prediction's loss. Fires when the steps
    are large (the first one at least `STEP_TOO_LARGE` of the weights, the
    first third of the run's at least `STEPS_LARGE`, or steps of `STEPS_LARGE`
    that died out with nothing learnt, see `_steps_died_out`) and the run shows
    it: the loss diverges or turns NaN, the first epoch ends `FIRST_EPOCH_OVERSHOOT`
    times above the constant prediction, the loss ends at `NO_PROGRESS_SHARE`
    of it or above, the loss rises by `RISE_SHARE` (val loss by four times
    that, coming back down) in two epochs or more, or a ReLU layer's units died
    (steps that large push pre-activations below zero for every input). Without
    logged step sizes only a diverging or NaN loss counts. Abstains when steps
    are small (noise in a loss that barely moves is no zig-zag) and when the
    initial weights are far off scale, which explains large or small steps by
    themselves (`exploding`, `vanishing`, `saturated` report those). The fix
    divides the learning rate by ten; dead units, exploding gradients,
    saturation and a bouncing val loss are its consequences.
    """
    if _init_off_scale(run):
        return None
    shown = _misbehaviour(run)
    if shown is None:
        return None
    evidence, epoch = shown
    ratios = run.step_ratios()
    numbers = {}
    if ratios is not None:
        first, typical = float(ratios[0]), run.typical_step()
        numbers = {"first_step_ratio": first, "typical_step_ratio": typical}
        died_out = _steps_died_out(run)
        if first >= STEP_TOO_LARGE or (typical is not None and typical >= STEPS_LARGE):
            evidence.insert(
                0,
                f"the first step moved the weights by {first:.3g} of their norm and steps in the first "
                f"epochs by {typical:.3g} (healthy: about 1e-3; too large from {STEP_TOO_LARGE:g}, "
                f"or {STEPS_LARGE:g} throughout)",
            )
        elif died_out is not None:
            size, at, last = died_out
            evidence.insert(
                0,
                f"steps moved the weights by {size:.3g} of their norm at epoch {at} (healthy: about "
                f"1e-3), then died out: {last:.2g} at epoch {run.epochs}",
            )
        else:
            return None
    elif not any(text.startswith("loss became") or text.startswith("loss went") for text in evidence):
        return None  # without step sizes, only divergence is clear enough
    rate = learning_rate(run.recipe)
    title = "Learning rate too high: steps overshoot"
    if rate is not None:
        title += f" at {rate:.3g}"
        numbers["learning_rate"] = rate
    return Finding(
        "learning_rate_too_high",
        title,
        "; ".join(evidence),
        learning_rate_change(run.recipe, 0.1),
        epoch=epoch,
        numbers=numbers,
    )


@rule("learning_rate_too_low", explains=("stopped_too_early", "underfitting"))
def learning_rate_too_low(run: RunEvidence) -> Finding | None:
    """The steps are too small to get anywhere: the weights hardly move and the loss stays high.

    Reads `update_ratio/<layer>` over the first third of the run, the loss
    against the constant prediction's, and the slope of the last epochs. Fires
    when the typical step moves the weights by less than `STEPS_TOO_SMALL` of
    their norm and the run has not learnt: its loss is still at least half the
    constant prediction's, or still falling at the end (`still_improving`).
    Abstains when the initial weights are far off scale (a step is then small
    next to huge weights, or large next to tiny ones, whatever the rate), when
    the steps are zero (no gradient reaches the weights: no rate moves them), and
    when step sizes were not logged, and when some step was `STEP_TOO_LARGE` or
    the steps died out after large ones (a rate too high, see `_steps_died_out`). The fix scales the rate
    so the step becomes `HEALTHY_STEP`, by `MIN_RAISE` to `MAX_RAISE` times.
    """
    typical = run.typical_step()
    if not typical or typical >= STEPS_TOO_SMALL or _init_off_scale(run):
        return None  # no step at all is no gradient (dead or blocked units), which no rate changes
    largest = run.largest_step()
    if (largest is not None and largest[0] >= STEP_TOO_LARGE) or _steps_died_out(run) is not None:
        return None  # the rate did move the weights a lot once: the steps died out, they were not small
    share = run.fit_share()
    improving = run.still_improving()
    if not (share is not None and share >= 0.5) and improving is None:
        return None
    state = (
        f"the loss is still {share:.0%} of a constant prediction's"
        if share is not None and share >= 0.5
        else f"{improving['key']} was still falling {improving['rate']:.1%} per epoch at the end"
    )
    rate = learning_rate(run.recipe)
    updates = run.updates_per_epoch
    travel = (
        f" ({typical * updates * run.epochs:.2g} of their norm in {run.epochs} epochs)" if updates else ""
    )
    return Finding(
        "learning_rate_too_low",
        "Learning rate too low: the weights barely move" + (f" at {rate:.3g}" if rate is not None else ""),
        f"steps in the first epochs moved the weights by {typical:.2g} of their norm each{travel}, "
        f"under {STEPS_TOO_SMALL:g} (healthy: about 1e-3); {state}",
        learning_rate_change(run.recipe, min(MAX_RAISE, max(MIN_RAISE, HEALTHY_STEP / typical))),
        epoch=1,
        numbers={"typical_step_ratio": typical, "fit_share": share, "learning_rate": rate},
    )


@rule("batch_too_large", explains=("stopped_too_early", "underfitting"))
def batch_too_large(run: RunEvidence) -> Finding | None:
    """Too few updates for the epochs given: each epoch is a handful of large-batch steps.

    Reads the batch size and training rows (`updates_per_epoch`) and the slope
    of the last epochs. Fires when the loss was still falling at the end
    (`still_improving`) and an epoch held fewer than `MIN_UPDATES` updates of
    batches over `SMALL_BATCH` rows: progress comes per update, so at the same
    epochs (and about the same compute) smaller batches go further, as the
    notes' batch vs mini-batch comparison shows. The fix is the power of two
    that gives about 32 updates per epoch, at least `SMALL_BATCH` and at most
    half the current batch.
    """
    updates = run.updates_per_epoch
    if run.recipe is None or updates is None or updates >= MIN_UPDATES:
        return None
    batch = run.recipe.training.batch_size
    if batch <= SMALL_BATCH:
        return None
    improving = run.still_improving()
    if improving is None:
        return None
    rows = run.data_info["rows"]["train"]
    smaller = max(SMALL_BATCH, 2 ** int(math.log2(max(1, rows // 32))))
    smaller = min(smaller, batch // 2)
    return Finding(
        "batch_too_large",
        f"Batch too large for {run.epochs} epochs: {updates} updates per epoch",
        f"{rows} training rows at batch {batch} give {updates} updates per epoch, "
        f"{updates * run.epochs} in all; {improving['key']} was still falling "
        f"{improving['rate']:.1%} per epoch at the end ({improving['start']:.4g} -> {improving['end']:.4g} "
        f"over the last {improving['epochs']} epochs)",
        {"training.batch_size": smaller},
        epoch=epoch_number(run.epochs - 1),
        numbers={
            "batch_size": batch,
            "updates_per_epoch": updates,
            "improvement_per_epoch": improving["rate"],
        },
    )
