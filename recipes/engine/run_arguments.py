"""Checks of command arguments that need no TensorFlow.

The Python functions run these checks, and the command line runs the very
same ones before it imports TensorFlow, so a bad argument is reported at once.
"""

import numbers

from kerasforge.errors import ArgumentError

# A learning-rate sweep needs a first and a last step to span its range of rates.
MIN_SWEEP_STEPS = 2


def check_sweep_steps(steps) -> int:
    """Returns `steps` if it is a whole number >= `MIN_SWEEP_STEPS`.

    Raises:
        ArgumentError: otherwise, naming the argument and echoing the value.

    Example:

    ```python
    check_sweep_steps(200)  # 200
    ```
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < MIN_SWEEP_STEPS:
        raise ArgumentError(
            f"Argument `steps` (--steps) must be a whole number >= {MIN_SWEEP_STEPS}: the sweep "
            f"goes from its first to its last learning rate over that many updates. Received: steps={steps!r}"
        )
    return int(steps)
