"""Turns pydantic validation errors into one readable line."""

import difflib
import types
import typing

from pydantic import BaseModel, ValidationError

# pydantic puts the branch of a union into the error location (`float`,
# `ScheduleSection`, `literal['relu',...]`); those are not keys a user wrote.
_SCALAR_TAGS = {"float", "int", "str", "bool", "dict", "list", "none"}


def _is_branch_tag(part) -> bool:
    if not isinstance(part, str):
        return False
    return part in _SCALAR_TAGS or "[" in part or part[:1].isupper()


def _model_classes(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        found = []
        for argument in typing.get_args(annotation):
            found.extend(_model_classes(argument))
        return found
    return []


def allowed_keys(model_cls: type[BaseModel], path: tuple) -> list[str]:
    """Returns the keys accepted at `path` inside `model_cls`, or [] if unknown."""
    classes = [model_cls]
    for part in path:
        if isinstance(part, int):
            continue  # an index into a list of sections
        next_classes = []
        for cls in classes:
            field = cls.model_fields.get(part)
            if field is not None:
                next_classes.extend(_model_classes(field.annotation))
        classes = next_classes
        if not classes:
            return []
    return [name for cls in classes for name in cls.model_fields]


def _clean_path(location) -> tuple:
    return tuple(part for part in location if not _is_branch_tag(part))


def _dotted(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


_EXPECTED = {
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _expected(error) -> str:
    if error["type"] == "literal_error":
        return "one of " + error.get("ctx", {}).get("expected", "")
    return _EXPECTED.get(error["type"], error["msg"].lower())


def _describe(error, model_cls) -> str:
    path = _clean_path(error["loc"])
    dotted = _dotted(path)
    kind = error["type"]
    if kind == "extra_forbidden":
        keys = allowed_keys(model_cls, path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), keys, n=1, cutoff=0.6)
        hint = f" (did you mean `{_dotted(path[:-1] + (guess[0],))}`?)" if guess else ""
        allowed = f"; allowed keys here: {', '.join(keys)}" if keys else ""
        return f"unknown key `{dotted}`{hint}{allowed}"
    if kind == "missing":
        return f"`{dotted}` is required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"`{dotted}`: {error['input']!r} is not allowed; choose one of: {expected}"
    message = error["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if kind == "value_error":
        return f"`{dotted}`: {message}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"`{dotted}` must be a mapping of keys. Received: {error['input']!r}"
    return f"`{dotted}`: {message}. Received: {error['input']!r}"


def validation_message(error: ValidationError, model_cls: type[BaseModel]) -> str:
    """Formats every problem in `error` on one line, each with its key path.

    Args:
        error: The pydantic `ValidationError`.
        model_cls: The model that was validated, used to suggest key names.

    Returns:
        A single line such as ``unknown key `model.activaton` (did you mean
        `model.activation`?)``.
    """
    by_path: dict[tuple, list] = {}
    for item in error.errors():
        by_path.setdefault(_clean_path(item["loc"]), []).append(item)
    parts = []
    for items in by_path.values():
        # A value that fits no branch of a union fails once per branch; say it once.
        if len(items) == 1:
            parts.append(_describe(items[0], model_cls))
            continue
        expected = " or ".join(dict.fromkeys(_expected(item) for item in items))
        dotted = _dotted(_clean_path(items[0]["loc"]))
        parts.append(f"`{dotted}` must be {expected}. Received: {items[0]['input']!r}")
    return "; ".join(parts)
