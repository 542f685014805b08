"""The linear scaling rule for the learning rate of a larger batch."""

from __future__ import annotations

from kerasforge.checks import check_integer, check_number


def scale_learning_rate(base_learning_rate: float, batch_size: int, base_batch_size: int = 32) -> float:
    """Scales a learning rate linearly with the batch size.

    The linear scaling rule (Goyal et al., 2017, "Accurate, Large Minibatch
    SGD"): when the batch grows k times, multiply the learning rate by k, so
    an epoch of fewer, larger steps moves the weights about as far. The larger
    rate is unstable in the first steps, so reach it through a warmup, for
    example with `WarmupDecaySchedule`.

    Args:
        base_learning_rate: Float > 0. Rate that works at `base_batch_size`.
        batch_size: Integer >= 1. The batch size you will train with.
        base_batch_size: Integer >= 1. Batch size `base_learning_rate` was
            tuned for. Defaults to `32`.

    Returns:
        Float. `base_learning_rate * batch_size / base_batch_size`.

    Raises:
        ValueError: If an argument is out of range.

    Example:

    ```python
    peak = scale_learning_rate(1e-3, batch_size=256)  # 8e-3
    schedule = WarmupDecaySchedule(peak, warmup_steps=1000, decay_steps=20_000)
    ```
    """
    check_number("base_learning_rate", base_learning_rate, 0, strict=True)
    check_integer("batch_size", batch_size, minimum=1)
    check_integer("base_batch_size", base_batch_size, minimum=1)
    return float(base_learning_rate) * batch_size / base_batch_size
