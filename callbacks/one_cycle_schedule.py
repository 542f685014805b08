"""The one-cycle learning-rate policy as a serializable schedule."""

from __future__ import annotations

import keras

from kerasforge.checks import check_choice, check_integer, check_number

from .warmup_decay_schedule import WarmupDecaySchedule

ANNEALS = ("cosine", "linear")


@keras.saving.register_keras_serializable(package="kerasforge")
class OneCycleSchedule(WarmupDecaySchedule):
    """One-cycle policy: a linear rise to a maximum, then a long anneal.

    Leslie Smith's one-cycle policy, with the parameters of PyTorch's
    `OneCycleLR`: the rate starts at `max_learning_rate / div_factor`, rises
    linearly to `max_learning_rate` over the first `pct_start` of
    `total_steps`, then anneals (cosine or linear) to
    `max_learning_rate / (div_factor * final_div_factor)` at `total_steps`,
    and stays there. It is a `WarmupDecaySchedule` with those settings.

    Args:
        max_learning_rate: Float > 0. Peak rate.
        total_steps: Integer >= 2. Optimizer steps in the cycle, usually
            `epochs * steps_per_epoch`.
        pct_start: Float in (0, 1). Fraction of the cycle spent rising.
            Defaults to `0.3`.
        div_factor: Float >= 1. Start rate is `max_learning_rate /
            div_factor`. Defaults to `25.0`.
        final_div_factor: Float >= 1. End rate is the start rate divided by
            this. Defaults to `1e4`.
        anneal: String. `"cosine"` or `"linear"`. Defaults to `"cosine"`.
        name: String. Defaults to `"OneCycleSchedule"`.

    Raises:
        ValueError: If an argument is out of range or `anneal` is unknown.

    Example:

    ```python
    schedule = OneCycleSchedule(1e-2, total_steps=epochs * steps_per_epoch)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9), loss="mse")
    ```
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cosine",
        name: str = "OneCycleSchedule",
    ) -> None:
        check_number("max_learning_rate", max_learning_rate, 0, strict=True)
        check_integer("total_steps", total_steps, minimum=2)
        check_number("pct_start", pct_start, minimum=0, strict=True)
        if pct_start >= 1:
            raise ValueError(f"Argument `pct_start` must be < 1. Received: pct_start={pct_start!r}")
        check_number("div_factor", div_factor, minimum=1)
        check_number("final_div_factor", final_div_factor, minimum=1)
        check_choice("anneal", anneal, ANNEALS)
        warmup_steps = round(pct_start * total_steps)
        warmup_steps = min(max(warmup_steps, 1), total_steps - 1)
        start = max_learning_rate / div_factor
        super().__init__(
            peak_learning_rate=max_learning_rate,
            warmup_steps=warmup_steps,
            decay=anneal,
            decay_steps=total_steps - warmup_steps,
            final_learning_rate=start / final_div_factor,
            initial_learning_rate=start,
            name=name,
        )
        self.max_learning_rate = max_learning_rate
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
