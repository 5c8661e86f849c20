"""What the command line writes: one-line messages on stderr, text and JSON on stdout, colour."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn

import attrs

from openassistant_sdk._events import (
    ErrorEvent,
    Event,
    MessageEvent,
    PendingEvent,
    TokenEvent,
    UnknownEvent,
)
from openassistant_sdk._exceptions import (
    OpenAssistantError,
)
from openassistant_sdk._logging import scrub
from openassistant_sdk._models import Message, SamplingParameters

PROG = "openassistant"
SERVER_HINT = "this needs the local server: pip install 'openassistant-sdk[server]'"
NO_CREDENTIALS = {
    "website": "no website session: pass --session-token or set OPENASSISTANT_SESSION_TOKEN",
    "inference": "no inference server credentials: pass --token or --debug-user, "
    "or set OPENASSISTANT_TOKEN or OPENASSISTANT_DEBUG_USER",
}
SAMPLING_FIELDS = tuple(field.name for field in attrs.fields(SamplingParameters))
_SECRET_VARIABLES = (
    "OPENASSISTANT_TOKEN",
    "OPENASSISTANT_SESSION_TOKEN",
    "OPENASSISTANT_BACKEND_API_KEY",
)
_SECRETS: list[str] = []  # the secrets given as flags, kept out of every message


class CLIError(Exception):
    """A failure reported as one line on stderr with its exit status (2: usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _UnknownModelError(OpenAssistantError):
    """The server's 422 for an unknown model, with the names it serves."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not usage plus error."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')", status=2)


# -- output ---------------------------------------------------------------------------------------


#: SGR codes of the coloured parts: message kinds on stderr, the prompt, the banner.
_STYLES = {"error": "1;31", "warning": "1;33", "note": "2", "prompt": "1;32", "banner": "2"}
PLACEHOLDER_MODELS = {
    "_lorem": "a placeholder model: lorem ipsum text",
    "echo": "a placeholder model: it repeats your prompt",
}


def _colour(stream: Any) -> bool:
    """Whether to colour `stream`: a terminal, and no ``NO_COLOR`` (no-color.org) or dumb TERM."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _paint(text: str, style: str, stream: Any) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if _colour(stream) else text


def _clean(message: object) -> str:
    """Return `message` as one line without secrets."""
    secrets = [os.environ.get(name, "") for name in _SECRET_VARIABLES] + _SECRETS
    return " ".join(scrub(str(message), secrets).split())


def _say(kind: str, message: object) -> None:
    """Write ``openassistant: <kind>: <message>`` as one line on stderr, without secrets."""
    prefix = _paint(f"{PROG}: {kind}:", kind, sys.stderr)
    sys.stderr.write(f"{prefix} {_clean(message)}\n")
    sys.stderr.flush()


def _show_warning(message: Warning | str, category: type[Warning], *_args: Any, **_kw: Any) -> None:
    _say("warning", message)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _print_json(obj: dict[str, Any]) -> None:
    _write(json.dumps(obj, ensure_ascii=False) + "\n")


def _message_json(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    fields = ("id", "chat_id", "parent_id", "role", "state", "content")
    return {name: getattr(message, name) for name in fields}


def _event_json(event: Event) -> dict[str, Any]:
    """Return the ``--json`` line of an event: ``{"type": ..., <its fields>}``."""
    if isinstance(event, TokenEvent):
        return {"type": "token", "text": event.text}
    if isinstance(event, PendingEvent):
        return {"type": "pending", "queue_position": event.queue_position, "queue_size": event.queue_size}  # fmt: skip
    if isinstance(event, MessageEvent):
        return {"type": "message", "message": _message_json(event.message)}
    if isinstance(event, ErrorEvent):
        return {"type": "error", "error": event.error, "message": _message_json(event.message)}
    if isinstance(event, UnknownEvent):
        return {"type": "unknown", "event_type": event.event_type, "data": dict(event.data)}
    return {"type": "plugin_intermediate", **attrs.asdict(event)}
