"""Diagnosis rules over the data as the model sees it: input features on wildly different scales.

Each is `(RunEvidence) -> Finding | None`; thresholds are constants, each with why.
"""

from kerasforge.recipes.diagnosis.evidence import RunEvidence
from kerasforge.recipes.diagnosis.registry import Finding, rule

# Input features whose standard deviations differ by this factor or more are unnormalised: one
# learning rate is then a hundred times too large for some weights or too small for others.
SCALE_RATIO = 100.0


@rule(
    "unnormalized_inputs",
    explains=(
        "learning_rate_too_high",
        "learning_rate_too_low",
        "exploding",
        "saturated",
        "dead_units",
        "vanishing",
        "bad_initialization",
        "stopped_too_early",
        "underfitting",
    ),
    needs_consequence=True,
)
def unnormalized_inputs(run: RunEvidence) -> Finding | None:
    """Input features on scales orders of magnitude apart, fed to the model as they are.

    Reads the feature standard deviations and `data.normalize` from the data
    description (`data.json`). Fires when normalisation is off and the largest
    scale is `SCALE_RATIO` times the smallest: the large features then dominate
    the first layer's pre-activations and gradients (so steps are too large for
    them, units saturate or die), while the small ones barely move, and no one
    learning rate suits both. It names a risk, so it is reported only when the
    run shows one of the failures it explains (`needs_consequence`); those are
    then listed as its consequences and the fix is to standardise the inputs.
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
        {"data.normalize": "standard"},
        numbers={"largest_std": positive[largest], "smallest_std": positive[smallest], "scale_ratio": ratio},
    )
