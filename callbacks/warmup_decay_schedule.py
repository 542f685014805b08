"""Linear warmup followed by a decay, as one serializable schedule."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasforge.checks import check_choice, check_integer, check_number

from ._config import ConfigFromInit

DECAYS = ("cosine", "linear", "exponential", "step", "constant")


@keras.saving.register_keras_serializable(package="kerasforge")
class WarmupDecaySchedule(ConfigFromInit, keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to a peak learning rate, then a decay.

    For the first `warmup_steps` optimizer steps the rate rises linearly from
    `initial_learning_rate` to `peak_learning_rate`; a large batch can then
    use a large peak (see `scale_learning_rate`) without diverging early.
    After warmup, with `t` the steps since warmup ended:

    * `"cosine"`: from the peak to `final_learning_rate` along half a cosine
      over `decay_steps`, then flat.
    * `"linear"`: a straight line from the peak to `final_learning_rate`
      over `decay_steps`, then flat.
    * `"exponential"`: `peak * decay_rate ** (t / decay_steps)`.
    * `"step"`: `peak * decay_rate ** floor(t / decay_steps)` (piecewise
      constant, multiplied by `decay_rate` every `decay_steps`).
    * `"constant"`: the peak forever.

    It is registered as `kerasforge>WarmupDecaySchedule`, so once
    `kerasforge.callbacks` is imported `keras.models.load_model` restores a
    model compiled with it without `custom_objects`.

    Args:
        peak_learning_rate: Float > 0. Rate at the end of warmup.
        warmup_steps: Integer >= 0. Steps of linear warmup. Defaults to `0`.
        decay: String. One of `"cosine"`, `"linear"`, `"exponential"`,
            `"step"`, `"constant"`. Defaults to `"cosine"`.
        decay_steps: Integer > 0. Length of the decay (cosine, linear) or its
            time constant (exponential, step). Required unless
            `decay="constant"`. Defaults to `None`.
        final_learning_rate: Float >= 0. End rate of cosine and linear decay.
            Defaults to `0.0`.
        decay_rate: Float in (0, 1]. Factor of exponential and step decay.
            Defaults to `0.5`.
        initial_learning_rate: Float >= 0. Rate at step 0 of warmup.
            Defaults to `0.0`.
        name: String. Name of the schedule. Defaults to
            `"WarmupDecaySchedule"`.

    Raises:
        ValueError: If an argument is out of range or `decay` is unknown.

    Example:

    ```python
    schedule = WarmupDecaySchedule(1e-3, warmup_steps=500, decay_steps=10_000)
    model.compile(keras.optimizers.Adam(schedule), loss="mse")
    ```
    """

    def __init__(
        self,
        peak_learning_rate: float,
        warmup_steps: int = 0,
        decay: str = "cosine",
        decay_steps: int | None = None,
        final_learning_rate: float = 0.0,
        decay_rate: float = 0.5,
        initial_learning_rate: float = 0.0,
        name: str = "WarmupDecaySchedule",
    ) -> None:
        super().__init__()
        check_number("peak_learning_rate", peak_learning_rate, 0, strict=True)
        check_integer("warmup_steps", warmup_steps, minimum=0)
        check_choice("decay", decay, DECAYS)
        check_integer("decay_steps", decay_steps, minimum=1, allow_none=True)
        if decay_steps is None and decay != "constant":
            raise ValueError(
                f"Argument `decay_steps` is required for decay={decay!r}. Received: decay_steps=None"
            )
        check_number("final_learning_rate", final_learning_rate, minimum=0)
        check_number("decay_rate", decay_rate, minimum=0, strict=True)
        if decay_rate > 1:
            raise ValueError(f"Argument `decay_rate` must be <= 1. Received: decay_rate={decay_rate!r}")
        check_number("initial_learning_rate", initial_learning_rate, minimum=0)
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.decay = decay
        self.decay_steps = decay_steps
        self.final_learning_rate = final_learning_rate
        self.decay_rate = decay_rate
        self.initial_learning_rate = initial_learning_rate
        self.name = name

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        since_warmup = ops.maximum(step - self.warmup_steps, 0.0)
        if self.decay == "constant":
            decayed = ops.full_like(step, peak)
        elif self.decay in ("cosine", "linear"):
            progress = ops.minimum(since_warmup / self.decay_steps, 1.0)
            if self.decay == "cosine":
                progress = 0.5 * (1.0 - ops.cos(math.pi * progress))
            decayed = peak + (self.final_learning_rate - peak) * progress
        else:
            exponent = since_warmup / self.decay_steps
            if self.decay == "step":
                exponent = ops.floor(exponent)
            decayed = peak * ops.power(self.decay_rate, exponent)
        if self.warmup_steps == 0:
            return decayed
        start = self.initial_learning_rate
        warming = start + (peak - start) * step / self.warmup_steps
        return ops.where(step < self.warmup_steps, warming, decayed)
