"""Diagnosis rules over layers and inputs: vanishing and exploding gradients, dead ReLUs,
unnormalised inputs. Each is `(RunEvidence) -> Finding | None`; thresholds are constants.
"""

import numpy as np

from kerasforge.recipes.diagnosis.evidence import RunEvidence, epoch_number, learning_rate_fix
from kerasforge.recipes.diagnosis.registry import Finding, rule
from kerasforge.recipes.schema.recipe import Recipe
from kerasforge.vocabulary import HealthKind, health_thresholds, log_keys

# A layer whose mean gradient norm over the run is below this fraction of the strongest
# layer's is vanishing: the GradientNormMonitor's threshold, read over the whole run.
VANISHING_RATIO = health_thresholds.VANISHING_RATIO
# A gradient norm above this at any step may be exploding (the monitor's threshold).
EXPLODING_NORM = health_thresholds.EXPLODING_THRESHOLD
# ... and it explodes when one step moves a layer's weights by more than this fraction.
UPDATE_RATIO_LIMIT = 0.5
# A layer with at least this fraction of never-active ReLU units is dead (the monitor's threshold).
DEAD_FRACTION = health_thresholds.DEAD_THRESHOLD
# Input features whose scales differ by this factor or more are unnormalised.
SCALE_RATIO = 100.0


# A final loss near the constant prediction's is what these causes look like from outside.
_HIGH_LOSS = ("underfitting",)


@rule(HealthKind.VANISHING.value, supersedes=_HIGH_LOSS)
def vanishing(run: RunEvidence) -> Finding | None:
    """A layer's gradient is a tiny fraction of the strongest layer's, so it barely learns.

    Reads the per-layer `grad_norm/<layer>` columns (hidden layers and the output),
    averaged over the run. Fires when the weakest layer's mean is below
    `VANISHING_RATIO` of the strongest's. Abstains when gradients are not finite
    (`exploding` reports those) and when the weak layer's units are dead (its
    gradient is zero because nothing passes, which `dead_units` reports).
    """
    norms = run.layer_columns(log_keys.GRAD_NORM)
    dense = {
        name: values
        for name, values in norms.items()
        if name == "output" or (name.startswith("hidden_") and name[7:].isdigit())
    }
    norms = dense or norms
    if len(norms) < 2:
        return None
    if not all(np.all(np.isfinite(values)) for values in norms.values()):
        return None  # NaN/Inf gradients: `exploding` reports them
    means = {name: float(np.mean(values)) for name, values in norms.items()}
    strongest = max(means, key=means.get)
    weakest = min(means, key=means.get)
    ratio = means[weakest] / means[strongest] if means[strongest] > 0 else 0.0
    if ratio >= VANISHING_RATIO:
        return None
    dead = run.series(log_keys.make_key(log_keys.DEAD_FRACTION, weakest))
    if dead is not None and dead[-1] >= DEAD_FRACTION:
        return None  # no gradient because the units are dead: `dead_units` reports it
    epochs = len(run.history)
    recipe = run.recipe
    if recipe is not None and recipe.model.activation in ("sigmoid", "tanh", "hard_sigmoid"):
        fix = "--set model.activation=relu --set model.kernel_initializer=he_normal"
    else:
        fix = (
            "--set model.batch_norm=true"
            if not recipe or not recipe.model.batch_norm
            else "--set model.residual=true"
        )
    return Finding(
        "vanishing",
        f"Vanishing gradients: `{weakest}` barely learns",
        f"mean grad_norm/{weakest} over epochs 1-{epochs} is {means[weakest]:.2e}, "
        f"{ratio:.1e} of grad_norm/{strongest} ({means[strongest]:.2e}); "
        f"threshold {VANISHING_RATIO:g}",
        fix,
        epoch=1,
    )


def _clipping_on(recipe: Recipe | None) -> bool:
    training = recipe.training if recipe is not None else None
    return training is not None and any(
        getattr(training, key) is not None for key in ("clipnorm", "clipvalue", "global_clipnorm")
    )


@rule(HealthKind.EXPLODING.value, supersedes=_HIGH_LOSS)
def exploding(run: RunEvidence) -> Finding | None:
    """Gradients blow up: NaN/Inf gradients or loss, or huge steps.

    Reads `grad_non_finite/global`, the loss, `grad_norm_max/global` and the
    per-layer `update_ratio/<layer>`. Fires on any non-finite gradient or loss;
    a large gradient norm (above `EXPLODING_NORM`) alone is normal for targets
    of large scale, so it also needs a step that moves a layer by more than
    `UPDATE_RATIO_LIMIT` of its norm, or a loss that grew.
    """
    loss = run.series("loss")
    peaks = run.global_series(log_keys.GRAD_NORM_MAX)
    peaks = run.global_series(log_keys.GRAD_NORM) if peaks is None else peaks
    non_finite = run.global_series(log_keys.GRAD_NON_FINITE)
    evidence, epochs = [], []
    if non_finite is not None and np.nansum(non_finite) > 0:
        first = epoch_number(np.argmax(non_finite > 0))
        epochs.append(first)
        evidence.append(f"{int(np.nansum(non_finite))} steps with NaN/Inf gradients from epoch {first}")
    if loss is not None and not np.all(np.isfinite(loss)):
        first = epoch_number(np.argmax(~np.isfinite(loss)))
        epochs.append(first)
        evidence.append(f"loss became {loss[first - 1]} at epoch {first}")
    if peaks is not None and np.any(~np.isfinite(peaks) | (peaks > EXPLODING_NORM)):
        # Large norms alone are normal for unscaled targets; they explode when
        # the steps they cause are large next to the weights, or the loss grows.
        ratios = run.layer_columns(log_keys.UPDATE_RATIO)
        largest = {
            name: float(values[np.isfinite(values)].max())
            for name, values in ratios.items()
            if np.isfinite(values).any()
        }
        layer = max(largest, key=largest.get) if largest else None
        big_steps = layer is not None and largest[layer] > UPDATE_RATIO_LIMIT
        growing = loss is not None and np.isfinite(loss[-1]) and loss[-1] > loss[0]
        if evidence or big_steps or growing:
            index = int(np.argmax(~np.isfinite(peaks) | (peaks > EXPLODING_NORM)))
            epochs.append(epoch_number(index))
            evidence.append(
                f"global gradient norm reached {peaks[index]:.3g} at epoch {index + 1} "
                f"(threshold {EXPLODING_NORM:g})"
            )
            if big_steps:
                evidence.append(
                    f"an epoch's mean step changed `{layer}` by {largest[layer]:.3g} "
                    f"of its norm (limit {UPDATE_RATIO_LIMIT:g})"
                )
    if not evidence:
        return None
    fix = "--set training.clipnorm=1.0"
    if _clipping_on(run.recipe):
        fix = learning_rate_fix(run.recipe, 0.1) + " --set model.kernel_initializer=he_normal"
    return Finding("exploding", "Exploding gradients", "; ".join(evidence), fix, epoch=min(epochs))


@rule(HealthKind.DEAD_UNITS.value, supersedes=_HIGH_LOSS)
def dead_units(run: RunEvidence) -> Finding | None:
    """Most units of a ReLU layer never activate, so they pass no gradient.

    Reads `dead_fraction/<layer>` at the last epoch. Fires when a layer has at
    least `DEAD_FRACTION` of its units never positive on the probe batch; a
    healthy ReLU/He layer keeps well under a third of its units dead.
    """
    fractions = run.layer_columns(log_keys.DEAD_FRACTION)
    worst, worst_value = None, 0.0
    for name, values in fractions.items():
        if values[-1] >= DEAD_FRACTION and values[-1] > worst_value:
            worst, worst_value = name, float(values[-1])
    if worst is None:
        return None
    values = fractions[worst]
    start = epoch_number(np.argmax(values >= DEAD_FRACTION))
    others = sorted(name for name, v in fractions.items() if v[-1] >= DEAD_FRACTION and name != worst)
    also = f"; also {', '.join(others)}" if others else ""
    return Finding(
        HealthKind.DEAD_UNITS.value,
        f"Dead ReLU units in `{worst}`",
        f"dead_fraction/{worst} is {worst_value:.0%} at epoch {len(values)} "
        f"(above {DEAD_FRACTION:.0%} since epoch {start}){also}",
        "--set model.activation=leaky_relu --set model.kernel_initializer=he_normal "
        "--set model.bias_initializer=zeros",
        epoch=start,
    )


@rule("unnormalized_inputs")
def unnormalized_inputs(run: RunEvidence) -> Finding | None:
    """Input features on scales orders of magnitude apart, fed to the model as they are.

    Reads the feature standard deviations and `data.normalize` from the data
    description (`data.json`). Fires when normalisation is off and the largest
    scale is `SCALE_RATIO` times the smallest: the large features then dominate
    the first layer's gradient and one learning rate cannot suit them all.
    """
    scales = run.data_info.get("feature_scales") or {}
    if run.data_info.get("normalize", "none") != "none":
        return None
    positive = {name: float(value) for name, value in scales.items() if value and value > 0}
    if len(positive) < 2:
        return None
    largest = max(positive, key=positive.get)
    smallest = min(positive, key=positive.get)
    ratio = positive[largest] / positive[smallest]
    if ratio < SCALE_RATIO:
        return None
    return Finding(
        "unnormalized_inputs",
        "Unnormalised inputs: feature scales differ by orders of magnitude",
        f"std of `{largest}` is {positive[largest]:.4g} but of `{smallest}` "
        f"{positive[smallest]:.4g} ({ratio:.3g}x), and data.normalize is none",
        "--set data.normalize=standard",
    )
