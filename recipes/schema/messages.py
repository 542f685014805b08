"""Turns pydantic validation errors into one readable line."""

import difflib
import types
import typing

from pydantic import BaseModel, ValidationError

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
# Errors that only say "the value has another shape": when a union's other branch
# accepted the shape and failed on the value itself, that failure is the news.
_SHAPE_ERRORS = set(_EXPECTED) | {"literal_error"}
_LONGEST_VALUE = 120


def _unwrap(annotation):
    """Strips `Annotated[...]` and `| None` from an annotation."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def _union_members(annotation) -> list | None:
    """The members of a union of two or more types (pydantic tags its errors by member), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(member) for member in typing.get_args(annotation) if member is not type(None)]
    return None


def _member_for_tag(members: list, tag):
    """The union member pydantic names `tag` in an error location (`ScheduleSection`, `list[int]`)."""
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and tag == member.__name__:
            return member
        origin = typing.get_origin(member)
        if origin in (list, dict) and isinstance(tag, str) and tag.startswith(f"{origin.__name__}["):
            return member
    return None


def _child(annotation, part):
    """The annotation one step below `annotation` at key or index `part`, or None if unknown."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return _unwrap(field.annotation) if field is not None else None
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return _unwrap(typing.get_args(annotation)[-1])
    return None


def _clean_path(location, model_cls: type[BaseModel]) -> tuple:
    """The keys a user wrote, from a pydantic error location.

    pydantic puts the member of a union it tried into the location
    (`ScheduleSection`, `list[int]`, `literal['relu',...]`); those are not
    keys. Walking the schema alongside the location tells them apart from a
    user's key, whatever that key looks like.
    """
    path = []
    annotation = model_cls
    for part in location:
        members = _union_members(annotation)
        if members is not None:
            annotation = _member_for_tag(members, part)
            continue
        path.append(part)
        annotation = _child(annotation, part)
    return tuple(path)


def _model_classes(annotation) -> list[type[BaseModel]]:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) is list:  # a list of sections, such as `claims`
        return _model_classes(typing.get_args(annotation)[0])
    members = _union_members(annotation)
    return [found for member in members or () for found in _model_classes(member)]


def allowed_keys(model_cls: type[BaseModel], path: tuple) -> list[str]:
    """Returns the keys accepted at `path` inside `model_cls`, or [] if unknown."""
    classes = [model_cls]
    for part in path:
        if isinstance(part, int):
            continue  # an index into a list of sections
        next_classes = []
        for cls in classes:
            field = cls.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                next_classes.extend(_model_classes(field.annotation))
        classes = next_classes
        if not classes:
            return []
    return [name for cls in classes for name in cls.model_fields]


def show_key(part, dotted: bool = False) -> str:
    """A key as it reads in a message: plain if it is a printable word, else its repr.

    A key holding a dot is quoted (it is one key, not a path) unless `dotted`
    says it is a whole `--set` path.
    """
    if isinstance(part, int) and not isinstance(part, bool):
        return str(part)
    plain = isinstance(part, str) and part and part.isprintable() and part.strip() == part
    return part if plain and (dotted or "." not in part) else repr(part)


def show_value(value) -> str:
    """`repr(value)`, shortened to one short line."""
    text = repr(value)
    return text if len(text) <= _LONGEST_VALUE else text[: _LONGEST_VALUE - 3] + "..."


def dotted_path(path: tuple) -> str:
    """A key path as `model.hidden.0`, or `<top level>` when empty."""
    return ".".join(show_key(part) for part in path) or "<top level>"


def _expected(error) -> str:
    if error["type"] == "literal_error":
        return "one of " + error.get("ctx", {}).get("expected", "")
    return _EXPECTED.get(error["type"], error["msg"].lower())


def _describe(path: tuple, error, model_cls) -> str:
    dotted = dotted_path(path)
    kind = error["type"]
    if kind == "extra_forbidden":
        keys = allowed_keys(model_cls, path[:-1])
        guess = difflib.get_close_matches(str(path[-1]), keys, n=1, cutoff=0.6)
        hint = f" (did you mean `{dotted_path(path[:-1] + (guess[0],))}`?)" if guess else ""
        allowed = f"; allowed keys here: {', '.join(keys)}" if keys else ""
        return f"unknown key `{dotted}`{hint}{allowed}"
    if kind == "missing":
        return f"`{dotted}` is required"
    received = show_value(error["input"])
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"`{dotted}`: {received} is not allowed; choose one of: {expected}"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error" and not path:
        # A check across sections names its own keys.
        return message
    message = message[:1].lower() + message[1:]
    if kind == "value_error":
        return f"`{dotted}`: {message}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"`{dotted}` must be a mapping of keys. Received: {received}"
    return f"`{dotted}`: {message}. Received: {received}"


def _superseded(path: tuple, error, errors: list) -> bool:
    """True for a shape error at `path` when another union member got further with the value."""
    if error["type"] not in _SHAPE_ERRORS:
        return False
    return any(
        other is not error
        and other_path[: len(path)] == path
        and (len(other_path) > len(path) or other["type"] not in _SHAPE_ERRORS)
        for other_path, other in errors
    )


def validation_message(error: ValidationError, model_cls: type[BaseModel]) -> str:
    """Formats every problem in `error` on one line, each with its key path.

    Args:
        error: The pydantic `ValidationError`.
        model_cls: The model that was validated, used to tell keys from union
            tags and to suggest key names.

    Returns:
        A single line such as ``unknown key `model.activaton` (did you mean
        `model.activation`?)``.
    """
    errors = [(_clean_path(item["loc"], model_cls), item) for item in error.errors()]
    by_path: dict[tuple, list] = {}
    for path, item in errors:
        if not _superseded(path, item, errors):
            by_path.setdefault(path, []).append(item)
    parts = []
    for path, items in by_path.items():
        # A value that fits no member of a union fails once per member; say it once.
        if len(items) == 1 or any(item["type"] not in _SHAPE_ERRORS for item in items):
            described = (_describe(path, item, model_cls) for item in items)
            parts.extend(dict.fromkeys(described))
            continue
        expected = " or ".join(dict.fromkeys(_expected(item) for item in items))
        parts.append(f"`{dotted_path(path)}` must be {expected}. Received: {show_value(items[0]['input'])}")
    return "; ".join(parts)
