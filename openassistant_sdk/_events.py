"""The typed events of a reply stream, and how one JSON event object becomes one of them.

Event types and fields: docs/protocol.md 3.2; field names: docs/design.md, decision 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from ._exceptions import InvalidResponseError, StreamError
from ._models import Message
from ._values import _Value

__all__ = [
    "ErrorEvent",
    "Event",
    "MessageEvent",
    "PendingEvent",
    "PluginIntermediateEvent",
    "TokenEvent",
    "UnknownEvent",
    "event_from_json",
]


class _EventValue(_Value):
    """``to_dict()`` and ``to_json()`` for events: the server's event object, ``event_type`` first."""

    __slots__ = ()
    _event_type: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """Return the event as the server's event object, with plain Python values.

        ``{"event_type": "token", "text": "Hi"}``; a message in it is ``Message.to_dict()``.
        """
        return {"event_type": self._event_type, **super().to_dict()}

    def to_json(self) -> dict[str, Any]:
        """Return the event as the server's JSON event object.

        ``event_from_json`` reads it back to an equal event; a message in it is
        ``Message.to_json()``.
        """
        return {"event_type": self._event_type, **super().to_json()}


@attrs.frozen(slots=True)
class PendingEvent(_EventValue):
    """The message waits in the queue; ``queue_position`` is 1-based (docs/protocol.md 10.6)."""

    _event_type = "pending"

    queue_position: int
    queue_size: int


@attrs.frozen(slots=True)
class TokenEvent(_EventValue):
    """The next piece of generated text; concatenate them in order."""

    _event_type = "token"

    text: str


@attrs.frozen(slots=True, kw_only=True)
class PluginIntermediateEvent(_EventValue):
    """A plugin reasoning step (the empty token that follows it is dropped, 3.2)."""

    _event_type = "plugin_intermediate"

    current_plugin_thought: str = ""
    current_plugin_action_taken: str = ""
    current_plugin_action_input: str = ""
    current_plugin_action_response: str = ""


@attrs.frozen(slots=True)
class MessageEvent(_EventValue):
    """Terminal success: the complete message; its ``content`` is the authoritative text."""

    _event_type = "message"

    message: Message


@attrs.frozen(slots=True)
class ErrorEvent(_EventValue):
    """Terminal failure: the server's error text and the message, if it sent one."""

    _event_type = "error"

    error: str
    message: Message | None = None


@attrs.frozen(slots=True)
class UnknownEvent(_Value):
    """An ``event_type`` this SDK does not know yet; kept for forward compatibility."""

    event_type: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the server's event object as it came (a shallow copy of ``data``)."""
        return {**self.data, "event_type": self.event_type}

    def to_json(self) -> dict[str, Any]:
        """Return the server's event object as it came; ``event_from_json`` reads it back."""
        return {**self.data, "event_type": self.event_type}


Event: TypeAlias = (
    PendingEvent | TokenEvent | PluginIntermediateEvent | MessageEvent | ErrorEvent | UnknownEvent
)
"""Any event that ``EventDecoder`` produces."""

TERMINAL_EVENTS = (MessageEvent, ErrorEvent)


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StreamError(f"{data.get('event_type')} event field {key!r} is not an integer")
    return value


def _text(data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise StreamError(f"{data.get('event_type')} event field {key!r} is not a string")


def event_from_json(data: object) -> Event:
    """Turn one decoded JSON event object into a typed event.

    Raises:
        StreamError: The object has no ``event_type`` or a known type with bad fields.
    """
    if not isinstance(data, Mapping):
        raise StreamError("event data is not a JSON object")
    kind = data.get("event_type")
    if kind == "token":
        return TokenEvent(_text(data, "text"))
    if kind == "pending":
        return PendingEvent(_int(data, "queue_position"), _int(data, "queue_size"))
    try:
        if kind == "message":
            return MessageEvent(Message.from_json(data.get("message")))
        if kind == "error":
            raw = data.get("message")
            message = Message.from_json(raw) if raw is not None else None
            return ErrorEvent(_text(data, "error", required=False), message)
    except StreamError:
        raise
    except InvalidResponseError as err:
        raise StreamError(f"{kind} event carries a malformed message: {err}") from err
    if kind == "plugin_intermediate":
        return PluginIntermediateEvent(
            current_plugin_thought=_text(data, "current_plugin_thought", required=False),
            current_plugin_action_taken=_text(data, "current_plugin_action_taken", required=False),
            current_plugin_action_input=_text(data, "current_plugin_action_input", required=False),
            current_plugin_action_response=_text(
                data, "current_plugin_action_response", required=False
            ),
        )
    if not isinstance(kind, str):
        raise StreamError("event data has no string event_type")
    return UnknownEvent(kind, data)
