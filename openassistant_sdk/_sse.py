"""The incremental event-stream decoder: bytes in any chunking become typed events.

Lines end at CR, LF or CRLF, on bytes, across chunk boundaries (WHATWG HTML "event stream
interpretation"); comments (``: ping``) and events named ``ping`` are skipped (docs/protocol.md
3.1). The server's own events are single ``data:`` lines of JSON with an ``event_type``.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from ._events import (
    Event,
    PluginIntermediateEvent,
    TokenEvent,
    event_from_json,
)
from ._exceptions import StreamError

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventDecoder", "MalformedPolicy"]

MalformedPolicy = Literal["raise", "skip"]
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

# The server writes token events with pydantic v1's separators (docs/protocol.md 3.1, 10.9), so
# most events can be read without the JSON parser when the text needs no unescaping.
_TOKEN_PREFIX = b'{"event_type": "token", "text": "'
_TOKEN_PREFIX_LEN = len(_TOKEN_PREFIX)
_TOKEN_SUFFIX = b'"}'
_BOM = b"\xef\xbb\xbf"
# A token text read without the JSON parser must need no unescaping (no backslash), end at
# the closing quote (no quote inside), and carry no raw control character (JSON strings
# carry them only escaped; raw ones make the event malformed): one scan checks all three.
_NEEDS_JSON = re.compile(rb'[\x00-\x1f"\\]')
_LINE_TOO_LONG = "an event-stream line is longer than {} bytes"
_EVENT_TOO_LARGE = "an event is larger than {} bytes"
_NO_SKIP, _SKIP_EVENT, _SKIP_LINE = 0, 1, 2


class EventDecoder:
    """Decode a server-sent event stream incrementally into typed events.

    Feed it the response body in chunks of any size; it returns the complete events each
    chunk finishes. Like h11, it does no I/O: "not yet" is an empty list.

    Args:
        on_malformed: What to do with a ``data:`` payload that is not JSON, not an object, or
            has no ``event_type`` (docs/design.md, decision 4): ``"raise"`` a
            ``StreamError`` (the default), or ``"skip"`` it and count it in
            ``skipped``.
        max_event_size: The most bytes one line (any line: data, comment, field, or a line
            not ended yet) or one event's data may hold; a longer one is malformed (raised,
            or skipped and counted). It is enforced as bytes arrive, whatever the chunking,
            so a stream that never ends an event or a line holds at most about twice this
            many bytes in the decoder. Under ``"skip"``, the whole event the oversized line
            or data belongs to is skipped, up to the blank line that ends it.

    Attributes:
        skipped: How many malformed events were skipped under ``on_malformed="skip"``.
    """

    __slots__ = (
        "_after_plugin",
        "_data",
        "_data_size",
        "_error",
        "_event_name",
        "_max",
        "_parts",
        "_parts_size",
        "_raise",
        "_skip",
        "_skip_lf",
        "_started",
        "skipped",
    )

    def __init__(
        self,
        *,
        on_malformed: MalformedPolicy = "raise",
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        if on_malformed not in ("raise", "skip"):
            raise ValueError(f"on_malformed must be 'raise' or 'skip', not {on_malformed!r}")
        if max_event_size < 64:
            raise ValueError("max_event_size must be at least 64 bytes")
        self._raise = on_malformed == "raise"
        self._max = max_event_size
        self._parts: list[bytes] = []  # an unfinished line, in pieces (joined once it ends)
        self._parts_size = 0
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to it
        self._started = False
        # _SKIP_EVENT: skipping a malformed event up to its blank line; _SKIP_LINE: first the
        # rest of an oversized line, then its event. One attribute, so that the fast path
        # below checks one.
        self._skip = _NO_SKIP
        self._data: list[bytes] = []  # data lines of the event being read
        self._data_size = 0  # the size of those lines joined with newlines, plus one
        self._event_name: bytes | None = None
        self._after_plugin = False
        self._error: StreamError | None = None
        self.skipped = 0

    @property
    def has_partial_event(self) -> bool:
        """True if bytes of an event that has not ended yet are buffered."""
        return bool(self._parts or self._data)

    def feed(self, data: bytes) -> list[Event]:
        """Add bytes of the stream and return the events they complete.

        If a malformed event is met under ``on_malformed="raise"``, the events before it are
        returned, and the ``StreamError`` is raised by the next ``feed`` or ``flush``,
        so no event that arrived before the fault is lost.

        Raises:
            StreamError: A malformed event was met (by an earlier call) or is the first thing
                this chunk completes.
        """
        if self._error is not None:
            raise self._error
        if not data:
            return []
        end = len(data) - 4
        if (
            # One whole single-line event and nothing before it: how the server writes
            # each event (docs/protocol.md 3.1). The same as the general path below, faster.
            data.startswith(b"data: ")
            and data.find(b"\r", 6) == end
            and data.find(b"\n", 6) == end + 1
            and data.endswith(b"\r\n\r\n")
            and end <= self._max
            and self._started
            and not (self._skip_lf or self._parts or self._data or self._skip)
            and self._event_name is None
        ):
            event = self._decode(data[6:end])
            if event is not None:
                return [event]
            if self._error is not None:
                raise self._error
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
                if not data:
                    return []
        if not self._started:
            if self._parts:  # the first bytes, held back until a BOM could be told apart
                data = b"".join(self._parts) + data
                self._parts.clear()
                self._parts_size = 0
            if len(data) < 3 and _BOM.startswith(data):
                self._parts.append(data)
                self._parts_size = len(data)
                return []
            self._started = True
            if data.startswith(_BOM):
                data = data[3:]
        if b"\n" not in data and b"\r" not in data:
            self._add_partial(data)
            return self._result([])
        if self._parts:
            self._parts.append(data)
            data = b"".join(self._parts)
            self._parts.clear()
            self._parts_size = 0
        lines = data.splitlines()  # bytes.splitlines splits on CR, LF and CRLF only
        last = data[-1]
        partial: bytes | None = None
        if last == 13:  # CR: the line is complete, but a LF may follow in the next chunk
            self._skip_lf = True
        elif last != 10:
            partial = lines.pop()
        if self._skip == _SKIP_LINE:
            # An oversized line from an earlier chunk ends with the first of these lines.
            self._skip = _SKIP_EVENT
            lines = lines[1:]
        # No line of a chunk can be longer than the chunk: most chunks need no line checked.
        events = self._process(lines, len(data) > self._max)
        if partial is not None and self._error is None:
            self._add_partial(partial)
        return self._result(events)

    def _result(self, events: list[Event]) -> list[Event]:
        # Events before a fault are returned first; the fault is raised now only if there are
        # none, otherwise by the next call.
        if self._error is not None and not events:
            raise self._error
        return events

    def flush(self) -> list[Event]:
        """End the stream. An event not ended by a blank line is discarded (WHATWG).

        Raises:
            StreamError: A malformed event was met by an earlier ``feed``.
        """
        if self._error is not None:
            raise self._error
        self._parts.clear()
        self._parts_size = 0
        self._data.clear()
        self._data_size = 0
        self._event_name = None
        self._skip = _NO_SKIP
        return []

    # -- internals ----------------------------------------------------------------------------

    def _add_partial(self, piece: bytes) -> None:
        # An unfinished line is checked as it grows: a line that never ends cannot grow
        # without bound, and the check fails at the same line whatever the chunking.
        if self._skip == _SKIP_LINE:
            return
        self._parts.append(piece)
        self._parts_size += len(piece)
        if self._parts_size > self._max:
            self._parts.clear()
            self._parts_size = 0
            if self._skip == _NO_SKIP:  # a line of an event already skipped is not counted
                self._data.clear()
                self._data_size = 0
                self._event_name = None
                self._malformed(StreamError(_LINE_TOO_LONG.format(self._max)))
            self._skip = _SKIP_LINE

    def _malformed(self, error: StreamError) -> None:
        if self._raise:
            self._error = error
        else:
            self.skipped += 1

    def _process(self, lines: list[bytes], check_lines: bool) -> list[Event]:
        """Interpret complete lines; ``check_lines`` when one of them may be oversized."""
        events: list[Event] = []
        data = self._data
        # The event's data as it accumulates: its joined size plus one, checked per line so
        # that an event that never ends cannot grow without bound.
        size = self._data_size
        limit = self._max + 1
        skipping = self._skip == _SKIP_EVENT
        for line in lines:
            if skipping:  # a malformed event, skipped up to the blank line that ends it
                skipping = bool(line)
                continue
            if not line:
                if data:
                    payload = data[0] if len(data) == 1 else b"\n".join(data)
                    data.clear()
                    size = 0
                    name, self._event_name = self._event_name, None
                    if name == b"ping":  # pings before sse-starlette 1.4 (docs/protocol.md 3.1)
                        continue
                    event = self._decode(payload)
                    if event is not None:
                        events.append(event)
                    elif self._error is not None:
                        break
                else:
                    self._event_name = None
                continue
            if check_lines and len(line) > self._max:
                fault = _LINE_TOO_LONG
            elif line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
                data.append(value)
                size += len(value) + 1
                if size <= limit:
                    continue
                fault = _EVENT_TOO_LARGE
            elif line == b"data":  # a field name alone: an empty value (WHATWG)
                data.append(b"")
                size += 1
                if size <= limit:
                    continue
                fault = _EVENT_TOO_LARGE
            else:
                if line[0] != 58:  # not a ':' comment
                    self._field(line)
                continue
            # The line or the event's data is too large: the whole event is malformed.
            data.clear()
            size = 0
            self._event_name = None
            self._malformed(StreamError(fault.format(self._max)))
            if self._error is not None:
                break
            skipping = True
        self._data_size = size
        self._skip = _SKIP_EVENT if skipping else _NO_SKIP
        return events

    def _field(self, line: bytes) -> None:
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event_name = value
        # "id" and "retry" are never sent by the server (docs/protocol.md 3.1); other field
        # names are ignored, as WHATWG says.

    def _decode(self, payload: bytes) -> Event | None:
        # Its size was checked as its lines arrived.
        if payload.startswith(_TOKEN_PREFIX) and payload.endswith(_TOKEN_SUFFIX):
            raw = payload[_TOKEN_PREFIX_LEN:-2]
            if not _NEEDS_JSON.search(raw):
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    self._malformed(StreamError("a token event is not valid UTF-8"))
                    return None
                if not self._after_plugin:
                    return TokenEvent(text)  # the common case, without a call to _token
                return self._token(text)
        try:
            event = event_from_json(json.loads(payload))
        except StreamError as err:
            self._malformed(err)
            return None
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
            self._malformed(StreamError(f"event data is not JSON: {payload[:80]!r}"))
            return None
        except (TypeError, AttributeError, KeyError) as err:  # a shape no parser foresaw
            self._malformed(StreamError(f"event data has an unexpected shape: {err}"))
            return None
        if type(event) is TokenEvent:
            return self._token(event.text)
        self._after_plugin = type(event) is PluginIntermediateEvent
        return event

    def _token(self, text: str) -> TokenEvent | None:
        if self._after_plugin:
            self._after_plugin = False
            if not text:
                return None  # the empty token after a plugin step (docs/protocol.md 3.2)
        return TokenEvent(text)
