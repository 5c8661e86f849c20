"""Request validation with pydantic v1's coercions and FastAPI 0.88's error shapes (2.3).

Upstream validates with pydantic 1.10: numbers become strings for `str` fields, `"5"` and
`5.9` become `5` for `int` fields, unknown keys are ignored, and errors are a list of
`{"loc", "msg", "type"[, "ctx"]}` answered with 422. This module reproduces that for the
small set of types the protocol uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._http import HTTPError

__all__ = [
    "INVALID",
    "MISSING",
    "ErrorList",
    "Field",
    "Loc",
    "Validator",
    "constrained_int",
    "enum_of",
    "error",
    "list_of",
    "max_length",
    "model",
    "parse_json_body",
    "raise_if_errors",
    "to_bool",
    "to_float",
    "to_int",
    "to_str",
    "validate_body",
]

Loc = tuple[str | int, ...]
ErrorList = list[dict[str, Any]]
Validator = Callable[[Any, Loc, ErrorList], Any]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Returned by a validator that recorded an error.
INVALID: Any = _Sentinel("INVALID")
#: A request without a body (or with JSON `null`, which FastAPI treats the same way).
MISSING: Any = _Sentinel("MISSING")


def error(loc: Loc, msg: str, type_: str, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build one error entry in FastAPI's key order."""
    entry: dict[str, Any] = {"loc": list(loc), "msg": msg, "type": type_}
    if ctx is not None:
        entry["ctx"] = ctx
    return entry


def raise_if_errors(errors: ErrorList) -> None:
    """Raise the 422 FastAPI answers for validation errors, if there are any."""
    if errors:
        raise HTTPError(422, errors)


def to_str(value: Any, loc: Loc, errors: ErrorList) -> Any:
    """Validate a `str` field: numbers are converted, anything else is an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    errors.append(error(loc, "str type expected", "type_error.str"))
    return INVALID


def to_int(value: Any, loc: Loc, errors: ErrorList) -> Any:
    """Validate an `int` field: `int(value)`, so floats truncate and digit strings parse."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        errors.append(error(loc, "value is not a valid integer", "type_error.integer"))
        return INVALID


def to_float(value: Any, loc: Loc, errors: ErrorList) -> Any:
    """Validate a `float` field: `float(value)`; integers become floats (`1` -> `1.0`)."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        errors.append(error(loc, "value is not a valid float", "type_error.float"))
        return INVALID


_TRUE = {1, "1", "on", "t", "true", "y", "yes"}
_FALSE = {0, "0", "off", "f", "false", "n", "no"}


def to_bool(value: Any, loc: Loc, errors: ErrorList) -> Any:
    """Validate a `bool` field with pydantic v1's accepted spellings."""
    if value is True or value is False:
        return value
    probe = value.lower() if isinstance(value, str) else value
    try:
        if probe in _TRUE:
            return True
        if probe in _FALSE:
            return False
    except TypeError:
        pass
    errors.append(error(loc, "value could not be parsed to a boolean", "type_error.bool"))
    return INVALID


def enum_of(values: Sequence[str]) -> Validator:
    """Return a validator for a `str` enum with the given member values."""
    permitted = ", ".join(repr(v) for v in values)

    def validate(value: Any, loc: Loc, errors: ErrorList) -> Any:
        if isinstance(value, str) and value in values:
            return value
        errors.append(
            error(
                loc,
                f"value is not a valid enumeration member; permitted: {permitted}",
                "type_error.enum",
                {"enum_values": list(values)},
            )
        )
        return INVALID

    return validate


def max_length(inner: Validator, limit: int) -> Validator:
    """Return `constr(max_length=limit)` on top of another validator."""

    def validate(value: Any, loc: Loc, errors: ErrorList) -> Any:
        result = inner(value, loc, errors)
        if result is not INVALID and len(result) > limit:
            errors.append(
                error(
                    loc,
                    f"ensure this value has at most {limit} characters",
                    "value_error.any_str.max_length",
                    {"limit_value": limit},
                )
            )
            return INVALID
        return result

    return validate


def constrained_int(*, gt: int | None = None, le: int | None = None) -> Validator:
    """Return a validator for `int` with FastAPI's `gt`/`le` constraints."""

    def validate(value: Any, loc: Loc, errors: ErrorList) -> Any:
        result = to_int(value, loc, errors)
        if result is INVALID:
            return result
        if gt is not None and not result > gt:
            errors.append(
                error(
                    loc,
                    f"ensure this value is greater than {gt}",
                    "value_error.number.not_gt",
                    {"limit_value": gt},
                )
            )
            return INVALID
        if le is not None and not result <= le:
            errors.append(
                error(
                    loc,
                    f"ensure this value is less than or equal to {le}",
                    "value_error.number.not_le",
                    {"limit_value": le},
                )
            )
            return INVALID
        return result

    return validate


def list_of(item: Validator) -> Validator:
    """Return a validator for `list[item]`; errors carry the item index in `loc`."""

    def validate(value: Any, loc: Loc, errors: ErrorList) -> Any:
        if not isinstance(value, list | tuple):
            errors.append(error(loc, "value is not a valid list", "type_error.list"))
            return INVALID
        before = len(errors)
        result = [item(v, (*loc, i), errors) for i, v in enumerate(value)]
        return INVALID if len(errors) > before else result

    return validate


def any_dict(value: Any, loc: Loc, errors: ErrorList) -> Any:
    """Validate a free-form object (kept as given)."""
    converted = _as_dict(value)
    if converted is None:
        errors.append(error(loc, "value is not a valid dict", "type_error.dict"))
        return INVALID
    return converted


@attrs.frozen
class Field:
    """One model field.

    Attributes:
        name: The JSON key.
        validator: Validates a present, non-null value.
        required: Missing -> `field required`.
        default: Factory for the value of an absent field.
        nullable: Whether `null` is accepted (`Optional[...]`); otherwise `none is not an
            allowed value`.
    """

    name: str
    validator: Validator
    required: bool = False
    default: Callable[[], Any] = lambda: None
    nullable: bool = True


def _as_dict(value: Any) -> dict[str, Any] | None:
    # pydantic v1 accepts anything `dict()` accepts: `""` and `[]` become `{}` (which is why
    # `POST /chats` with the JSON body `""` succeeds, golden 01 #6).
    if isinstance(value, dict):
        return value
    try:
        return dict(value)
    except (TypeError, ValueError):
        return None


def model(fields: Sequence[Field]) -> Validator:
    """Return a validator for a pydantic model: a dict with the fields in declared order."""

    def validate(value: Any, loc: Loc, errors: ErrorList) -> Any:
        data = _as_dict(value)
        if data is None:
            errors.append(error(loc, "value is not a valid dict", "type_error.dict"))
            return INVALID
        before = len(errors)
        result: dict[str, Any] = {}
        for f in fields:
            floc = (*loc, f.name)
            if f.name not in data:
                if f.required:
                    errors.append(error(floc, "field required", "value_error.missing"))
                result[f.name] = f.default()
            elif data[f.name] is None:
                if not f.nullable:
                    errors.append(
                        error(floc, "none is not an allowed value", "type_error.none.not_allowed")
                    )
                result[f.name] = None
            else:
                result[f.name] = f.validator(data[f.name], floc, errors)
        return INVALID if len(errors) > before else result

    return validate


def validate_body(body: Any, schema: Validator, errors: ErrorList) -> Any:
    """Validate a request body against a model, as FastAPI does for one body parameter."""
    if body is MISSING:
        errors.append(error(("body",), "field required", "value_error.missing"))
        return INVALID
    return schema(body, ("body",), errors)


def parse_json_body(raw: bytes, content_type: str | None) -> Any:
    """Decode a request body the way FastAPI 0.88 does, before any dependency runs.

    JSON is parsed when the content type is missing or JSON-like; other bodies stay bytes
    (and then fail model validation). Malformed JSON is a 422 with `value_error.jsondecode`.

    Returns:
        The decoded value, or `MISSING` for an empty body or JSON `null`.

    Raises:
        HTTPError: 422 for malformed JSON, 400 for a body that cannot be decoded at all.
    """
    if not raw:
        return MISSING
    if content_type:
        main = content_type.partition(";")[0]
        main = main.strip().lower()
        maintype, _, subtype = main.partition("/")
        if maintype != "application" or not (subtype == "json" or subtype.endswith("+json")):
            return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HTTPError(
            422,
            [
                error(
                    ("body", exc.pos),
                    str(exc),
                    "value_error.jsondecode",
                    {
                        "msg": exc.msg,
                        "doc": exc.doc,
                        "pos": exc.pos,
                        "lineno": exc.lineno,
                        "colno": exc.colno,
                    },
                )
            ],
        ) from exc
    except Exception as exc:
        raise HTTPError(400, "There was an error parsing the body") from exc
    return MISSING if value is None else value
