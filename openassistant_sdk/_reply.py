"""What one streamed reply has delivered so far, and what is left after a recovery.

Tokens are not replayed after a reconnect (docs/protocol.md 3.3), so a recovered reply takes its
remaining text from the final message: the stream yields ``content[delivered:]`` and the
joined tokens equal ``Message.content`` (docs/design.md, decision 5). Only a count and a CRC
of the delivered text are kept, so memory stays flat however long the reply.
"""

from __future__ import annotations

import zlib
from collections.abc import MutableSequence
from typing import Literal

from ._events import (
    ErrorEvent,
    Event,
    MessageEvent,
    PluginIntermediateEvent,
    TokenEvent,
)
from ._models import Message

# Events that reset the stall timer (docs/design.md, decision 6).
_PROGRESS = frozenset({TokenEvent, PluginIntermediateEvent, MessageEvent, ErrorEvent})

__all__ = ["ReplyTracker", "recovery_step"]

RecoveryStep = Literal["done", "wait", "failed"]


class ReplyTracker:
    """Follow the events of one assistant message.

    Attributes:
        delivered: Characters of text handed to the user so far.
        recovering: True after the stream broke: tokens are then hidden (they cannot be put
            in order with what was lost) and the rest comes from the final message.
        final: The complete message, once known.
        error: The terminal error event, if the generation failed.
    """

    __slots__ = ("_crc", "delivered", "error", "final", "recovering")

    def __init__(self) -> None:
        self.delivered = 0
        self._crc = 0
        self.recovering = False
        self.final: Message | None = None
        self.error: ErrorEvent | None = None

    @property
    def finished(self) -> bool:
        """True once a terminal event (or the final message) has been seen."""
        return self.final is not None or self.error is not None

    def accept(self, event: Event) -> list[Event]:
        """Record an event; return what the user should see for it (maybe nothing)."""
        kind = type(event)
        if kind is TokenEvent:
            if self.recovering:
                return []
            assert isinstance(event, TokenEvent)
            self.deliver(event.text)
            return [event]
        if kind is MessageEvent:
            assert isinstance(event, MessageEvent)
            return self.finish(event.message, event)
        if kind is ErrorEvent:
            assert isinstance(event, ErrorEvent)
            self.error = event
        return [event]

    def accept_all(self, events: list[Event], out: MutableSequence[Event]) -> tuple[bool, bool]:
        """Record events in order up to the first terminal one, adding what the user should see.

        The same as ``accept`` for each event, with the text of consecutive tokens counted
        at once (a CRC over their concatenation equals the CRC over each in turn).

        Returns:
            Whether the reply progressed (a token, plugin work or a final event; not
            ``pending``, which a cancelled message streams forever, docs/protocol.md 3.3, nor an
            event type this version does not know), and whether a terminal event was
            recorded: the events after it are not looked at.
        """
        if len(events) == 1 and type(events[0]) is TokenEvent and not self.recovering:
            # One token, the common case when each event comes in a chunk of its own.
            text = events[0].text
            if text:
                self.delivered += len(text)
                self._crc = zlib.crc32(text.encode("utf-8", "surrogatepass"), self._crc)
            out.append(events[0])
            return True, False
        progress = False
        texts: list[str] = []
        for event in events:
            kind = type(event)
            if kind is TokenEvent and not self.recovering:
                texts.append(event.text)  # type: ignore[union-attr]
                out.append(event)
                progress = True
                continue
            if texts:
                self.deliver("".join(texts))
                texts = []
            if kind in _PROGRESS:
                progress = True
            out.extend(self.accept(event))
            if self.final is not None or self.error is not None:
                return progress, True
        if texts:
            self.deliver("".join(texts))
        return progress, False

    def deliver(self, text: str) -> None:
        """Count text as handed to the user."""
        if text:
            self.delivered += len(text)
            self._crc = zlib.crc32(text.encode("utf-8", "surrogatepass"), self._crc)

    def finish(self, message: Message, event: MessageEvent | None = None) -> list[Event]:
        """Record the final message; when recovering, first emit the text still missing."""
        self.final = message
        out: list[Event] = []
        if self.recovering:
            rest = self.remainder(message)
            if rest:
                self.deliver(rest)
                out.append(TokenEvent(rest))
        out.append(event or MessageEvent(message))
        return out

    def remainder(self, message: Message) -> str:
        """Return the part of the final text not yet delivered.

        If the delivered text is not a prefix of the final content (the worker strips
        whitespace around Llama output, docs/protocol.md 3.2), nothing more can be added.
        """
        content = message.content or ""
        n = self.delivered
        if n > len(content):
            return ""
        if n and zlib.crc32(content[:n].encode("utf-8", "surrogatepass")) != self._crc:
            return ""
        return content[n:]


def recovery_step(message: Message) -> RecoveryStep:
    """Decide what a recovery does after fetching the message (states: docs/protocol.md 5.3)."""
    if message.state == "complete":
        return "done"
    if message.state in ("pending", "in_progress"):
        return "wait"
    return "failed"


def failure_text(message: Message) -> str:
    """Explain a message state that will never produce text."""
    return {
        "cancelled": "cancelled: a newer assistant message of the same user superseded it (docs/protocol.md 5.1)",
        "timeout": "Timeout",
        "aborted_by_worker": "Aborted due to worker error.",
    }.get(message.state, f"the message ended in state {message.state!r}")
