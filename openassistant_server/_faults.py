"""Fault injection: what can go wrong, when, and a thread-safe book of armed faults.

A `Fault` matches requests by method, path glob, API surface and operation name, fires a
given number of times, and either answers in place of the server (status, dropped or reset
connection, delay), spoils an event stream after N events, or makes the simulated worker
fail mid-generation.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import threading
from collections.abc import Mapping
from typing import Any, Literal, get_args

import attrs

__all__ = [
    "GENERATION_ACTIONS",
    "REQUEST_ACTIONS",
    "STREAM_ACTIONS",
    "Fault",
    "FaultAction",
    "FaultBook",
    "classify_request",
]

FaultAction = Literal[
    "respond",
    "handled_500",
    "unhandled_500",
    "reset",
    "close",
    "delay",
    "stream_reset",
    "stream_abort",
    "stream_stall",
    "stream_end",
    "stream_malformed",
    "stream_unknown_event",
    "stream_slow",
    "worker_error",
]

#: Actions taken instead of (or before) handling the request.
REQUEST_ACTIONS = frozenset({"respond", "handled_500", "unhandled_500", "reset", "close", "delay"})
#: Actions applied to an event stream (`.../events`, `/api/chat/events`).
STREAM_ACTIONS = frozenset(
    {
        "stream_reset",
        "stream_abort",
        "stream_stall",
        "stream_end",
        "stream_malformed",
        "stream_unknown_event",
        "stream_slow",
    }
)
#: Actions applied to the generation of the assistant message a request creates.
GENERATION_ACTIONS = frozenset({"worker_error"})

_ALL_ACTIONS = frozenset(get_args(FaultAction))


def _check_action(_inst: Any, _attr: Any, value: str) -> None:
    if value not in _ALL_ACTIONS:
        raise ValueError(f"unknown fault action {value!r}; expected one of {sorted(_ALL_ACTIONS)}")


def _check_api(_inst: Any, _attr: Any, value: str | None) -> None:
    if value not in (None, "inference", "website"):
        raise ValueError(f"api must be 'inference', 'website' or None, not {value!r}")


def _check_times(_inst: Any, _attr: Any, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError("times must be at least 1 (or None for every matching request)")


def _str_dict(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


@attrs.frozen(kw_only=True)
class Fault:
    """One fault to inject.

    Attributes:
        action: What to do:
            ``"respond"`` answer `status` with `headers` and `body` (e.g. 429 with
            `Retry-After`, 503); ``"handled_500"`` an empty 500, connection kept;
            ``"unhandled_500"`` upstream's 21-byte text/plain 500, then the connection is
            closed without `Connection: close` (10.2); ``"reset"`` reset the TCP connection
            (RST) before answering; ``"close"`` close it (FIN) before answering; ``"delay"``
            wait `delay` seconds, then handle the request normally;
            ``"stream_reset"`` / ``"stream_abort"`` reset (RST) / close (FIN, no final chunk)
            the connection after `after_events` events; ``"stream_stall"`` stop sending
            (pings too) after `after_events` events and keep the connection open;
            ``"stream_end"`` end the stream cleanly after `after_events` events, without a
            terminal event; ``"stream_malformed"`` insert the line ``data: <data>`` after
            `after_events` events; ``"stream_unknown_event"`` insert an event with an unknown
            `event_type`; ``"stream_slow"`` deliver every byte from event `after_events` on
            in chunks of `chunk_size` bytes, `chunk_delay` seconds apart;
            ``"worker_error"`` make the worker fail after `after_events` tokens of the
            message the matching `assistant_message` creates (the stream gets an `error`
            event with `error`, state `aborted_by_worker`; after 0 tokens upstream re-queues
            the message instead, 5.3).
        method: HTTP method to match, or ``"*"``.
        path: Glob (fnmatch) matched against the request path, e.g.
            ``"/chats/*/assistant_message"``.
        api: ``"inference"`` or ``"website"`` to match one API surface only.
        op: Operation name to match, the same on both APIs: ``create_chat``, ``list_chats``,
            ``get_chat``, ``update_chat``, ``delete_chat``, ``prompter_message``,
            ``assistant_message``, ``get_message``, ``events``, ``vote``, ``report``,
            ``message_eval``, ``models``, ``plugins``, ``plugin_config``, ``auth_login``,
            ``auth_callback``, ``auth_refresh``, ``auth_check``, ``auth_providers``,
            ``auth_trusted``.
        times: How many matching requests it fires for; None for all of them.
        status: Status for ``"respond"``.
        headers: Headers for ``"respond"``.
        body: Body for ``"respond"`` (UTF-8).
        delay: Seconds for ``"delay"``.
        after_events: Events (or tokens, for ``"worker_error"``) before a stream fault acts.
        chunk_size: Bytes per chunk for ``"stream_slow"``.
        chunk_delay: Seconds between chunks for ``"stream_slow"``.
        data: The text after ``data: `` for ``"stream_malformed"``.
        error: The error text for ``"worker_error"``.
    """

    action: FaultAction = attrs.field(validator=_check_action)
    method: str = "*"
    path: str = "*"
    api: Literal["inference", "website"] | None = attrs.field(default=None, validator=_check_api)
    op: str | None = None
    times: int | None = attrs.field(default=1, validator=_check_times)
    status: int = 500
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_str_dict)
    body: str = ""
    delay: float = 0.0
    after_events: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    chunk_size: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    chunk_delay: float = attrs.field(default=0.01, validator=attrs.validators.ge(0))
    data: str = "{not json"
    error: str = "Aborted due to worker error."

    def matches(self, method: str, path: str, api: str | None, op: str | None) -> bool:
        """Return whether a request matches this fault's filters."""
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.api is not None and self.api != api:
            return False
        if self.op is not None and self.op != op:
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as a JSON object (the admin route's format)."""
        data = attrs.asdict(self)
        data["headers"] = dict(self.headers)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from a JSON object.

        Raises:
            ValueError: Unknown keys or invalid values.
            TypeError: A required key is missing or a value has the wrong type.
        """
        known = {a.name for a in attrs.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**dict(data))


@attrs.define
class _Armed:
    id: str
    fault: Fault
    remaining: int | None


class FaultBook:
    """The armed faults; safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> str:
        """Arm a fault and return its id."""
        with self._lock:
            fault_id = f"fault-{next(self._ids)}"
            self._armed.append(_Armed(fault_id, fault, fault.times))
            return fault_id

    def remove(self, fault_id: str) -> bool:
        """Disarm one fault; return whether it was armed."""
        with self._lock:
            before = len(self._armed)
            self._armed = [a for a in self._armed if a.id != fault_id]
            return len(self._armed) < before

    def clear(self) -> int:
        """Disarm every fault; return how many were armed."""
        with self._lock:
            count = len(self._armed)
            self._armed = []
            return count

    def snapshot(self) -> list[dict[str, Any]]:
        """Return the armed faults with their ids and remaining counts."""
        with self._lock:
            return [
                {"id": a.id, "remaining": a.remaining, **a.fault.to_json()} for a in self._armed
            ]

    def take(
        self,
        actions: frozenset[str],
        method: str,
        path: str,
        api: str | None,
        op: str | None,
    ) -> Fault | None:
        """Consume one use of the first armed fault of the given kinds matching a request."""
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if fault.action in actions and fault.matches(method, path, api, op):
                    if armed.remaining is not None:
                        armed.remaining -= 1
                        if armed.remaining <= 0:
                            self._armed.remove(armed)
                    return fault
        return None


_MESSAGE_OPS = {
    "votes": "vote",
    "reports": "report",
    "message_evals": "message_eval",
    "events": "events",
}
_WEBSITE_OPS = {
    "message": "get_message",
    "prompter_message": "prompter_message",
    "assistant_message": "assistant_message",
    "events": "events",
    "vote": "vote",
    "message_eval": "message_eval",
    "models": "models",
    "plugins": "plugins",
    "plugin_config": "plugin_config",
}
_AUTH_OPS = {
    "callback": "auth_callback",
    "login": "auth_login",
    "refresh": "auth_refresh",
    "check": "auth_check",
    "providers": "auth_providers",
    "trusted": "auth_trusted",
}
_CONFIG_OPS = {
    "model_configs": "models",
    "builtin_plugins": "plugins",
    "plugin_config": "plugin_config",
}
_MESSAGE_CREATE_OPS = ("prompter_message", "assistant_message")
_CHAT_METHOD_OPS = {"GET": "get_chat", "PUT": "update_chat", "DELETE": "delete_chat"}
_CHAT_ID_RE = re.compile(r"(?:^|&)chat_id=[^&]")


def classify_request(method: str, path: str, query: str = "") -> tuple[str | None, str | None]:
    """Return the API surface and operation name of a request (None when unknown)."""
    parts = [p for p in path.split("/") if p]
    method = method.upper()
    if parts[:2] == ["api", "chat"]:
        if len(parts) == 2:
            if method == "GET":
                return "website", "get_chat" if _CHAT_ID_RE.search(query) else "list_chats"
            ops = {"POST": "create_chat", "PUT": "update_chat", "DELETE": "delete_chat"}
            return "website", ops.get(method)
        return "website", _WEBSITE_OPS.get(parts[2]) if len(parts) == 3 else None
    if not parts:
        return None, None
    if parts[0] == "auth" and len(parts) >= 2:
        return "inference", _AUTH_OPS.get(parts[1])
    if parts[0] == "configs" and len(parts) == 2:
        return "inference", _CONFIG_OPS.get(parts[1])
    if parts[0] != "chats":
        return None, None
    if len(parts) == 1:
        return "inference", {"GET": "list_chats", "POST": "create_chat"}.get(method)
    if len(parts) == 2:
        return "inference", _CHAT_METHOD_OPS.get(method)
    if len(parts) == 3:
        return "inference", parts[2] if parts[2] in _MESSAGE_CREATE_OPS else None
    if parts[2] == "messages" and len(parts) == 4:
        return "inference", "get_message"
    if parts[2] == "messages" and len(parts) == 5:
        return "inference", _MESSAGE_OPS.get(parts[4])
    return "inference", None
