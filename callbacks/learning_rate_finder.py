"""A learning-rate range test: loss against an exponentially growing learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerasforge import _keras_compat
from kerasforge.checks import check_integer, check_number

from ._config import ConfigFromInit


@dataclass
class LearningRateRange:
    """The outcome of a learning-rate range test (`LearningRateFinder.result`).

    Attributes:
        learning_rates: List of floats. The rate of each sweep step.
        losses: List of floats. The training loss of each step.
        smoothed_losses: List of floats. The exponentially smoothed loss.
        suggested_learning_rate: Float or `None`. Where the smoothed loss fell
            fastest; `None` when fewer than 3 steps ran.
        min_loss_learning_rate: Float or `None`. Where the smoothed loss was
            lowest.
    """

    learning_rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed_losses: list[float] = field(default_factory=list)
    suggested_learning_rate: float | None = None
    min_loss_learning_rate: float | None = None


class LearningRateFinder(ConfigFromInit, keras.callbacks.Callback):
    """Sweeps the learning rate exponentially over a few hundred updates.

    Each training step uses a learning rate `min_learning_rate *
    (max_learning_rate / min_learning_rate) ** (step / (steps - 1))` and
    records the loss of that step. The sweep stops after `steps` updates, or
    as soon as the smoothed loss exceeds `divergence_factor` times its best
    (the rate is then clearly too large). At the end the model's weights, the
    optimizer's state and its learning rate are put back as they were, so the
    model can be trained for real afterwards.

    The suggested rate (`suggested_learning_rate`) is where the smoothed loss
    falls fastest against log(learning rate), before its minimum, the rule
    used by fastai's and Lightning's LR finders; `min_loss_learning_rate`
    is the rate at the lowest smoothed loss (one tenth of it is another
    common pick). After training, `result` holds all of it as a
    `LearningRateRange`.

    The model must be compiled with a constant learning rate and
    `steps_per_execution=1`, so the rate can change at every step and each
    step's loss is seen. Train for at least `steps` updates (enough epochs).

    Args:
        min_learning_rate: Float > 0. First rate of the sweep. Defaults to `1e-7`.
        max_learning_rate: Float > `min_learning_rate`. Last rate. Defaults to `10.0`.
        steps: Integer >= 2. Updates in the sweep. Defaults to `200`.
        smoothing: Float in [0, 1). Exponential smoothing of the loss.
            Defaults to `0.9`.
        divergence_factor: Float > 1. Stop when the smoothed loss exceeds this
            times its best. Defaults to `4.0`.

    Raises:
        ValueError: on a bad argument, or at train begin when the model has
            a learning-rate schedule or `steps_per_execution` > 1.

    Example:

    ```python
    finder = LearningRateFinder(steps=100)
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=1)
    model.fit(x, y, epochs=5, callbacks=[finder], verbose=0)
    finder.result.suggested_learning_rate
    ```
    """

    def __init__(
        self,
        min_learning_rate: float = 1e-7,
        max_learning_rate: float = 10.0,
        steps: int = 200,
        smoothing: float = 0.9,
        divergence_factor: float = 4.0,
    ) -> None:
        super().__init__()
        check_number("min_learning_rate", min_learning_rate, 0, strict=True)
        check_number("max_learning_rate", max_learning_rate, min_learning_rate, strict=True)
        check_integer("steps", steps, 2)
        check_number("smoothing", smoothing, 0)
        if smoothing >= 1:
            raise ValueError(f"Argument `smoothing` must be < 1. Received: smoothing={smoothing!r}")
        check_number("divergence_factor", divergence_factor, 1, strict=True)
        self.min_learning_rate = min_learning_rate
        self.max_learning_rate = max_learning_rate
        self.steps = steps
        self.smoothing = smoothing
        self.divergence_factor = divergence_factor
        self.result = LearningRateRange()

    @property
    def learning_rates(self) -> list[float]:
        """The rate of each sweep step so far."""
        return self.result.learning_rates

    @property
    def losses(self) -> list[float]:
        """The training loss of each sweep step so far."""
        return self.result.losses

    @property
    def smoothed_losses(self) -> list[float]:
        """The exponentially smoothed loss of each sweep step so far."""
        return self.result.smoothed_losses

    @property
    def suggested_learning_rate(self) -> float | None:
        """Where the smoothed loss fell fastest (after training)."""
        return self.result.suggested_learning_rate

    @property
    def min_loss_learning_rate(self) -> float | None:
        """Where the smoothed loss was lowest (after training)."""
        return self.result.min_loss_learning_rate

    def rate_at(self, step: int) -> float:
        """The learning rate of sweep step `step` (0-based)."""
        ratio = self.max_learning_rate / self.min_learning_rate
        return self.min_learning_rate * ratio ** (step / (self.steps - 1))

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        optimizer = self.model.optimizer
        given = _keras_compat.learning_rate_as_given(optimizer)
        if isinstance(given, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "LearningRateFinder sets the learning rate itself: compile the model with a "
                "constant learning rate, not a schedule."
            )
        if int(self.model.steps_per_execution) != 1:
            raise ValueError(
                "LearningRateFinder needs the loss of every step: compile with "
                f"steps_per_execution=1. Received: steps_per_execution={self.model.steps_per_execution}"
            )
        self.result = LearningRateRange()
        self._step = 0
        self._running: float | None = None
        self._best: float | None = None
        self._epoch_mean = (0, 0.0)
        self._weights = self.model.get_weights()
        self._initial_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        self._optimizer_state = (
            [keras.ops.convert_to_numpy(v) for v in optimizer.variables] if optimizer.built else None
        )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_mean = (0, 0.0)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.model.optimizer.learning_rate = self.rate_at(self._step)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not logs or "loss" not in logs:
            return
        # Keras logs the epoch's running mean; recover this step's own loss from it.
        count, mean = self._epoch_mean
        running = float(logs["loss"])
        loss = running * (count + 1) - mean * count
        self._epoch_mean = (count + 1, running)
        self.learning_rates.append(self.rate_at(self._step))
        self.losses.append(loss)
        # Starting from the first loss (not 0) keeps the early smoothed values unbiased.
        if self._running is None or not math.isfinite(self._running):
            self._running = loss
        else:
            self._running = self.smoothing * self._running + (1 - self.smoothing) * loss
        smoothed = self._running
        self.smoothed_losses.append(smoothed)
        if math.isfinite(smoothed) and (self._best is None or smoothed < self._best):
            self._best = smoothed
        self._step += 1
        best = self._best
        diverged = not math.isfinite(smoothed) or (
            best is not None and smoothed > self.divergence_factor * best
        )
        if self._step >= self.steps or diverged:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.model.set_weights(self._weights)
        optimizer = self.model.optimizer
        if self._optimizer_state is not None:
            for variable, value in zip(optimizer.variables, self._optimizer_state, strict=True):
                variable.assign(value)
        optimizer.learning_rate = self._initial_rate
        self._suggest()

    def _suggest(self) -> None:
        smoothed = np.asarray(self.smoothed_losses, dtype=float)
        rates = np.asarray(self.learning_rates, dtype=float)
        finite = np.isfinite(smoothed)
        if finite.sum() < 3:
            return
        lowest = int(np.nanargmin(np.where(finite, smoothed, np.nan)))
        self.result.min_loss_learning_rate = float(rates[lowest])
        if lowest < 2:
            self.result.suggested_learning_rate = float(rates[lowest]) / 10
            return
        slopes = np.gradient(smoothed[: lowest + 1], np.log(rates[: lowest + 1]))
        self.result.suggested_learning_rate = float(rates[int(np.argmin(slopes))])
