"""The value objects' common ground: ``to_dict()``/``to_json()``, and reading server JSON.

The readers take what the server sent and raise ``InvalidResponseError`` for a field of the
wrong kind, naming the field and never quoting more of a value than its type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from ._exceptions import InvalidResponseError

__all__ = ["parse_list"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _Value:
    """What every value object offers: ``to_dict()`` and ``to_json()``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict of plain Python values.

        Nested value objects become dicts, tuples become lists, timestamps stay
        ``datetime`` objects. Use ``to_json()`` for data that ``json.dumps`` can write.
        """
        fields = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _plain(getattr(self, f.name)) for f in fields}

    def to_json(self) -> dict[str, Any]:
        """Return the object as JSON-ready data in the server's shape.

        Timestamps become ISO 8601 strings (with ``+00:00``); ``json.dumps(x.to_json())``
        gives the text, and the class's ``from_json`` reads it back to an equal object.
        """
        fields = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _json_value(getattr(self, f.name)) for f in fields}


def _plain(value: object) -> Any:
    if isinstance(value, _Value):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)  # the server's own JSON (plugins): kept as it came, not walked
    return value


def _json_value(value: object) -> Any:
    if isinstance(value, _Value):
        return value.to_json()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _mapping(obj: object, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidResponseError(
            f"expected a JSON object for the {what}, got {type(obj).__name__}"
        )
    return obj


def _shown(value: object) -> str:
    """Show a JSON value in an error message: short, and never by a deep ``repr``.

    A list or an object from the server may be nested thousands deep (``repr`` would raise
    ``RecursionError``) or be huge; it is named by its type instead.
    """
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} keys"
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)[:80]
    return type(value).__name__


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidResponseError(f"field {key!r} must be a string, got {_shown(value)}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidResponseError(f"field {key!r} must be a string or null, got {_shown(value)}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidResponseError(f"field {key!r} must be an integer or null, got {_shown(value)}")
    return value


def _opt_time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = _opt_str(data, key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidResponseError(
            f"field {key!r} is not an ISO timestamp: {_shown(value)}"
        ) from None
    # The server's timestamps are naive UTC (docs/protocol.md 2): make that explicit.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_list(obj: object, parse: Any, what: str) -> list[Any]:
    """Parse a JSON list with ``parse`` applied to each item."""
    if not isinstance(obj, Sequence) or isinstance(obj, (str, bytes)):
        raise InvalidResponseError(f"expected a JSON list of {what}")
    return [parse(item) for item in obj]
