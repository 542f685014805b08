"""Diagnosis rules over the loss curves: overfitting, underfitting, a plateau or
convergence, a learning rate that is too high. Each is `(RunEvidence) -> Finding | None`.
"""

import numpy as np

from kerasforge.recipes.diagnosis.evidence import RunEvidence, epoch_number, learning_rate_fix
from kerasforge.recipes.diagnosis.registry import Finding, rule
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import log_keys

# Overfitting: the val loss rose this much above its minimum, at least OVERFIT_MIN_EPOCHS later,
# while the train loss fell by as much.
OVERFIT_RISE = 0.10
OVERFIT_MIN_EPOCHS = 3
# Underfitting: final train loss at least this fraction of the constant-predictor loss.
UNDERFIT_FRACTION = 0.5
# Plateau / convergence: train loss moved less than this (relative) over the window.
FLAT_CHANGE = 0.01
FLAT_WINDOW = 5
# Too high a learning rate: the loss rose by over RISE_STEP (or the val loss bounced up
# by VAL_JUMP and back) at least twice while it stayed above ZIGZAG_PROGRESS of its start.
RISE_STEP = 0.01
DIVERGED_FACTOR = 1.5
# A zig-zag only counts while the loss stays above this fraction of its first value.
ZIGZAG_PROGRESS = 0.5
# ... or the validation loss jumps by this much and falls back, at least twice.
VAL_JUMP = 0.10


@rule("overfitting")
def overfitting(run: RunEvidence) -> Finding | None:
    """The validation loss rises from its minimum while the training loss keeps falling.

    Reads `loss` and `val_loss`. Fires when, `OVERFIT_MIN_EPOCHS` or more epochs
    after its minimum, `val_loss` is `OVERFIT_RISE` above it while `loss` fell by as
    much: the model is learning the training rows, not the task. Abstains when early
    stopping on `val_loss` restored the best weights, since the saved model is the
    one from before the rise.
    """
    loss, val = run.series("loss"), run.series("val_loss")
    if val is None or loss is None or not np.all(np.isfinite(val)):
        return None
    best = int(np.argmin(val))
    after = len(val) - 1 - best
    rise = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
    fall = (loss[best] - loss[-1]) / max(abs(loss[best]), 1e-12)
    if after < OVERFIT_MIN_EPOCHS or rise < OVERFIT_RISE or fall < OVERFIT_RISE:
        return None
    stopping = run.recipe.callbacks.early_stopping if run.recipe is not None else None
    if (
        stopping is not None
        and stopping.enabled
        and stopping.restore_best_weights
        and stopping.monitor == "val_loss"
        and after <= stopping.patience + 1
    ):
        return None  # early stopping caught it and the model has the best epoch's weights
    model = run.recipe.model if run.recipe is not None else None
    if model is None or model.dropout < 0.3:
        fix = "--set model.dropout=0.3"
    elif model.l2 == 0:
        fix = "--set model.l2=1e-3"
    else:
        fix = f"--set model.l2={model.l2 * 10:g}"
    if run.recipe is not None and not run.recipe.callbacks.early_stopping.enabled:
        fix += " --set callbacks.early_stopping.enabled=true"
    return Finding(
        "overfitting",
        f"Overfitting from epoch {best + 2}",
        f"val_loss bottomed at {val[best]:.4g} at epoch {best + 1} and rose to {val[-1]:.4g} "
        f"by epoch {len(val)} (+{rise:.0%}) while loss fell from {loss[best]:.4g} to "
        f"{loss[-1]:.4g}; final train/val gap {val[-1] - loss[-1]:.4g}",
        fix,
        epoch=best + 2,
    )


def _final_loss(loss: np.ndarray) -> float:
    return float(np.min(loss[-3:]))


def _wider_model_fix(recipe: Recipe | None) -> str:
    model = recipe.model if recipe is not None else None
    if model is not None and model.units is not None:
        return f"--set model.units={2 * model.units}"
    widths = model.hidden_widths if model is not None else [32, 32]
    return f"--set model.hidden=[{','.join(str(2 * width) for width in widths) or '64'}]"


@rule("underfitting")
def underfitting(run: RunEvidence) -> Finding | None:
    """The model explains little of the data: the loss stays near a constant prediction's.

    Reads `loss` and the constant predictor's loss (`baseline_loss` in `data.json`).
    Fires when the final training loss is at least `UNDERFIT_FRACTION` of it. A
    growing loss is left to the learning-rate rule; a loss still falling fast asks
    for more epochs, otherwise for a wider model and a larger rate.
    """
    loss, baseline = run.series("loss"), run.data_info.get("baseline_loss")
    if loss is None or len(loss) < 3 or not baseline or not np.all(np.isfinite(loss)):
        return None
    if loss[-1] > loss[0]:
        return None  # a growing loss is a learning-rate problem, not too small a model
    share = _final_loss(loss) / baseline
    if share < UNDERFIT_FRACTION:
        return None
    val = run.series("val_loss")
    also = f"; val_loss {val[-1]:.4g}" if val is not None else ""
    epochs = len(loss)
    still_falling = epochs >= 3 and loss[-1] < loss[-3] * (1 - 2 * FLAT_CHANGE)
    if still_falling:
        fix = f"--set training.epochs={epochs * 3}"
    else:
        fix = _wider_model_fix(run.recipe) + " " + learning_rate_fix(run.recipe, 3)
    return Finding(
        "underfitting",
        "Underfitting: the model explains little of the data",
        f"train loss {_final_loss(loss):.4g} after {epochs} epochs is {share:.0%} of "
        f"{baseline:.4g}, the loss of a constant prediction{also}",
        fix,
        epoch=epochs,
    )


def _flat_stretch(run: RunEvidence) -> tuple[np.ndarray, int, str] | None:
    """The last `FLAT_WINDOW` epochs of a loss that barely moved: (window, start epoch, evidence)."""
    loss = run.series("loss")
    if loss is None or len(loss) <= FLAT_WINDOW or not np.all(np.isfinite(loss)):
        return None
    window = loss[-FLAT_WINDOW - 1 :]
    change = (window.max() - window.min()) / max(abs(window.mean()), 1e-12)
    if change >= FLAT_CHANGE:
        return None
    # The epoch from which the loss stays within FLAT_CHANGE of where it ends.
    spread = np.abs(loss - loss[-1]) / max(abs(loss[-1]), 1e-12)
    outside = np.flatnonzero(spread >= FLAT_CHANGE)
    start = min(int(outside[-1]) + 2 if len(outside) else 1, len(loss) - FLAT_WINDOW)
    norms = run.global_series(log_keys.GRAD_NORM)
    gradient = ""
    if norms is not None:
        gradient = f"; grad_norm/global {norms[-1]:.3g} at epoch {len(loss)} (peak {np.nanmax(norms):.3g})"
    evidence = (
        f"train loss stayed within {FLAT_CHANGE:.0%} of {loss[-1]:.4g} from epoch "
        f"{start} to {len(loss)} (last {FLAT_WINDOW} epochs: {change:.2%} change){gradient}"
    )
    return window, start, evidence


def _stuck_high(run: RunEvidence, window: np.ndarray) -> bool:
    baseline = run.data_info.get("baseline_loss")
    if baseline:
        return bool(window[-1] >= UNDERFIT_FRACTION * baseline)
    return bool(window[-1] >= 0.5 * run.series("loss")[0])


@rule("plateau", supersedes=("underfitting",))
def plateau(run: RunEvidence) -> Finding | None:
    """Training sits on a flat surface: the loss stopped moving while still high.

    Reads `loss` (and `grad_norm/global` for the evidence). Fires when the loss
    moved less than `FLAT_CHANGE` over the last `FLAT_WINDOW` epochs and is still
    at least `UNDERFIT_FRACTION` of the constant prediction's loss: the updates are
    too small to leave the flat region, so the fix is a larger step.
    """
    stretch = _flat_stretch(run)
    if stretch is None or not _stuck_high(run, stretch[0]):
        return None
    _, start, evidence = stretch
    fix = learning_rate_fix(run.recipe, 10, at_least=1e-3)
    if run.recipe is not None and run.recipe.training.optimizer == "sgd":
        fix += " --set training.optimizer=adam"
    return Finding("plateau", "Plateau: training sits on a flat surface", evidence, fix, epoch=start)


@rule("converged")
def converged(run: RunEvidence) -> Finding | None:
    """The loss stopped moving at a low value: later epochs were spent for nothing.

    Reads `loss`. Fires when the loss moved less than `FLAT_CHANGE` over the last
    `FLAT_WINDOW` epochs and is below `UNDERFIT_FRACTION` of the constant
    prediction's loss; the fix names the epoch it converged by.
    """
    stretch = _flat_stretch(run)
    if stretch is None or _stuck_high(run, stretch[0]):
        return None
    _, start, evidence = stretch
    return Finding(
        "converged",
        f"Converged by epoch {start}: later epochs changed little",
        evidence,
        f"--set training.epochs={start}",
        epoch=start,
    )


@rule("learning_rate_too_high", supersedes=("underfitting", "overfitting"))
def learning_rate_too_high(run: RunEvidence) -> Finding | None:
    """The steps are too large: the loss diverges, or zig-zags instead of settling.

    Reads `loss` and `val_loss`. Fires when the final loss is `DIVERGED_FACTOR`
    times the first (or not finite), or when the loss rose by `RISE_STEP` at least
    twice, counting `val_loss` jumps of `VAL_JUMP` that come back down, while the
    loss is still above `ZIGZAG_PROGRESS` of where it started. A bouncing val loss
    is then not overfitting, so that finding is hidden.
    """
    loss = run.series("loss")
    if loss is None or len(loss) < 3:
        return None
    finite = np.where(np.isfinite(loss), loss, np.inf)
    fix = learning_rate_fix(run.recipe, 0.1)
    if not np.isfinite(finite[-1]) or finite[-1] > DIVERGED_FACTOR * finite[0]:
        if np.isfinite(finite[0]):
            evidence = f"loss went from {loss[0]:.4g} at epoch 1 to {loss[-1]:.4g} at epoch {len(loss)}"
            start = epoch_number(np.argmax(finite > finite[0]))
        else:
            evidence = f"loss was {loss[0]} from epoch 1 on"
            start = 1
        return Finding(
            "learning_rate_too_high", "Learning rate too high: the loss diverges", evidence, fix, epoch=start
        )
    if finite[-1] < ZIGZAG_PROGRESS * finite[0]:
        return None  # a loss that fell this far is learning well, bumps or not
    rising = _rises(finite, RISE_STEP)
    val = run.series("val_loss")
    bounces = []
    if val is not None and np.all(np.isfinite(val)):
        # Validation loss that jumps up and comes back down.
        bounces = [
            index
            for index in _rises(val, VAL_JUMP)
            if index + 2 < len(val) and val[index + 2] < val[index + 1]
        ]
    if len(rising) + len(bounces) < 2:
        return None
    jumps = [("loss", finite, index) for index in rising] + [("val_loss", val, i) for i in bounces]
    key, values, worst = max(jumps, key=lambda jump: jump[1][jump[2] + 1] / jump[1][jump[2]])
    return Finding(
        "learning_rate_too_high",
        "Learning rate too high: the loss zig-zags",
        f"loss rose in {len(rising)} of {len(finite) - 1} epochs and val_loss bounced up and back "
        f"{len(bounces)} times; largest jump at epoch {worst + 1} -> {worst + 2}: {key} "
        f"{values[worst]:.4g} -> {values[worst + 1]:.4g} (+{values[worst + 1] / values[worst] - 1:.0%})",
        fix,
        epoch=epoch_number(min(index for _, _, index in jumps) + 1),
    )


def _rises(values: np.ndarray, share: float) -> list[int]:
    """Indices i where values[i + 1] rose by more than `share`, relative to the value
    and to how far training moved it (so noise near zero loss is no zig-zag)."""
    steps = np.diff(values)
    relative = steps / np.maximum(np.abs(values[:-1]), 1e-12)
    moved = values.max() - values.min()
    return [int(index) for index in np.flatnonzero((relative > share) & (steps > share * moved))]
