"""The `Recipe`: one YAML document that describes a whole training run."""

import difflib
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kerasforge.recipes.schema.base import StrictModel
from kerasforge.recipes.schema.callbacks import ALWAYS_LOGGED, CallbacksSection
from kerasforge.recipes.schema.claims import Claim, variant_name_errors
from kerasforge.recipes.schema.data import DataSection
from kerasforge.recipes.schema.model import ModelSection
from kerasforge.recipes.schema.search import SearchSection
from kerasforge.recipes.schema.training import TrainingSection

# Validation context key: True when reading the recipe of a run that already trained.
FINISHED_RUN = "finished_run"


class Recipe(StrictModel):
    """A validated, typed training recipe.

    Every field has a default where a sensible one exists, so the smallest
    recipe is `{name: my_run}`: digits, a 64-64 ReLU MLP, Adam, early stopping
    and the gradient monitor.

    Example:

    ```python
    recipe = Recipe.model_validate({"name": "tiny", "model": {"hidden": [32]}})
    recipe.model.hidden_widths  # [32]
    ```
    """

    name: str = Field(
        "recipe",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Short name, used in run-folder names.",
    )
    description: str = Field("", description="One line saying what the recipe shows.")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seeds data splitting, initialisation and shuffling."
    )
    data: DataSection = Field(default_factory=DataSection)
    model: ModelSection = Field(default_factory=ModelSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    callbacks: CallbacksSection = Field(default_factory=CallbacksSection)
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Named override sets (dotted key -> value) that `kerasforge compare` trains side by side."
        ),
    )
    baseline: str | None = Field(
        None,
        description="The variant the others are compared with (paired differences). Defaults to the first.",
    )
    claims: list[Claim] = Field(
        default_factory=list,
        description="What the variants show, e.g. {variant: batch_norm, beats: sigmoid, metric: val_loss}; "
        "`kerasforge compare --seeds N` checks each one.",
    )
    search: SearchSection | None = Field(None, description="Search space for `kerasforge tune`.")

    def logged_keys(self) -> list[str]:
        """The epoch log keys a run of this recipe writes, per-layer keys as `<prefix>/<layer>`.

        The loss and the compiled metrics, their `val_` twins when there is a
        validation split, the learning rate and epoch time, and the monitors'
        per-layer keys. This is what `callbacks.early_stopping.monitor` may name.
        """
        training = ["loss", *self.model.metric_names]
        validation = [f"val_{key}" for key in training] if self.data.split.val > 0 else []
        per_layer = [f"{prefix}/<layer>" for prefix in self.callbacks.log_prefixes()]
        return [*training, *validation, *ALWAYS_LOGGED, *per_layer]

    @model_validator(mode="after")
    def _monitor_is_logged(self, info: ValidationInfo):
        # Early stopping on a key the run never logs would do nothing, silently.
        stopping = self.callbacks.early_stopping
        if not stopping.enabled or (info.context or {}).get(FINISHED_RUN):
            return self
        monitor = stopping.monitor
        if monitor.startswith("val_") and self.data.split.val == 0:
            raise ValueError(
                f"`callbacks.early_stopping.monitor` is {monitor!r} but `data.split.val` is 0, so "
                "there is no validation split; set data.split.val > 0 or monitor a training metric "
                "such as 'loss'"
            )
        keys = self.logged_keys()
        prefix, slash, layer = monitor.partition("/")
        if monitor in keys or (slash and layer and f"{prefix}/<layer>" in keys):
            return self
        close = difflib.get_close_matches(monitor, keys, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"`callbacks.early_stopping.monitor` is {monitor!r}, which this recipe's run does not log, "
            f"so early stopping would never stop{hint}. Logged keys: {', '.join(keys)}"
        )

    @model_validator(mode="after")
    def _target_scales_are_for_regression(self):
        if self.model.task == "regression":
            return self
        if self.data.scale_target:
            raise ValueError(
                f"`data.scale_target` standardises a regression target, but `model.task` is "
                f"{self.model.task!r}; set data.scale_target: false (class labels are not scaled)"
            )
        if self.data.synthetic.target_scale != 1:
            raise ValueError(
                f"`data.synthetic.target_scale` multiplies a regression target, but `model.task` is "
                f"{self.model.task!r}. Received: {self.data.synthetic.target_scale!r}; leave it at 1"
            )
        return self

    @model_validator(mode="after")
    def _claims_name_variants(self):
        errors = variant_name_errors(self.claims, list(self.variants), self.baseline)
        if errors:
            # Raised as a ValidationError of its own so each message keeps its key path
            # (`claims.1.beats`), as pydantic's own errors do.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("claim_variant", message), loc=location, input=value
                    )
                    for location, value, message in errors
                ],
            )
        return self
