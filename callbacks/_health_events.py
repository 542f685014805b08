"""How the health monitors act on what they detect, shared by both monitors.

An event is a plain dict with at least `kind` (a `HealthKind` value), `layer`,
`epoch`, `value` and `message`, so it can go straight into JSON or a pandas
DataFrame.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from kerasforge import _keras_compat
from kerasforge.vocabulary.health_kinds import HealthKind

logger = logging.getLogger("kerasforge.callbacks")

HealthEvent = dict[str, Any]

ON_DETECT_CHOICES = ("warn", "stop", "raise", "log")


def print_message(message: str) -> None:
    """Verbose output, the way Keras's own callbacks print it."""
    _keras_compat.print_msg(message)


class TrainingHealthError(RuntimeError):
    """Raised by a health monitor with `on_detect="raise"` when it detects something.

    Attributes:
        callback: The name of the monitor's class, e.g. `"GradientNormMonitor"`.
        events: The event dicts that stopped training (`kind`, `layer`,
            `epoch`, `value`, `message`).
    """

    def __init__(self, callback: str, events: Sequence[HealthEvent]) -> None:
        self.callback = callback
        self.events = list(events)
        super().__init__(
            f"Training stopped by {callback}(on_detect='raise'): "
            + "; ".join(event["message"] for event in self.events)
        )


def make_event(
    kind: HealthKind, layer: str, epoch: int, value: float, message: str, **extra: Any
) -> HealthEvent:
    """Builds one event dict; `kind` is stored as its plain string value."""
    return dict(
        kind=HealthKind(kind).value,
        layer=layer,
        epoch=int(epoch),
        value=float(value),
        message=message,
        **extra,
    )


def act_on_events(
    callback: Any,
    events: Sequence[HealthEvent],
    on_detect: str,
    before_raise: Callable[[], None] | None = None,
) -> None:
    """Warns, logs, stops training or raises, as `on_detect` says.

    Args:
        callback: The callback that found the events; its `model` is stopped
            when `on_detect="stop"`.
        events: List of new event dicts.
        on_detect: One of `ON_DETECT_CHOICES`.
        before_raise: Callable or `None`. Called before raising, so the
            callback can undo what it installed on the model and write its
            summary (Keras skips `on_train_end` when a callback raises).

    Raises:
        TrainingHealthError: If `on_detect="raise"` and there is at least one
            event (a `RuntimeError` that also carries the events).
    """
    if not events:
        return
    for event in events:
        if on_detect in ("log", "raise"):
            logger.info(event["message"])
        else:
            warnings.warn(event["message"], RuntimeWarning, stacklevel=3)
    if on_detect == "stop":
        callback.model.stop_training = True
    elif on_detect == "raise":
        if before_raise is not None:
            before_raise()
        raise TrainingHealthError(type(callback).__name__, events)


def summarize_events(title: str, events: Sequence[HealthEvent], verbose: int, on_detect: str) -> str:
    """Returns (and reports) a summary naming layers and remedies per kind.

    Args:
        title: String. Name of the monitor, first words of the summary.
        events: List of event dicts from the whole fit.
        verbose: Integer. Whether to also print the summary.
        on_detect: One of `ON_DETECT_CHOICES`. With `"log"`, and with
            `"raise"` (whose error carries the events), the summary is logged
            at INFO rather than WARNING.

    Returns:
        The summary string ("" when there are no events).
    """
    if not events:
        return ""
    lines = [f"{title}: {len(events)} training-health event(s)."]
    for kind in dict.fromkeys(event["kind"] for event in events):
        layers = list(dict.fromkeys(e["layer"] for e in events if e["kind"] == kind))
        lines.append(f"- {kind}: {', '.join(layers)}. Remedies: {HealthKind(kind).remedy}.")
    summary = "\n".join(lines)
    logger.log(logging.INFO if on_detect in ("log", "raise") else logging.WARNING, summary)
    if verbose:
        print_message(summary)
    return summary
