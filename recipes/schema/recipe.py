"""The `Recipe`: one YAML document that describes a whole training run."""

from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kerasforge.recipes.schema.base import StrictModel
from kerasforge.recipes.schema.callbacks import CallbacksSection
from kerasforge.recipes.schema.claims import Claim, variant_name_errors
from kerasforge.recipes.schema.data import DataSection
from kerasforge.recipes.schema.model import ModelSection
from kerasforge.recipes.schema.search import SearchSection
from kerasforge.recipes.schema.training import TrainingSection


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
    seed: int = Field(0, ge=0, description="Seeds data splitting, initialisation and shuffling.")
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
