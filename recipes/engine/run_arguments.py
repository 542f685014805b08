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


def check_cluster_arguments(coordinator, num_processes, process_id) -> None:
    """Checks `--coordinator HOST:PORT --num-processes N --process-id I`: all three, or none.

    Raises:
        ArgumentError: one is missing, the address is not HOST:PORT with a port in 1..65535,
            `num_processes` < 1, or `process_id` outside 0..num_processes-1.

    Example:

    ```python
    check_cluster_arguments("10.0.0.1:1234", 2, 0)
    ```
    """
    given = {"--coordinator": coordinator, "--num-processes": num_processes, "--process-id": process_id}
    if all(value is None for value in given.values()):
        return
    missing = [flag for flag, value in given.items() if value is None]
    if missing:
        raise ArgumentError(
            f"a multi-process run needs --coordinator HOST:PORT, --num-processes N and --process-id I "
            f"together; missing {', '.join(missing)}"
        )
    host, _, port = str(coordinator).rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ArgumentError(
            f"--coordinator must be HOST:PORT with a port in 1..65535 (process 0's address, reachable by "
            f"every process). Received: {coordinator!r}"
        )
    if (
        isinstance(num_processes, bool)
        or not isinstance(num_processes, numbers.Integral)
        or num_processes < 1
    ):
        raise ArgumentError(f"--num-processes must be a whole number >= 1. Received: {num_processes!r}")
    if (
        isinstance(process_id, bool)
        or not isinstance(process_id, numbers.Integral)
        or not 0 <= process_id < num_processes
    ):
        raise ArgumentError(
            f"--process-id must be a whole number in 0..{num_processes - 1} "
            f"(--num-processes {num_processes}). Received: {process_id!r}"
        )
