"""Diagnosis rules over the loss curves: overfitting, a run stopped while still improving,
underfitting, and a regression target too widely spread to learn. Each is
`(RunEvidence) -> Finding | None`; thresholds are constants, each with why.
"""

import numpy as np

from kerasforge.recipes.diagnosis.evidence import (
    STILL_IMPROVING_RATE,
    RunEvidence,
    longer_training_change,
)
from kerasforge.recipes.diagnosis.registry import Finding, rule
from kerasforge.recipes.schema.recipe import Recipe

# Overfitting: the val loss rose this much above its minimum, and by more than OVERFIT_NOISE times
# its epoch-to-epoch noise, at least OVERFIT_MIN_EPOCHS later, while the train loss fell by
# OVERFIT_FALL: a trend, not the jitter of a small val split.
OVERFIT_RISE = 0.05
OVERFIT_NOISE = 3.0
OVERFIT_FALL = 0.10
OVERFIT_MIN_EPOCHS = 3
# Overfitting without a rise: GAP_MIN_EPOCHS or more epochs after the val loss's minimum, the
# train loss fell to GAP_TRAIN_FALL of itself or less, so the gap between them (val over train)
# grew GAP_WIDENING times, to GAP_WIDENING or more, while the val loss crept up by less than a rise
# or stayed flat. Measured on the fault zoo's 68 runs at 3 seeds each (204 runs): a digits net on
# 80 rows crept 3 % above its epoch-9 minimum while its train loss fell 7-fold (missed before;
# dropout and early stopping took its val loss from 0.479 to 0.460), and no other run got a finding
# it did not have. Read from mid-run instead, as a val loss still sliding down by under 1 % per
# epoch, it named a noisy regression (100 rows, a 256-256 net, 100 epochs) at 2 more seeds, where
# every regulariser tried raised the val loss (dropout 0.3 and early stopping: 204 to 355, 315 to
# 491, 237 to 368; early stopping alone, L2 1e-3 or 1e-2: up to 16 % higher): there, the epochs
# still gain. Healthy runs trained to convergence widen the gap too: that is what their early
# stopping ends (the rule abstains then).
GAP_MIN_EPOCHS = 5
GAP_TRAIN_FALL = 0.5
GAP_WIDENING = 2.0
# Underfitting: the final loss is at least this share of the constant prediction's, so the model
# explains less than half of what a constant cannot.
UNDERFIT_SHARE = 0.5
# A regression target whose standard deviation is this or more is unscaled: a head that starts with
# outputs within about +-1 must grow its weights to the spread, which Adam, moving each about one
# learning rate per step, takes thousands of updates to do. Measured on one synthetic regression
# scaled up, 15 epochs of Adam, 3 seeds (`benchmarks/target_scale.py`): test r2 0.98, 0.97, 0.72,
# 0.39 and 0.22 at stds of 121, 607, 2,429, 6,071 and 12,143, and 0.94 at every one with
# `data.scale_target` (which did worse at diabetes' 78: 0.33 against 0.44). They cross between 1,000
# and 2,000.
TARGET_STD_LIMIT = 1000.0
# A training loss this much above the validation loss is dropout's noise, not the model's fit:
# the network is only trained with units missing.
DROPOUT_GAP = 1.1
# Regularisation is divided by this, dropout halved, and hidden layers widened this many times
# (to at least MIN_WIDTH units), one step in the right direction per round of `doctor`.
REGULARIZATION_STEP = 10.0
WIDEN = 2
MIN_WIDTH = 32


def _regularization_change(recipe: Recipe) -> dict:
    model = recipe.model
    if model.dropout < 0.3:
        changes = {"model.dropout": 0.3}
    else:
        changes = {"model.l2": model.l2 * REGULARIZATION_STEP if model.l2 else 1e-3}
    if not recipe.callbacks.early_stopping.enabled:
        changes["callbacks.early_stopping.enabled"] = True
    return changes


def _jitter(values: np.ndarray) -> float:
    """A robust standard deviation of a curve around its 3-epoch moving average."""
    if len(values) < 4:
        return 0.0
    smooth = (values[:-2] + values[1:-1] + values[2:]) / 3
    return float(1.4826 * np.median(np.abs(values[1:-1] - smooth)))


def _gap_widened(loss: np.ndarray, val: np.ndarray) -> dict | None:
    """How the gap between val and train loss grew after the val loss's minimum, with no rise.

    Returns None unless the minimum came `GAP_MIN_EPOCHS` epochs or more before
    the end, both losses are positive, the val loss at the end is no lower than
    around its minimum (each the median of 3 epochs, so one noisy epoch moves
    neither), the train loss fell to `GAP_TRAIN_FALL` of itself or less since,
    and the gap (val over train) grew `GAP_WIDENING` times to `GAP_WIDENING` or
    more. A val loss that set its minimum in the last epochs is still sliding
    down, however slowly: regularising it then stops what is still a gain.
    """
    start = int(np.argmin(val))
    window = len(val) - 1 - start
    if window < GAP_MIN_EPOCHS or min(loss.min(), val.min()) <= 0:
        return None
    val_start = float(np.median(val[max(start - 1, 0) : start + 2]))
    val_end = float(np.median(val[-3:]))
    gap_start, gap_end = val_start / loss[start], val_end / loss[-1]
    held = val_end >= val_start  # crept up or stayed: a val loss still falling is still learning
    if not held or loss[-1] > GAP_TRAIN_FALL * loss[start] or gap_end < GAP_WIDENING * max(gap_start, 1.0):
        return None
    return {"epoch": start + 1, "val": (val_start, val_end), "gap": (float(gap_start), float(gap_end))}


def _caught_by_early_stopping(run: RunEvidence, epochs_after_best: int) -> bool:
    """Whether early stopping on `val_loss` ended the run and restored the best epoch's weights."""
    stopping = run.recipe.callbacks.early_stopping if run.recipe is not None else None
    return bool(
        stopping is not None
        and stopping.enabled
        and stopping.restore_best_weights
        and stopping.monitor == "val_loss"
        and epochs_after_best <= stopping.patience + 1
    )


@rule("overfitting")
def overfitting(run: RunEvidence) -> Finding | None:
    """The validation loss rises from its minimum, or stalls, while the training loss keeps falling.

    Reads `loss` and `val_loss`. Fires when, `OVERFIT_MIN_EPOCHS` or more epochs
    after its minimum, `val_loss` (at the end, or the median of the epochs after
    the minimum) is above it by `OVERFIT_RISE` and by
    `OVERFIT_NOISE` times its epoch-to-epoch jitter (a small validation split
    jitters by more than a large one), while `loss` fell by `OVERFIT_FALL`:
    the model is learning the training rows, not the task. Fires too when,
    with no such rise, the gap between them widened after the val loss's
    minimum (`_gap_widened`): a val loss that creeps up by less than a rise, or
    stays flat, while the training loss falls towards zero.
    Abstains when early stopping on `val_loss` restored the best weights, since
    the saved model is the one from before the rise. The fix adds dropout (or
    L2 when dropout is on already) and early stopping.
    """
    loss, val = run.series("loss"), run.series("val_loss")
    if val is None or loss is None or not np.all(np.isfinite(val)) or not np.all(np.isfinite(loss)):
        return None
    best = int(np.argmin(val))
    after = len(val) - 1 - best
    # The end, or the level the epochs after the minimum held (half of them higher): a val loss
    # that rose and is sliding back is still a model fitted to its training rows.
    level = max(val[-1], float(np.median(val[best + 1 :]))) if after else val[-1]
    rise = (level - val[best]) / max(abs(val[best]), 1e-12)
    fall = (loss[best] - loss[-1]) / max(abs(loss[best]), 1e-12)
    noise = _jitter(val) / max(abs(val[best]), 1e-12)
    rose = (
        after >= OVERFIT_MIN_EPOCHS
        and rise >= max(OVERFIT_RISE, OVERFIT_NOISE * noise)
        and fall >= OVERFIT_FALL
    )
    widened = None if rose else _gap_widened(loss, val)
    if not (rose or widened) or _caught_by_early_stopping(run, after):
        return None
    changes = _regularization_change(run.recipe) if run.recipe is not None else {"model.dropout": 0.3}
    if widened is not None:
        epoch, (val_start, val_end), (gap_start, gap_end) = widened["epoch"], widened["val"], widened["gap"]
        return Finding(
            "overfitting",
            f"Overfitting from epoch {epoch}: the gap to the training loss widened",
            f"from epoch {epoch} to {len(val)} val_loss held at its minimum or above ({val_start:.4g} to "
            f"{val_end:.4g}) while loss fell from {loss[epoch - 1]:.4g} to {loss[-1]:.4g}: val/train "
            f"{gap_start:.3g}x to {gap_end:.3g}x",
            changes,
            epoch=epoch,
            numbers={
                "gap_before": gap_start,
                "gap_after": gap_end,
                "train_fall": float(1 - loss[-1] / loss[epoch - 1]),
            },
        )
    return Finding(
        "overfitting",
        f"Overfitting from epoch {best + 2}",
        f"val_loss bottomed at {val[best]:.4g} at epoch {best + 1} and held {level:.4g} after it "
        f"(+{rise:.0%}; {val[-1]:.4g} at epoch {len(val)}) while loss fell from {loss[best]:.4g} to "
        f"{loss[-1]:.4g}; final train/val gap {val[-1] - loss[-1]:.4g}",
        changes,
        epoch=best + 2,
        numbers={"best_epoch": best + 1, "val_rise": float(rise), "train_fall": float(fall)},
    )


@rule("stopped_too_early", explains=("underfitting",))
def stopped_too_early(run: RunEvidence) -> Finding | None:
    """Training stopped while the loss was still improving: train longer.

    Reads `val_loss` (`loss` without a validation split) over the last epochs
    and whether early stopping ended the run. Fires when a line fitted to the
    last epochs falls by at least `STILL_IMPROVING_RATE` of the final value per
    epoch, by more than three standard deviations of the points around it, and
    the training loss fell too (see `RunEvidence.still_improving`); early
    stopping did not end it. Abstains when time would not cure the fit: the loss
    is at least `UNDERFIT_SHARE` of a constant prediction's and the epochs the
    fix adds, at the current pace, would leave it there, or it is above a constant
    prediction's with a weight penalty on (the penalty is what falls); then
    `underfitting` names the cause. Such a run is not finished, whatever its
    accuracy: a two-epoch digits run at 0.82 accuracy is not healthy. The fix
    triples the epochs (to at least 30), with early stopping on so the extra
    epochs cannot cost val loss.
    """
    improving = run.still_improving()
    if improving is None:
        return None
    changes = longer_training_change(run.recipe)
    share, loss = run.fit_share(), run.series("loss")
    if share is not None and share >= UNDERFIT_SHARE:
        model = run.recipe.model if run.recipe is not None else None
        if model is not None and model.l1 + model.l2 > 0 and loss[-1] > run.baseline:
            return None  # above a constant prediction's loss, what falls is the weight penalty
        added = changes.get("training.epochs", 2 * run.epochs) - run.epochs
        if share * (1 - improving["rate"]) ** added >= UNDERFIT_SHARE:
            return None  # the added epochs at this pace would still underfit: not a matter of time
    return Finding(
        "stopped_too_early",
        f"Stopped too early: {improving['key']} was still improving at epoch {run.epochs}",
        f"{improving['key']} fell from {improving['start']:.4g} to {improving['end']:.4g} over the last "
        f"{improving['epochs']} epochs, {improving['rate']:.1%} per epoch (still improving above "
        f"{STILL_IMPROVING_RATE:.0%} per epoch, more than its noise)",
        changes,
        epoch=run.epochs,
        numbers={"improvement_per_epoch": improving["rate"], "epochs": run.epochs},
    )


def _capacity_change(run: RunEvidence) -> tuple[str, dict]:
    """What holds the model back, and the change that loosens it."""
    recipe = run.recipe
    model = recipe.model
    loss, val = run.series("loss"), run.series("val_loss")
    penalty = model.l1 + model.l2
    if penalty and run.baseline and loss[-1] > run.baseline:
        # The data part of a loss cannot stay above a constant prediction's: the penalty does.
        key = "model.l2" if model.l2 else "model.l1"
        value = model.l2 if model.l2 else model.l1
        return f"the weight penalty ({key}={value:g}) dominates the loss", {key: value / REGULARIZATION_STEP}
    if model.dropout and val is not None and loss[-1] > DROPOUT_GAP * val[-1]:
        return (
            f"dropout {model.dropout:g} keeps the training loss {loss[-1] / val[-1]:.2f}x the val loss",
            {"model.dropout": round(model.dropout / 2, 3)},
        )
    if penalty:
        key = "model.l2" if model.l2 else "model.l1"
        value = model.l2 if model.l2 else model.l1
        return f"the weight penalty {key}={value:g} limits it", {key: value / REGULARIZATION_STEP}
    widths = model.hidden_widths
    if model.units is not None:
        return f"{model.layers} layers of {model.units} units", {
            "model.units": max(WIDEN * model.units, MIN_WIDTH)
        }
    wider = [max(WIDEN * width, MIN_WIDTH) for width in widths] or [MIN_WIDTH]
    return f"hidden layers {widths}", {"model.hidden": wider}


@rule("underfitting")
def underfitting(run: RunEvidence) -> Finding | None:
    """The model explains little of the data: the loss stays near a constant prediction's.

    Reads the final train and val loss (the smaller, so dropout's noise does not
    count) against the constant predictor's loss (`baseline_loss` in
    `data.json`). Fires when it is at least `UNDERFIT_SHARE` of it. The fix
    loosens what holds the model back: a weight penalty that dominates the loss
    is divided by ten, dropout that keeps the training loss `DROPOUT_GAP` times
    the val loss is halved, and otherwise the hidden layers are widened. A
    learning rate, an initialisation or a run stopped too early explain it
    first when they fire.
    """
    share = run.fit_share()
    if share is None or share < UNDERFIT_SHARE or run.epochs < 2:
        return None
    reason, changes = ("", {}) if run.recipe is None else _capacity_change(run)
    return Finding(
        "underfitting",
        "Underfitting: the model explains little of the data",
        f"final loss {share * run.baseline:.4g} after {run.epochs} epochs is {share:.0%} of "
        f"{run.baseline:.4g}, the loss of a constant prediction" + (f"; {reason}" if reason else ""),
        changes,
        epoch=run.epochs,
        numbers={"fit_share": share},
    )


# Registered last, so shown after every other cause: a learning rate too low, vanishing gradients,
# a batch too large or too few epochs also leave a regression's loss near a constant's, and each
# is the cause to fix first (the fault zoo's regressions, all on targets of std 77 and more).
@rule(
    "unscaled_target",
    explains=("underfitting",),
    needs_consequence=True,
)
def unscaled_target(run: RunEvidence) -> Finding | None:
    """A regression target spread far wider than a freshly initialised network's outputs.

    Reads the target's standard deviation over the training rows and
    `data.scale_target` from the data description. Fires when the target is
    not scaled and its spread is `TARGET_STD_LIMIT` or more: the head starts at
    the target's mean (its bias) but its weights must grow to the spread, so
    the loss lingers near a constant prediction's and a wider or longer run
    helps little. Reported only when the run shows that (`underfitting`); a
    learning rate too low or a run stopped too early have fixes of their own.
    The fix is `data.scale_target`, which keeps the loss in the target's units.
    """
    spread = run.data_info.get("target_std")
    if run.data_info.get("scale_target") or spread is None or spread < TARGET_STD_LIMIT:
        return None
    return Finding(
        "unscaled_target",
        "Unscaled target: the regression target spreads far wider than the network's outputs start",
        f"the target's std over the training rows is {spread:.4g} (at least {TARGET_STD_LIMIT:g} is "
        "unscaled), and data.scale_target is false",
        {"data.scale_target": True},
        numbers={"target_std": float(spread)},
    )
