"""The pydantic base class every recipe section derives from."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that rejects unknown keys and re-validates on assignment.

    `extra="forbid"` turns a mistyped key into an error instead of a silent
    no-op; `validate_default` makes sure defaults obey the same rules as user
    values.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        use_attribute_docstrings=True,
    )
