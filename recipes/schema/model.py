"""The `model:` section of a recipe."""

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kerasforge.recipes.schema.base import DropoutRate, Int32, NonNegativeFloat, PositiveFloat, StrictModel

TASKS = ("regression", "binary", "multiclass")

ACTIVATIONS = (
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "relu6",
    "softplus",
    "softsign",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "linear",
)
Activation = Literal[ACTIVATIONS]

INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "variance_scaling",
    "zeros",
    "ones",
    "constant",
)


# Task -> (output activation, default loss, default metrics): what `model.task` decides.
TASK_HEADS = {
    "regression": ("linear", "mse", ("r2_score", "mae")),
    "binary": ("sigmoid", "binary_crossentropy", ("accuracy",)),
    "multiclass": ("softmax", "sparse_categorical_crossentropy", ("accuracy",)),
}


def head_defaults(task: str) -> tuple[str, tuple[str, ...]]:
    """Returns the default (loss, metric names) of a task."""
    _, loss, metrics = TASK_HEADS[task]
    return loss, metrics


class InitializerSpec(StrictModel):
    """A Keras initializer with arguments, e.g. `{name: random_normal, stddev: 2.0}`."""

    name: Literal[INITIALIZERS] = Field(description="Keras initializer name.")
    stddev: PositiveFloat | None = Field(None, description="For random_normal / truncated_normal.")
    mean: float | None = Field(None, description="For random_normal / truncated_normal.")
    minval: float | None = Field(None, description="For random_uniform.")
    maxval: float | None = Field(None, description="For random_uniform.")
    value: float | None = Field(None, description="For constant.")
    scale: PositiveFloat | None = Field(None, description="For variance_scaling.")
    gain: PositiveFloat | None = Field(None, description="For orthogonal.")

    @model_validator(mode="after")
    def _ordered_bounds(self):
        if self.minval is not None and self.maxval is not None and self.minval >= self.maxval:
            raise ValueError(
                f"`minval` must be < `maxval`. Received: minval={self.minval}, maxval={self.maxval}"
            )
        return self

    def to_keras_config(self) -> dict[str, Any]:
        """Returns the `{class_name, config}` dict that `keras.initializers.get` takes."""
        arguments = self.model_dump(exclude={"name"}, exclude_none=True)
        return {"class_name": self.name, "config": arguments}


class ModelSection(StrictModel):
    """The network: task head, hidden layers and their regularisation."""

    task: Literal[TASKS] = Field(
        "multiclass",
        description="Decides the output layer (linear, sigmoid, softmax), loss and default metrics.",
    )
    hidden: list[Int32] | None = Field(
        None, description="Widths of the hidden layers, input side first. Exclusive with layers/units."
    )
    layers: int | None = Field(None, ge=0, le=200, description="Number of hidden layers (with `units`).")
    units: Int32 | None = Field(None, ge=1, description="Width of every hidden layer (with `layers`).")
    activation: Activation = Field("relu", description="Hidden-layer activation.")
    kernel_initializer: Literal[INITIALIZERS] | InitializerSpec = Field(
        "glorot_uniform", description="Hidden and output kernel initializer: a name or {name, args}."
    )
    bias_initializer: Literal[INITIALIZERS] | InitializerSpec = Field(
        "zeros", description="Hidden-layer bias initializer: a name or {name, args}."
    )
    batch_norm: bool = Field(False, description="BatchNormalization after each hidden Dense.")
    dropout: DropoutRate = Field(0.0, description="Dropout rate after each hidden layer.")
    l1: NonNegativeFloat = Field(0.0, description="L1 penalty on every kernel.")
    l2: NonNegativeFloat = Field(0.0, description="L2 penalty on every kernel.")
    residual: bool = Field(
        False, description="Skip connection around each hidden block, projected where widths differ."
    )
    init_from: str | None = Field(
        None,
        description="Path to a .keras model whose hidden layers (matched by name) initialise this one.",
    )
    freeze: int = Field(0, ge=0, description="Freeze the first N hidden layers (useful with init_from).")
    loss: str | None = Field(None, description="Keras loss name. Defaults by task.")
    metrics: list[str] | None = Field(
        None, description="Keras metric names. Defaults: accuracy, or r2_score and mae."
    )

    @field_validator("hidden")
    @classmethod
    def _widths_positive(cls, widths):
        if widths is not None:
            bad = [width for width in widths if width < 1]
            if bad:
                raise ValueError(f"every width must be >= 1. Received: {widths}")
        return widths

    @model_validator(mode="after")
    def _one_way_to_give_layers(self):
        if self.hidden is not None and (self.layers is not None or self.units is not None):
            raise ValueError(
                "give either `hidden` (a list of widths) or `layers` plus `units`, not both. "
                f"Received: hidden={self.hidden}, layers={self.layers}, units={self.units}"
            )
        if (self.layers is None) != (self.units is None) and self.hidden is None:
            raise ValueError(
                f"`layers` and `units` go together. Received: layers={self.layers}, units={self.units}"
            )
        if self.freeze > len(self.hidden_widths):
            raise ValueError(
                f"`freeze` must be <= the number of hidden layers ({len(self.hidden_widths)}). "
                f"Received: freeze={self.freeze}"
            )
        return self

    @property
    def hidden_widths(self) -> list[int]:
        """The hidden-layer widths, whichever way the recipe gave them."""
        if self.hidden is not None:
            return list(self.hidden)
        if self.layers is not None:
            return [self.units] * self.layers
        return [64, 64]

    @property
    def loss_name(self) -> str:
        """The Keras loss name: `loss`, or the task's default."""
        return self.loss or TASK_HEADS[self.task][1]

    @property
    def metric_names(self) -> list[str]:
        """The Keras metric names compiled: `metrics`, or the task's defaults.

        Keras logs a metric given by name under that very name (`"acc"` as
        `acc`, `"mae"` as `mae`), and its validation value with a `val_` prefix.
        """
        return list(self.metrics if self.metrics is not None else TASK_HEADS[self.task][2])
