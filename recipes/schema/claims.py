"""The `claims:` section of a recipe: what a lesson says its variants show, checked by `compare`.

A claim reads "VARIANT beats OTHER on METRIC": over the seeds of `kerasforge
compare --seeds N`, the paired difference between the two variants on METRIC,
signed so that better is positive, has a 95% confidence interval above zero.
Whether lower or higher is better comes from the metric: losses, errors,
seconds and epochs go down, accuracies and scores go up.

METRIC is a column that `compare` measures for every variant: one of
`COMPARISON_METRICS`, or `test_` plus a metric of the variant's task head
(`test_accuracy`, `test_loss`, `test_r2_score`, ...).

Example:

```yaml
claims:
  - variant: batch_norm
    beats: sigmoid
    metric: val_loss
    why: "Batch normalisation cures vanishing gradients (notes: how to handle the VGP)."
```
"""

import difflib
from typing import Literal

from pydantic import Field, model_validator

from kerasforge.recipes.schema.base import StrictModel
from kerasforge.recipes.schema.model import head_defaults

Direction = Literal["min", "max"]

# Columns `compare` measures for every variant, with the direction that is better. Test
# metrics (`test_<metric>`) take their direction from the metric name instead.
COMPARISON_METRICS: dict[str, Direction | None] = {
    "epochs_run": None,  # shorter is not better or worse in itself
    "seconds_per_epoch": "min",
    "train_loss": "min",
    "val_loss": "min",
    "gap": "min",  # val_loss - train_loss: how much the model overfits
    "epochs_to_val_loss_target": "min",
    "epochs_to_loss_target": "min",
}
# `compare` counts epochs to this factor of the best variant's best (val) loss.
TARGET_FACTOR = 1.5
TEST_PREFIX = "test_"


def epochs_to_target_column(watched: str) -> str:
    """The column that counts epochs until `watched` (`val_loss` or `loss`) reaches the target."""
    return f"epochs_to_{watched}_target"


class Claim(StrictModel):
    """ "VARIANT beats OTHER on METRIC", held when the paired 95% interval excludes no gain."""

    variant: str = Field(description="The variant that is claimed to be better.")
    beats: str = Field(description="The variant it is better than.")
    metric: str = Field(
        description="A column compare measures: train_loss, val_loss, gap, seconds_per_epoch, "
        "epochs_to_val_loss_target, or test_<metric> (test_accuracy, test_loss, ...)."
    )
    why: str = Field("", description="The notes' reason for the claim, shown in the report.")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_is_not_a_key(cls, raw):
        # YAML 1.1 reads a bare `on:` key as the boolean true; say which key to write instead.
        if isinstance(raw, dict) and (True in raw or "on" in raw):
            raise ValueError("write the metric as `metric: NAME` (YAML reads a bare `on:` key as true)")
        return raw

    @model_validator(mode="after")
    def _two_different_variants(self):
        if self.variant == self.beats:
            raise ValueError(
                f"a claim compares two different variants. Received: variant={self.variant!r}, "
                f"beats={self.beats!r}"
            )
        return self

    def text(self) -> str:
        """The claim in words: "`batch_norm` beats `sigmoid` on val_loss"."""
        return f"`{self.variant}` beats `{self.beats}` on {self.metric}"


def unknown_name_message(kind: str, received: str, allowed) -> str:
    """ "'scrath' is not a variant (did you mean `scratch`?); variants: scratch, autoencoder"."""
    allowed = list(allowed)
    guess = difflib.get_close_matches(received, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean `{guess[0]}`?)" if guess else ""
    return f"{received!r} is not a {kind} of this recipe{hint}; {kind}s: {', '.join(allowed) or 'none'}"


def variant_name_errors(claims: list[Claim], variants, baseline: str | None) -> list[tuple[tuple, str, str]]:
    """Returns `(key path, value, message)` for every claim or baseline naming no variant."""
    errors = []
    if baseline is not None and baseline not in variants:
        errors.append((("baseline",), baseline, unknown_name_message("variant", baseline, variants)))
    if claims and not variants:
        message = "has no variants, but `claims:` compares variants: add variants or remove the claims"
        errors.append((("variants",), {}, message))
        return errors
    for index, claim in enumerate(claims):
        for key in ("variant", "beats"):
            name = getattr(claim, key)
            if name not in variants:
                errors.append((("claims", index, key), name, unknown_name_message("variant", name, variants)))
    return errors


def measured_metrics(variant) -> list[str]:
    """The columns `compare` writes for a variant (a resolved `Recipe`): its own and `test_*`."""
    _, default_metrics = head_defaults(variant.model.task)
    task_metrics = variant.model.metrics if variant.model.metrics is not None else list(default_metrics)
    has_val = variant.data.split.val > 0
    watched = "val_loss" if has_val else "loss"
    own = [
        name
        for name in COMPARISON_METRICS
        if (has_val or name not in ("val_loss", "gap")) and not name.startswith("epochs_to_")
    ]
    return [*own, epochs_to_target_column(watched), *(TEST_PREFIX + name for name in ["loss", *task_metrics])]


def claim_metric_errors(claims: list[Claim], metrics_by_variant: dict[str, list[str]]) -> list[str]:
    """Messages for every claim whose metric is not measured for both of its variants, or has no direction.

    Args:
        claims: The recipe's claims.
        metrics_by_variant: Variant name -> `measured_metrics` of the resolved variant.
    """
    errors = []
    for index, claim in enumerate(claims):
        if claim.metric in COMPARISON_METRICS and COMPARISON_METRICS[claim.metric] is None:
            better = [name for name, direction in COMPARISON_METRICS.items() if direction]
            errors.append(
                f"`claims.{index}.metric`: {claim.metric!r} is neither better high nor low, so nothing "
                f"can beat on it; choose e.g. one of {', '.join(better)} or a test_ metric"
            )
            continue
        for name in (claim.variant, claim.beats):
            allowed = metrics_by_variant.get(name)
            if allowed is not None and claim.metric not in allowed:
                guess = difflib.get_close_matches(claim.metric, allowed, n=1, cutoff=0.6)
                hint = f" (did you mean `{guess[0]}`?)" if guess else ""
                errors.append(
                    f"`claims.{index}.metric`: {claim.metric!r} is not measured for variant "
                    f"`{name}`{hint}; its metrics: {', '.join(allowed)}"
                )
                break
    return errors
