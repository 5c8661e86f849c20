"""What one streamed reply has delivered so far, and what is left after a recovery.

Tokens are not replayed after a reconnect (docs/protocol.md 3.3), so a recovered reply takes its
remaining text from the final message: the stream yields ``content[delivered:]`` and the
joined tokens equal ``Message.content`` (docs/design.md, decision 5). Only a count and a CRC
of the delivered text are kept, so memory stays flat however long the reply.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, MutableSequence
from typing import Literal

import attrs

from ._config import NotGiven
from ._events import (
    ErrorEvent,
    Event,
    MessageEvent,
    PluginIntermediateEvent,
    TokenEvent,
)
from ._exceptions import APITimeoutError
from ._models import Message
from ._sse import DEFAULT_MAX_EVENT_SIZE, EventDecoder, MalformedPolicy

#: Waits between fetches of a message while a broken reply is recovered.
RECOVERY_POLL = (0.25, 0.5, 1.0, 2.0)
#: While only ``pending`` events arrive, look at the message this often: a cancelled message
#: streams ``pending`` forever (docs/protocol.md 3.3, 5.1), and waiting for the stall timeout
#: to say so would waste minutes.
PENDING_CHECK = 10.0
#: Content types an event stream may come with (the website passes the upstream's through).
EVENT_CONTENT_TYPES = ("", "text/event-stream", "text/plain", "application/octet-stream")

# Events that reset the stall timer (docs/design.md, decision 6).
_PROGRESS = frozenset({TokenEvent, PluginIntermediateEvent, MessageEvent, ErrorEvent})

__all__ = [
    "EVENT_CONTENT_TYPES",
    "PENDING_CHECK",
    "RECOVERY_POLL",
    "ReplySettings",
    "ReplyTimers",
    "ReplyTracker",
    "failure_text",
    "recovery_step",
]

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


def expiry_error(message: Message | None, limit: str) -> APITimeoutError:
    """Return the error of a reply whose ``limit`` ran out, saying what the message is doing."""
    state = f"; the message is {message.state!r}" if message is not None else ""
    if message is not None and message.state in ("cancelled", "timeout"):
        state += f" ({failure_text(message)})"
    return APITimeoutError(f"no reply within {limit}{state}", failure=None)


def failure_text(message: Message) -> str:
    """Explain a message state that will never produce text."""
    return {
        "cancelled": "cancelled: a newer assistant message of the same user superseded it (docs/protocol.md 5.1)",
        "timeout": "Timeout",
        "aborted_by_worker": "Aborted due to worker error.",
    }.get(message.state, f"the message ended in state {message.state!r}")


class ReplyTimers:
    """The time limits of one reply: the stall timeout, the total one, the pending checks.

    Attributes:
        stall: Seconds without progress before the reply expires (``None``: no limit).
        span: Seconds the whole reply may take from its assistant message (``None``: no limit).
        deadline: When the total limit runs out, once the reply has started.
        last_progress: When the reply last made progress (a token, plugin work, an end).
        last_check: When the message was last looked at while only ``pending`` came.
    """

    __slots__ = ("clock", "deadline", "last_check", "last_progress", "span", "stall")

    def __init__(self, stall: float | None, span: float | None, clock: Callable[[], float]) -> None:
        self.stall = stall
        self.span = span
        self.clock = clock
        self.deadline: float | None = None
        self.last_progress = 0.0
        self.last_check = 0.0

    def start(self) -> None:
        """Start the clocks: the assistant message exists."""
        now = self.last_progress = self.clock()
        if self.span is not None:
            self.deadline = now + self.span

    def remaining(self) -> float | None:
        """Seconds left before the total limit (``None``: no limit)."""
        return None if self.deadline is None else self.deadline - self.clock()

    def read_timeout(self) -> float | None:
        """How long the next read may take: the nearer of the two limits, never zero."""
        limits = [x for x in (self.stall, self.remaining()) if x is not None]
        return max(min(limits), 0.001) if limits else None

    def expired(self, now: float) -> bool:
        """Whether a limit has run out at ``now``."""
        return (self.deadline is not None and now > self.deadline) or (
            self.stall is not None and now - self.last_progress > self.stall
        )

    def check_due(self, now: float, interval: float) -> bool:
        """Whether the message is due a look (nothing but ``pending`` for ``interval`` s)."""
        if now - max(self.last_progress, self.last_check) > interval:
            self.last_check = now
            return True
        return False

    def limit_name(self) -> str:
        """The option whose limit ran out: ``stream_timeout`` if its deadline has passed."""
        remaining = self.remaining()
        return "stream_timeout" if remaining is not None and remaining <= 0 else "stall_timeout"


@attrs.frozen(kw_only=True)
class ReplySettings:
    """How a client reads its replies.

    Attributes:
        stall_timeout: Seconds without progress before a reply expires (``None``: no limit).
        stream_timeout: Seconds a whole reply may take (``None``: no limit).
        recover: Recover a reply whose stream broke (otherwise: ``StreamError``).
        max_recoveries: Looks at an unfinished message before recovery gives up.
        on_malformed: What the event decoder does with a malformed event.
        max_event_size: The event decoder's size limit.
        reads_bounded: Whether the transport times out every read by the HTTP read timeout.
    """

    stall_timeout: float | None = None
    stream_timeout: float | None = None
    recover: bool = True
    max_recoveries: int = 3
    on_malformed: MalformedPolicy = "raise"
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE
    reads_bounded: bool = True

    def decoder(self) -> EventDecoder:
        """Return a new event decoder with these settings."""
        return EventDecoder(on_malformed=self.on_malformed, max_event_size=self.max_event_size)

    def for_call(
        self, stall_timeout: float | None | NotGiven, stream_timeout: float | None | NotGiven
    ) -> ReplySettings:
        """Return these settings with one call's time limits (``NOT_GIVEN``: the client's)."""
        if isinstance(stall_timeout, NotGiven) and isinstance(stream_timeout, NotGiven):
            return self
        return attrs.evolve(
            self,
            stall_timeout=self.stall_timeout if isinstance(stall_timeout, NotGiven) else stall_timeout,
            stream_timeout=self.stream_timeout if isinstance(stream_timeout, NotGiven) else stream_timeout,
        )  # fmt: skip
