"""Argument checks shared by every kerasforge package.

Each check names the argument and echoes the value received, in the style of
Keras: ``Argument `patience` must be >= 0. Received: patience=-1``. By default a
value of the wrong type raises `TypeError` and one out of range `ValueError`, as
Keras callbacks do; a package with its own error class passes it as `error`
(`kerasforge.data` raises `DataError`). A leaf module: it imports only the
standard library, so `kerasforge.callbacks` and `kerasforge.data` both use it and
stay usable on their own.

Example:

```python
check_integer("patience", patience, minimum=0)
check_integer("batch_size", batch_size, minimum=1, error=DataError)
```
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any


def _errors(error: type[Exception] | None) -> tuple[type[Exception], type[Exception]]:
    """The (wrong type, out of range) exception classes."""
    return (TypeError, ValueError) if error is None else (error, error)


def check_choice(name: str, value: Any, choices: Sequence[Any], error: type[Exception] | None = None) -> Any:
    """Returns `value` if it is one of `choices`.

    Raises:
        ValueError: (or `error`) otherwise, listing the choices.
    """
    if value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise _errors(error)[1](f"Argument `{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value


def check_number(
    name: str,
    value: Any,
    minimum: float | None = None,
    strict: bool = False,
    allow_none: bool = False,
    error: type[Exception] | None = None,
) -> Any:
    """Returns `value` if it is a real number, not NaN, optionally bounded below.

    NaN is refused with or without a bound: every comparison with it is
    false, so a NaN `min_delta` or threshold would silently never fire.

    Args:
        name: String. The argument's name, used in the message.
        value: The value to check.
        minimum: Number or `None`. Lower bound.
        strict: Boolean. Whether the bound is exclusive.
        allow_none: Boolean. Whether `None` is accepted.
        error: Exception class to raise instead of `TypeError`/`ValueError`.

    Raises:
        TypeError: (or `error`) if `value` is not a number.
        ValueError: (or `error`) if it is NaN or below the bound.
    """
    if value is None and allow_none:
        return value
    type_error, range_error = _errors(error)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise type_error(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    if value != value:
        raise range_error(f"Argument `{name}` must be a number, not NaN. Received: {name}={value!r}")
    if minimum is not None and ((strict and value <= minimum) or (not strict and value < minimum)):
        relation = ">" if strict else ">="
        raise range_error(f"Argument `{name}` must be {relation} {minimum}. Received: {name}={value!r}")
    return value


def check_integer(
    name: str, value: Any, minimum: int = 0, allow_none: bool = False, error: type[Exception] | None = None
) -> Any:
    """Returns `value` as an `int` if it is an integer >= `minimum` (or an allowed `None`).

    Raises:
        TypeError: (or `error`) if `value` is not an integer.
        ValueError: (or `error`) if it is below `minimum`.
    """
    if value is None and allow_none:
        return value
    type_error, range_error = _errors(error)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise type_error(f"Argument `{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    if value < minimum:
        raise range_error(f"Argument `{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)
