"""The `training:` section of a recipe."""

import math
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator

from kerasforge.recipes.schema.base import Int32, NonNegativeFloat, PositiveFloat, StrictModel


class OptimizerFacts(NamedTuple):
    """What kerasforge needs to know of an optimizer a recipe may name."""

    keras_class: str
    """Its class in `keras.optimizers`: `keras.optimizers.get` does not know `lamb`, and the
    builder reads the class's signature to check `optimizer_args`."""
    slots: int
    """Slot variables Keras keeps per trained weight (a test checks each against Keras), for
    the memory estimate."""


OPTIMIZER_FACTS = {
    "sgd": OptimizerFacts("SGD", 0),
    "rmsprop": OptimizerFacts("RMSprop", 1),
    "adam": OptimizerFacts("Adam", 2),
    "adamw": OptimizerFacts("AdamW", 2),
    "adagrad": OptimizerFacts("Adagrad", 1),
    "adadelta": OptimizerFacts("Adadelta", 2),
    "adamax": OptimizerFacts("Adamax", 2),
    "nadam": OptimizerFacts("Nadam", 2),
    "ftrl": OptimizerFacts("Ftrl", 2),
    "lion": OptimizerFacts("Lion", 1),
    "lamb": OptimizerFacts("Lamb", 2),
}
OPTIMIZERS = tuple(OPTIMIZER_FACTS)


class ScheduleSection(StrictModel):
    """A learning-rate schedule: linear warmup, then a decay, stepped every update."""

    schedule: Literal["cosine", "linear", "exponential", "step", "constant", "one_cycle"] = Field(
        "cosine", description="Decay after warmup, or `one_cycle`."
    )
    peak: PositiveFloat = Field(1e-3, description="Learning rate at the end of warmup.")
    warmup_epochs: NonNegativeFloat = Field(0.0, description="Epochs of linear warmup from ~0 to `peak`.")
    final: NonNegativeFloat = Field(
        0.0, description="Learning rate reached at the last step (cosine, linear)."
    )
    decay_rate: float = Field(
        0.1, gt=0.0, le=1.0, description="Exponential: factor over the run. Step: factor at each step."
    )
    step_epochs: PositiveFloat = Field(10.0, description="Step decay: epochs between steps.")
    base_batch_size: Int32 | None = Field(
        None,
        ge=1,
        description="Linear scaling rule: multiply `peak` by batch_size / base_batch_size.",
    )


# `training.distribute.strategy` values. `mirrored` is TensorFlow's `tf.distribute.MirroredStrategy`,
# `data_parallel` JAX's `keras.distribution.DataParallel` (also across processes); `auto` picks the
# backend's when there is more than one device, and torch has neither.
DISTRIBUTE_STRATEGIES = ("none", "auto", "mirrored", "data_parallel")


class DistributeSection(StrictModel):
    """Data-parallel training over several devices, and over several processes on JAX."""

    strategy: Literal[DISTRIBUTE_STRATEGIES] = Field(
        "none",
        description="`none`, `mirrored` (TensorFlow), `data_parallel` (JAX, also across processes), "
        "or `auto`: the backend's own when there are several devices.",
    )
    devices: Annotated[Int32, Field(ge=1)] | Literal["all"] = Field(
        "all",
        description="Devices of this host to train on: GPUs when present, else CPUs; a number N > 1 "
        "without GPUs splits the CPU into N logical devices. `batch_size` stays the global batch.",
    )


class TrainingSection(StrictModel):
    """How the model is fitted: optimizer, learning rate, clipping and the batch loop."""

    optimizer: Literal[OPTIMIZERS] = Field("adam", description="Keras optimizer name.")
    optimizer_args: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra optimizer arguments, e.g. {momentum: 0.9, nesterov: true} for sgd.",
    )
    learning_rate: PositiveFloat | ScheduleSection = Field(
        1e-3, description="A constant learning rate (a finite number > 0), or a schedule section."
    )
    clipnorm: PositiveFloat | None = Field(None, description="Clip each gradient to this L2 norm.")
    clipvalue: PositiveFloat | None = Field(None, description="Clip each gradient element to +/- this.")
    global_clipnorm: PositiveFloat | None = Field(
        None, description="Clip all gradients together to this global L2 norm."
    )
    batch_size: Int32 = Field(32, ge=1, description="Rows per update (mini-batch size).")
    epochs: Int32 = Field(30, ge=1, description="Passes over the training data.")
    shuffle: bool = Field(True, description="Reshuffle the training rows every epoch.")
    drop_remainder: bool = Field(
        False, description="Drop the last partial batch of each epoch instead of a short update."
    )
    steps_per_execution: Annotated[Int32, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="Updates run per call into the compiled graph. `auto` picks a fast value "
        "(1 on torch, whose trainer runs one step per call).",
    )
    jit_compile: bool | Literal["auto"] = Field(
        "auto",
        description="Compile the train step with XLA (TensorFlow, JAX) or torch.compile (torch). "
        "`auto` takes the backend's measured default (see the README's Backends section).",
    )

    distribute: DistributeSection = Field(
        default_factory=DistributeSection,
        description="Train on several devices or processes; `batch_size` is the global batch.",
    )

    @field_validator("optimizer_args")
    @classmethod
    def _finite_optimizer_args(cls, arguments):
        # Checked by name against the optimizer's signature when it is built; a
        # number must be finite here already, since no optimizer argument means
        # anything as inf or NaN.
        for key, value in arguments.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"`{key}` must be a finite number. Received: {key}={value}")
        return arguments

    @model_validator(mode="after")
    def _one_norm_clip(self):
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(
                "set at most one of `clipnorm` and `global_clipnorm`. "
                f"Received: clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}"
            )
        return self
