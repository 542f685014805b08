"""The pydantic base class every recipe section derives from, and the number types they share."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Each number type is defined once here and used by every section, so "a rate is
# finite and > 0" reads the same for `training.learning_rate`, a schedule's `peak`
# and every learning rate a search may try.
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
"""A finite number > 0: learning rates, clipping norms, thresholds."""

NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
"""A finite number >= 0: penalties, noise, `min_delta`, a final learning rate."""

DropoutRate = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
"""A fraction of units dropped: 0 <= rate < 1."""

Int32 = Annotated[int, Field(le=2**31 - 1)]
"""A whole number that fits TensorFlow's 32-bit counters (batch sizes, epochs, steps)."""


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys, non-finite numbers, and re-validates on assignment.

    `extra="forbid"` turns a mistyped key into an error instead of a silent
    no-op; `allow_inf_nan=False` refuses `.inf` and `.nan` in every float field
    (no recipe number means anything when infinite or NaN); `validate_default`
    makes sure defaults obey the same rules as user values.
    """

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_assignment=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )
