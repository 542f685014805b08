"""Every private Keras API kerasforge uses, in one place.

Keras 3 keeps some things kerasforge needs outside its public API (`keras.*`):
the function behind its own verbose output, an optimizer's learning rate as
given (schedule or variable), a metric's direction. Each is reached through
this module only, so a Keras release that changes one breaks one function
here, and `tests/callbacks/test_keras_compat.py` fails on it by name.

A leaf module: it imports only keras, so `kerasforge.callbacks` may use it and
stay importable with keras alone.
"""

from __future__ import annotations

from typing import Any

from keras.src.utils import io_utils as _io_utils


def print_msg(message: str, line_break: bool = True) -> None:
    """Prints as Keras's own callbacks do: to stdout when interactive logging is
    on (`keras.config.is_interactive_logging_enabled()`), else to absl logging.
    """
    _io_utils.print_msg(message, line_break=line_break)


def learning_rate_as_given(optimizer: Any) -> Any:
    """The learning rate an optimizer was built with: a `LearningRateSchedule`,
    a callable or a variable (`optimizer.learning_rate` evaluates a schedule).
    """
    return optimizer._learning_rate


def metric_direction(metric: Any) -> str | None:
    """`"up"` or `"down"` when a Keras metric knows whether larger is better
    (accuracy, AUC, F1: up; MSE, hinge: down), else `None`.
    """
    direction = getattr(metric, "_direction", None)
    return direction if direction in ("up", "down") else None
