"""The `search:` section of a recipe: the KerasTuner search space of `kerasforge tune`.

Every field is optional. A field left out is not tuned: the trial keeps the
recipe's own value. A recipe without a `search:` section is tuned over
`SearchSection.default()`: layers, per-layer units, dropout, optimizer,
learning rate and batch size.
"""

from typing import Literal

from pydantic import Field, model_validator

from kerasforge.recipes.schema.base import (
    DropoutRate,
    Int32,
    NonNegativeFloat,
    PositiveFloat,
    StrictModel,
)
from kerasforge.recipes.schema.model import Activation
from kerasforge.recipes.schema.training import OPTIMIZERS


class IntRange(StrictModel):
    """Whole numbers from `min` to `max` (inclusive), every `step`."""

    min: Int32 = Field(ge=0, description="Smallest value.")
    max: Int32 = Field(ge=0, description="Largest value.")
    step: Int32 | None = Field(
        None, ge=1, description="Spacing (linear: added, log: multiplied). Defaults to 1 (linear)."
    )
    sampling: Literal["linear", "log"] = Field("linear", description="How values are spread.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError(f"`min` must be <= `max`. Received: min={self.min}, max={self.max}")
        if self.sampling == "log" and self.min < 1:
            raise ValueError(f"log sampling needs `min` >= 1. Received: min={self.min}")
        return self


class FloatRange(StrictModel):
    """Real numbers from `min` to `max`, spread linearly or on a log scale."""

    min: NonNegativeFloat = Field(description="Smallest value.")
    max: NonNegativeFloat = Field(description="Largest value.")
    step: PositiveFloat | None = Field(None, description="Optional grid spacing (linear only).")
    sampling: Literal["linear", "log"] = Field("linear", description="How values are spread.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError(f"`min` must be <= `max`. Received: min={self.min}, max={self.max}")
        if self.sampling == "log" and self.min <= 0:
            raise ValueError(f"log sampling needs `min` > 0. Received: min={self.min}")
        if self.sampling == "log" and self.step is not None:
            raise ValueError(f"`step` is for linear sampling only. Received: step={self.step}")
        return self


class LogRange(FloatRange):
    """A `FloatRange` spread on a log scale unless said otherwise (learning rates, penalties)."""

    sampling: Literal["linear", "log"] = Field("log", description="How values are spread.")


class PowersOfTwo(StrictModel):
    """Every power of two from `min` to `max`: `{min: 16, max: 128}` is 16, 32, 64, 128."""

    min: Int32 = Field(ge=1, description="Smallest batch size, a power of two.")
    max: Int32 = Field(ge=1, description="Largest batch size, a power of two.")

    @model_validator(mode="after")
    def _powers(self):
        for key in ("min", "max"):
            value = getattr(self, key)
            if value & (value - 1):
                raise ValueError(f"`{key}` must be a power of two. Received: {key}={value}")
        if self.min > self.max:
            raise ValueError(f"`min` must be <= `max`. Received: min={self.min}, max={self.max}")
        return self

    @property
    def values(self) -> list[int]:
        """The powers of two in the range, smallest first."""
        return [2**power for power in range(self.min.bit_length() - 1, self.max.bit_length())]


TUNABLE = (
    "layers",
    "units",
    "activation",
    "dropout",
    "l2",
    "batch_norm",
    "optimizer",
    "learning_rate",
    "batch_size",
    "epochs",
)


def _distinct(name: str, values: list | None) -> None:
    if values is None:
        return
    if not values:
        raise ValueError(f"`{name}` needs at least one choice. Received: {name}=[]")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` lists a choice twice. Received: {name}={values}")


class SearchSection(StrictModel):
    """The search space: which recipe fields a search varies, and over what.

    Example:

    ```yaml
    search:
      max_trials: 20
      layers: {min: 1, max: 3}
      units: {min: 32, max: 256, step: 32}
      units_per_layer: true
      optimizer: [adam, rmsprop]
      learning_rate: {min: 1.0e-4, max: 1.0e-2}
      batch_size: [32, 64, 128]
    ```
    """

    max_trials: Int32 = Field(
        20, ge=1, description="Trials in total (a resumed search only adds the missing ones)."
    )
    layers: IntRange | list[Int32] | None = Field(None, description="Number of hidden layers.")
    units: IntRange | list[Int32] | None = Field(None, description="Width of the hidden layers.")
    units_per_layer: bool = Field(
        True,
        description="Tune one width per hidden layer (conditional on `layers`) instead of one shared width.",
    )
    activation: list[Activation] | None = Field(None, description="Hidden-layer activations to try.")
    dropout: FloatRange | list[DropoutRate] | None = Field(
        None, description="Dropout rate after each hidden layer."
    )
    l2: LogRange | list[NonNegativeFloat] | None = Field(
        None, description="L2 penalty on every kernel (log range)."
    )
    batch_norm: list[bool] | None = Field(None, description="Batch normalization on and/or off.")
    optimizer: list[Literal[OPTIMIZERS]] | None = Field(None, description="Keras optimizers to try.")
    learning_rate: LogRange | list[PositiveFloat] | None = Field(
        None, description="Constant learning rate (log range)."
    )
    batch_size: PowersOfTwo | list[Int32] | None = Field(
        None, description="Batch sizes: a list, or {min, max} for the powers of two between."
    )
    epochs: IntRange | list[Int32] | None = Field(
        None, description="Epochs per trial (not with Hyperband, which allots epochs itself)."
    )
    hyperband_factor: Int32 = Field(3, ge=2, description="Hyperband: keep 1/factor of the trials each round.")
    max_consecutive_failures: Int32 = Field(
        3, ge=1, description="Stop the search after this many failed trials in a row."
    )
    trials_per_process: Int32 = Field(
        20,
        ge=1,
        description="Trials one process runs before the search goes on in a fresh child process: "
        "TensorFlow keeps some memory of every finished model, so this bounds the growth.",
    )

    @model_validator(mode="after")
    def _choices_distinct(self):
        for name in TUNABLE:
            value = getattr(self, name)
            _distinct(name, value if isinstance(value, list) else None)
        for name in ("layers", "units", "batch_size", "epochs"):
            value = getattr(self, name)
            least = 0 if name == "layers" else 1
            smallest = min(value) if isinstance(value, list) else getattr(value, "min", None)
            if smallest is not None and smallest < least:
                shown = value if isinstance(value, list) else f"{{min: {smallest}, ...}}"
                raise ValueError(f"`{name}` choices must be >= {least}. Received: {name}={shown}")
        # A range has no upper bound of its own; a dropout rate must stay below 1.
        if isinstance(self.dropout, FloatRange) and self.dropout.max >= 1:
            raise ValueError(f"`dropout` rates must be < 1. Received: dropout.max={self.dropout.max}")
        # A learning rate of 0 trains nothing, so a linear range must start above 0.
        if isinstance(self.learning_rate, FloatRange) and self.learning_rate.min <= 0:
            raise ValueError(
                f"`learning_rate` must be > 0. Received: learning_rate.min={self.learning_rate.min}"
            )
        return self

    @property
    def tuned(self) -> list[str]:
        """Names of the fields this space varies, in declaration order."""
        return [name for name in TUNABLE if getattr(self, name) is not None]

    @classmethod
    def default(cls) -> "SearchSection":
        """The space used for a recipe without a `search:` section."""
        return cls(
            layers=IntRange(min=1, max=3),
            units=IntRange(min=32, max=256, step=32),
            dropout=[0.0, 0.1, 0.2, 0.3],
            optimizer=["adam", "rmsprop", "sgd"],
            learning_rate=LogRange(min=1e-4, max=1e-2),
            batch_size=[32, 64, 128],
        )
