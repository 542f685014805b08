"""The `training:` section of a recipe."""

from typing import Any, Literal

from pydantic import Field, model_validator

from kerasforge.recipes.schema.base import StrictModel

# Recipe name -> the class in `keras.optimizers`. Keras resolves most names itself, but
# `keras.optimizers.get` does not know `lamb`, and the builder needs the class's signature
# to check `optimizer_args`.
OPTIMIZER_CLASSES = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "ftrl": "Ftrl",
    "lion": "Lion",
    "lamb": "Lamb",
}
OPTIMIZERS = tuple(OPTIMIZER_CLASSES)


class ScheduleSection(StrictModel):
    """A learning-rate schedule: linear warmup, then a decay, stepped every update."""

    schedule: Literal["cosine", "linear", "exponential", "step", "constant", "one_cycle"] = Field(
        "cosine", description="Decay after warmup, or `one_cycle`."
    )
    peak: float = Field(1e-3, gt=0.0, description="Learning rate at the end of warmup.")
    warmup_epochs: float = Field(0.0, ge=0.0, description="Epochs of linear warmup from ~0 to `peak`.")
    final: float = Field(0.0, ge=0.0, description="Learning rate reached at the last step (cosine, linear).")
    decay_rate: float = Field(
        0.1, gt=0.0, le=1.0, description="Exponential: factor over the run. Step: factor at each step."
    )
    step_epochs: float = Field(10.0, gt=0.0, description="Step decay: epochs between steps.")
    base_batch_size: int | None = Field(
        None,
        ge=1,
        description="Linear scaling rule: multiply `peak` by batch_size / base_batch_size.",
    )


class TrainingSection(StrictModel):
    """How the model is fitted: optimizer, learning rate, clipping and the batch loop."""

    optimizer: Literal[OPTIMIZERS] = Field("adam", description="Keras optimizer name.")
    optimizer_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra optimizer arguments, e.g. {momentum: 0.9, nesterov: true} for sgd.",
    )
    learning_rate: float | ScheduleSection = Field(
        1e-3, description="A constant learning rate, or a schedule section."
    )
    clipnorm: float | None = Field(None, gt=0.0, description="Clip each gradient to this L2 norm.")
    clipvalue: float | None = Field(None, gt=0.0, description="Clip each gradient element to +/- this.")
    global_clipnorm: float | None = Field(
        None, gt=0.0, description="Clip all gradients together to this global L2 norm."
    )
    batch_size: int = Field(32, ge=1, description="Rows per update (mini-batch size).")
    epochs: int = Field(30, ge=1, description="Passes over the training data.")
    shuffle: bool = Field(True, description="Reshuffle the training rows every epoch.")
    drop_remainder: bool = Field(
        False, description="Drop the last partial batch of each epoch instead of a short update."
    )
    steps_per_execution: int | Literal["auto"] = Field(
        "auto",
        description="Updates run per call into the compiled graph. `auto` picks a fast value.",
    )

    @model_validator(mode="after")
    def _one_norm_clip(self):
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(
                "set at most one of `clipnorm` and `global_clipnorm`. "
                f"Received: clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}"
            )
        if isinstance(self.steps_per_execution, int) and self.steps_per_execution < 1:
            raise ValueError(
                "`steps_per_execution` must be >= 1 or 'auto'. "
                f"Received: steps_per_execution={self.steps_per_execution}"
            )
        return self
