"""Diagnosis rules over the layers: exploding and vanishing gradients, saturated and dead units,
and initial weights off the scale that keeps a signal's variance. Each is
`(RunEvidence) -> Finding | None`; thresholds shared with the monitors come from
`health_thresholds`, the others are constants here, each with why.
"""

import numpy as np

from kerasforge.recipes.diagnosis.evidence import (
    RELU_LIKE,
    SATURATING,
    SYMMETRIC_INITIALIZERS,
    RunEvidence,
    epoch_number,
    hidden_index,
    initializer_name,
    learning_rate_change,
    proper_initializer,
)
from kerasforge.recipes.diagnosis.registry import Finding, rule
from kerasforge.recipes.diagnosis.step_size_rules import FIRST_EPOCH_OVERSHOOT, INIT_TOO_LARGE, INIT_TOO_SMALL
from kerasforge.vocabulary import HealthKind, health_thresholds, log_keys

# A layer whose gradient, over the first third of the run, is below this fraction of the
# strongest layer's is vanishing: the GradientNormMonitor's threshold.
VANISHING_RATIO = health_thresholds.VANISHING_RATIO
# A gradient norm that grows this many times above the first epoch's has exploded: the monitor's
# epoch-over-epoch growth factor, squared, since this compares the whole run with its start.
GROWTH = health_thresholds.GROWTH_FACTOR**2
# A step larger than the weights it changes has replaced them: the weights exploded.
STEP_EXPLODED = 1.0
# A layer with at least this fraction of never-active ReLU units is dead (the monitor's threshold).
DEAD_FRACTION = health_thresholds.DEAD_THRESHOLD
# A sigmoid/tanh layer with this fraction of outputs in the flat region is saturated (the monitor's).
SATURATED_FRACTION = health_thresholds.SATURATION_THRESHOLD

_SLOW = ("underfitting", "stopped_too_early", "learning_rate_too_low")


def _init_change(run: RunEvidence) -> dict:
    return {"model.kernel_initializer": proper_initializer(run.recipe)}


def _amplification_text(amplification: float | None, always: bool = False) -> str:
    """The initial amplification as evidence, when it is off scale (or `always`)."""
    if amplification is None or not (always or not INIT_TOO_SMALL <= amplification <= INIT_TOO_LARGE):
        return ""
    return f"; the initial weights multiply a signal's spread by {amplification:.3g} through the network"


def _clipping_on(run: RunEvidence) -> bool:
    training = run.recipe.training if run.recipe is not None else None
    return training is not None and any(
        getattr(training, key) is not None for key in ("clipnorm", "clipvalue", "global_clipnorm")
    )


@rule(
    HealthKind.EXPLODING.value,
    explains=("dead_units", "saturated", "vanishing", "overfitting", *_SLOW),
    supersedes=("bad_initialization",),
)
def exploding(run: RunEvidence) -> Finding | None:
    """Gradients blow up: NaN/Inf values, steps larger than the weights, or norms far above the start.

    Reads `grad_non_finite/global`, the loss, `grad_norm/global` and
    `grad_norm_max/global`, and `update_ratio/<layer>`. Fires on any NaN or
    infinite gradient or loss; on a step that changed the hidden layers' weights
    by more than `STEP_EXPLODED` times their norm (the median over layers, so a
    layer whose weights start at zero does not count); or on a step's gradient norm
    `GROWTH` times the first epoch's norm. The gradients' absolute size is not
    used: it scales with the targets (mean squared error on targets near 150
    gives norms of 1e3 in healthy runs). When the initial weights amplify a
    signal more than `INIT_TOO_LARGE` times, the initialiser is the cause and
    the fix (with clipping); otherwise clipping, or a lower rate when clipping
    is on already.
    """
    loss = run.series("loss")
    norms = run.global_series(log_keys.GRAD_NORM)
    peaks = run.global_series(log_keys.GRAD_NORM_MAX)
    peaks = norms if peaks is None else peaks
    non_finite = run.global_series(log_keys.GRAD_NON_FINITE)
    evidence, epochs, numbers = [], [], {}
    if non_finite is not None and np.nansum(non_finite) > 0:
        first = epoch_number(np.argmax(non_finite > 0))
        evidence.append(f"{int(np.nansum(non_finite))} steps with NaN/Inf gradients from epoch {first}")
        epochs.append(first)
    if loss is not None and not np.all(np.isfinite(loss)):
        first = epoch_number(np.argmax(~np.isfinite(loss)))
        evidence.append(f"loss became {loss[first - 1]} at epoch {first}")
        epochs.append(first)
    largest = run.largest_step()
    if largest is not None and largest[0] > STEP_EXPLODED:
        evidence.append(
            f"a step changed the hidden layers' weights by {largest[0]:.3g} times their norm at "
            f"epoch {largest[1]} (limit {STEP_EXPLODED:g})"
        )
        epochs.append(largest[1])
        numbers["largest_step_ratio"] = largest[0]
    if norms is not None and peaks is not None and np.isfinite(norms[0]) and norms[0] > 0:
        growth = peaks / norms[0]
        if np.any(np.isfinite(growth) & (growth > GROWTH)):
            index = int(np.nanargmax(np.where(np.isfinite(growth), growth, -np.inf)))
            evidence.append(
                f"a step's gradient norm reached {peaks[index]:.3g} at epoch {index + 1}, "
                f"{growth[index]:.3g}x the first epoch's {norms[0]:.3g} (limit {GROWTH:g}x)"
            )
            epochs.append(index + 1)
            numbers["gradient_growth"] = float(growth[index])
    if not evidence:
        return None
    amplification = run.init_amplification()
    numbers["init_amplification"] = amplification
    if amplification is not None and amplification > INIT_TOO_LARGE:
        title = "Exploding gradients from too-large initial weights"
        changes = _init_change(run)
        if not _clipping_on(run):
            changes["training.clipnorm"] = 1.0  # the weights it already produced may be far off too
    elif not _clipping_on(run):
        title, changes = "Exploding gradients", {"training.clipnorm": 1.0}
    else:
        title, changes = "Exploding gradients despite clipping", learning_rate_change(run.recipe, 0.1)
    return Finding(
        HealthKind.EXPLODING.value,
        title,
        "; ".join(evidence) + _amplification_text(amplification),
        changes,
        epoch=min(epochs),
        numbers=numbers,
    )


@rule(HealthKind.SATURATED.value, explains=("vanishing", *_SLOW), supersedes=("bad_initialization",))
def saturated(run: RunEvidence) -> Finding | None:
    """Most outputs of a sigmoid/tanh layer sit in its flat tails, where the slope is near zero.

    Reads `saturated_fraction/<layer>` (the ActivationMonitor's share of a
    probe batch's outputs within reach of an asymptote). Fires when a layer's
    median share over the run is at least `SATURATED_FRACTION`: those units
    pass almost no gradient, so the layers below learn slowly. A healthy
    sigmoid or tanh net saturates a few percent of outputs, up to a third late
    in training. The fix targets the cause: the initialiser when the initial
    weights amplify a signal more than `INIT_TOO_LARGE` times, else batch
    normalisation, else a ReLU activation.
    """
    fractions = {
        name: float(np.nanmedian(values))
        for name, values in run.layer_columns(log_keys.SATURATED_FRACTION).items()
        if np.isfinite(values).any()
    }
    saturated_layers = {name: value for name, value in fractions.items() if value >= SATURATED_FRACTION}
    if not saturated_layers:
        return None
    worst = max(saturated_layers, key=saturated_layers.get)
    amplification = run.init_amplification()
    recipe = run.recipe
    if amplification is not None and amplification > INIT_TOO_LARGE:
        changes = _init_change(run)
    elif recipe is not None and not recipe.model.batch_norm:
        changes = {"model.batch_norm": True}
    else:
        changes = {"model.activation": "relu", "model.kernel_initializer": "he_normal"}
    others = sorted(set(saturated_layers) - {worst})
    return Finding(
        HealthKind.SATURATED.value,
        f"Saturated units in `{worst}`",
        f"median saturated_fraction/{worst} over {run.epochs} epochs is {saturated_layers[worst]:.0%} "
        f"(threshold {SATURATED_FRACTION:.0%})"
        + (f"; also {', '.join(others)}" if others else "")
        + _amplification_text(amplification),
        changes,
        epoch=1,
        numbers={"saturated_fraction": saturated_layers[worst], "init_amplification": amplification},
    )


@rule(HealthKind.DEAD_UNITS.value, explains=("vanishing", *_SLOW))
def dead_units(run: RunEvidence) -> Finding | None:
    """Most units of a ReLU layer never activate, so they pass no gradient.

    Reads `dead_fraction/<layer>` at the last epoch. Fires when a layer has at
    least `DEAD_FRACTION` of its units never positive on the probe batch; a
    healthy ReLU/He MLP keeps well under a third of its units dead. Abstains when
    the initial weights shrink a signal below `INIT_TOO_SMALL` (units then sit at
    zero because nothing reaches them; `vanishing` reports it). Units dead from
    the first epoch with a non-zero bias initialiser are the bias's doing (fix:
    zero biases); units that die later were pushed there (a high learning rate
    is then the cause when it fires; otherwise LeakyReLU lets them recover).
    """
    fractions = run.layer_columns(log_keys.DEAD_FRACTION)
    dead = {name: float(values[-1]) for name, values in fractions.items() if values[-1] >= DEAD_FRACTION}
    if not dead:
        return None
    amplification = run.init_amplification()
    if amplification is not None and amplification < INIT_TOO_SMALL:
        return None
    worst = max(dead, key=dead.get)
    values = fractions[worst]
    start = epoch_number(np.argmax(values >= DEAD_FRACTION))
    others = sorted(set(dead) - {worst})
    recipe = run.recipe
    bias = initializer_name(recipe.model.bias_initializer) if recipe is not None else "zeros"
    if start == 1 and bias != "zeros":
        changes = {"model.bias_initializer": "zeros"}
    elif recipe is not None and recipe.model.activation == "leaky_relu":
        changes = {"model.batch_norm": True}
    else:
        changes = {"model.activation": "leaky_relu"}
    return Finding(
        HealthKind.DEAD_UNITS.value,
        f"Dead ReLU units in `{worst}`",
        f"dead_fraction/{worst} is {dead[worst]:.0%} at epoch {len(values)} "
        f"(at least {DEAD_FRACTION:.0%} since epoch {start})"
        + (f"; also {', '.join(others)}" if others else "")
        + (f"; biases start at {bias}" if bias != "zeros" else ""),
        changes,
        epoch=start,
        numbers={"dead_fraction": dead[worst], "since_epoch": start},
    )


@rule(HealthKind.VANISHING.value, explains=_SLOW, supersedes=("bad_initialization",))
def vanishing(run: RunEvidence) -> Finding | None:
    """A layer's gradient is a tiny fraction of the strongest layer's, so it barely learns.

    Reads the per-layer `grad_norm/<layer>` columns over the first third of the
    run (their median), when the problem shows before adaptive optimizers
    compensate. Fires when the weakest layer's is below `VANISHING_RATIO` of the
    strongest's. Abstains when gradients are not finite (`exploding` reports
    those), when no layer gets any gradient (nothing fades with depth: every
    unit is blocked, which `dead_units`, `bad_initialization` or a learning
    rate too high names), when the initialiser is symmetric (the gradients are zero by
    symmetry: `bad_initialization`), and when a layer on the output side of the
    weak one has dead units (its gradient is blocked, which `dead_units`
    reports) unless tiny initial weights explain both. The fix targets the
    cause: ReLU with He initialisation for sigmoid/tanh stacks, the proper
    initialiser when the initial weights shrink a signal below
    `INIT_TOO_SMALL`, else batch normalisation, else residual connections.
    """
    norms = run.layer_columns(log_keys.GRAD_NORM)
    dense = {name: values for name, values in norms.items() if name == "output" or hidden_index(name)}
    norms = dense or norms
    if len(norms) < 2:
        return None
    early = {name: values[run.early] for name, values in norms.items()}
    if not all(np.all(np.isfinite(values)) for values in early.values()):
        return None
    medians = {name: float(np.median(values)) for name, values in early.items()}
    strongest = max(medians, key=medians.get)
    weakest = min(medians, key=medians.get)
    if medians[strongest] <= 0:
        # No layer gets a gradient, the output's included: nothing fades with depth. Every unit is
        # blocked (dead, or a saturated output the loss clips), which the other rules name.
        return None
    ratio = medians[weakest] / medians[strongest]
    if ratio >= VANISHING_RATIO:
        return None
    recipe = run.recipe
    if recipe is not None and initializer_name(recipe.model.kernel_initializer) in SYMMETRIC_INITIALIZERS:
        return None  # zero gradients by symmetry, not by depth: `bad_initialization` reports it
    amplification = run.init_amplification()
    tiny_init = amplification is not None and amplification < INIT_TOO_SMALL
    depth = hidden_index(weakest) or 0
    for name, values in run.layer_columns(log_keys.DEAD_FRACTION).items():
        if (
            not tiny_init
            and (hidden_index(name) or 0) >= depth
            and np.max(values[run.early]) >= DEAD_FRACTION
        ):
            return None  # no gradient because units on its output side are dead
    if recipe is not None and recipe.model.activation in SATURATING:
        changes = {"model.activation": "relu", "model.kernel_initializer": "he_normal"}
    elif amplification is not None and amplification < INIT_TOO_SMALL:
        changes = _init_change(run)
    elif recipe is None or not recipe.model.batch_norm:
        changes = {"model.batch_norm": True}
    else:
        changes = {"model.residual": True}
    window = f"1-{run.early.stop}" if run.early.stop > 1 else "1"
    return Finding(
        HealthKind.VANISHING.value,
        f"Vanishing gradients: `{weakest}` barely learns",
        f"median grad_norm/{weakest} over epochs {window} is {medians[weakest]:.2e}, "
        f"{ratio:.1e} of grad_norm/{strongest} ({medians[strongest]:.2e}); "
        f"threshold {VANISHING_RATIO:g}" + _amplification_text(amplification),
        changes,
        epoch=1,
        numbers={"gradient_ratio": ratio, "init_amplification": amplification},
    )


@rule("bad_initialization", explains=("dead_units", *_SLOW))
def bad_initialization(run: RunEvidence) -> Finding | None:
    """The initial weights are symmetric or far off the scale that keeps a signal's variance.

    Reads the recipe's kernel initialiser and layer widths (the initial
    amplification of a signal's spread, see `RunEvidence.init_amplification`),
    the first epoch's loss and the final loss against the constant
    prediction's. Fires when every unit of a layer starts with the same weights
    (zeros, ones, constant: the units get the same gradient and stay copies of
    one another); when the weights amplify a signal more than `INIT_TOO_LARGE`
    times and the first epoch ends `FIRST_EPOCH_OVERSHOOT` times above the
    constant prediction (the outputs start huge and confidently wrong); or when
    they shrink it below `INIT_TOO_SMALL` and the loss stays above half the
    constant prediction's. Exploding or vanishing gradients and saturation
    name the same problem more precisely, and replace it when they fire. The
    fix is He (ReLU family) or Glorot initialisation.
    """
    recipe = run.recipe
    if recipe is None:
        return None
    name = initializer_name(recipe.model.kernel_initializer)
    amplification = run.init_amplification()
    loss, baseline, share = run.series("loss"), run.baseline, run.fit_share()
    if name in SYMMETRIC_INITIALIZERS:
        evidence = f"model.kernel_initializer is {name}: every unit of a layer starts and stays identical"
    elif amplification is None:
        return None
    elif amplification > INIT_TOO_LARGE and baseline and loss[0] >= FIRST_EPOCH_OVERSHOOT * baseline:
        evidence = (
            f"epoch 1 ended at loss {loss[0]:.4g}, {loss[0] / baseline:.3g}x the {baseline:.4g} "
            "of a constant prediction"
        )
    elif amplification < INIT_TOO_SMALL and share is not None and share >= 0.5:
        evidence = f"the loss is still {share:.0%} of a constant prediction's after {run.epochs} epochs"
    else:
        return None
    activation = recipe.model.activation
    scale = "He" if activation in RELU_LIKE else "Glorot"
    return Finding(
        "bad_initialization",
        f"Bad initialisation: {name} weights for {activation} units",
        evidence + _amplification_text(amplification, always=True) + f" (1 keeps it; {scale} gives 1)",
        _init_change(run),
        epoch=1,
        numbers={"init_amplification": amplification, "first_epoch_loss": float(loss[0]), "fit_share": share},
    )
