"""Argument checks shared by the callbacks and schedules.

Each check raises a `ValueError` (or `TypeError`) that names the argument and
echoes the value received, in the style of the rest of kerasforge. This module
imports nothing but the standard library so the package stays keras-only.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raises `ValueError` unless `value` is one of `choices`."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Argument `{name}` must be one of {allowed}. Received: {name}={value!r}")


def check_number(
    name: str, value: Any, minimum: float | None = None, strict: bool = False, allow_none: bool = False
) -> None:
    """Raises unless `value` is a real number, optionally bounded below.

    Args:
        name: String. The argument's name, used in the message.
        value: The value to check.
        minimum: Number or `None`. Lower bound.
        strict: Boolean. Whether the bound is exclusive.
        allow_none: Boolean. Whether `None` is accepted.
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    if minimum is None:
        return
    if (strict and value <= minimum) or (not strict and value < minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"Argument `{name}` must be {relation} {minimum}. Received: {name}={value!r}")


def check_integer(name: str, value: Any, minimum: int = 0, allow_none: bool = False) -> None:
    """Raises unless `value` is an integer >= `minimum` (or allowed `None`)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Argument `{name}` must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"Argument `{name}` must be >= {minimum}. Received: {name}={value!r}")
