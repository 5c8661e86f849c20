"""The events stream on the wire: sse-starlette 1.6.5's framing, pings and stream faults.

Each event is one `data: <json>` line and a blank line, CRLF-separated, written as its own
HTTP chunk; a `: ping - <utc time>` comment goes out every `ping_interval` from the moment
the stream opens (docs/protocol.md 3.1, 10.13). Stream faults act through `EventSink`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._conn import drop_connection
from ._faults import Fault
from ._ids import utcnow

__all__ = [
    "SSE_HEADERS",
    "EventSink",
    "EventStreamResponse",
    "StreamStopped",
    "encode_data",
    "encode_ping",
    "run_event_stream",
    "sse_json",
]

#: Header order of sse-starlette's `EventSourceResponse` (golden 01 #9). uvicorn adds
#: `transfer-encoding: chunked` last (lower case with httptools, as recorded; h11 title-cases it).
SSE_HEADERS: tuple[tuple[str, str], ...] = (
    ("cache-control", "no-cache"),
    ("connection", "keep-alive"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
)


def sse_json(obj: Any) -> str:
    """Encode JSON as pydantic v1's `.json()`: `", "` and `": "` separators, ASCII (10.9)."""
    return json.dumps(obj)


def encode_data(data: str) -> bytes:
    """Frame one event: `data: <data>\\r\\n\\r\\n` (pydantic JSON has no raw newlines)."""
    return f"data: {data}\r\n\r\n".encode()


def encode_ping() -> bytes:
    """Frame sse-starlette's keep-alive comment: `: ping - 2026-11-25 12:05:38.098779`."""
    return f": ping - {utcnow()}\r\n\r\n".encode()


class StreamStopped(Exception):
    """Raised inside a producer when a fault ended the stream; `how` says how."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


_UNKNOWN_EVENT = sse_json(
    {"event_type": "local_server_injected", "detail": "an event type clients do not know"}
)


class EventSink:
    """Writes events to the client and applies an injected stream fault.

    Args:
        send: The ASGI send callable (after the response started).
        fault: The stream fault for this response, if any.
        drop: Callback that closes (`reset=False`) or resets the connection.
    """

    def __init__(
        self,
        send: Send,
        fault: Fault | None,
        drop: Callable[[bool], Awaitable[None]],
    ) -> None:
        self._send = send
        self._fault = fault
        self._drop = drop
        self._lock = anyio.Lock()
        self._slow = False
        self.events_sent = 0
        self.stalled = False

    async def start(self) -> None:
        """Apply a fault that acts after zero events."""
        await self._apply_fault()

    async def event(self, payload: bytes) -> None:
        """Send one framed `data:` event."""
        await self._write(payload)
        self.events_sent += 1
        await self._apply_fault()

    async def ping(self, payload: bytes | None = None) -> None:
        """Send a keep-alive comment (not while stalled); it does not count as an event."""
        if not self.stalled:
            await self._write(encode_ping() if payload is None else payload)

    async def _write(self, payload: bytes) -> None:
        async with self._lock:
            if not self._slow or self._fault is None:
                await self._send({"type": "http.response.body", "body": payload, "more_body": True})
                return
            size, pause = self._fault.chunk_size, self._fault.chunk_delay
            for start in range(0, len(payload), size):
                if start:
                    await anyio.sleep(pause)
                chunk = payload[start : start + size]
                await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _apply_fault(self) -> None:
        fault = self._fault
        if fault is None or self.events_sent != fault.after_events:
            return
        action = fault.action
        if action == "stream_slow":
            self._slow = True
        elif action == "stream_malformed":
            await self._write(encode_data(fault.data))
        elif action == "stream_unknown_event":
            await self._write(encode_data(_UNKNOWN_EVENT))
        elif action == "stream_end":
            raise StreamStopped("end")
        elif action in ("stream_reset", "stream_abort"):
            await self._drop(action == "stream_reset")
            raise StreamStopped("dropped")
        elif action == "stream_stall":
            self.stalled = True
            await anyio.sleep_forever()


Producer = Callable[[EventSink], Awaitable[None]]


async def run_event_stream(
    scope: Scope,
    receive: Receive,
    send: Send,
    producer: Producer,
    *,
    headers: Sequence[tuple[str, str]],
    ping_interval: float | None,
    closing: anyio.Event,
    fault: Fault | None,
    server: Any,
) -> None:
    """Start a 200 streaming response and run `producer` until it returns or must stop.

    The stream ends cleanly when the producer returns, a `stream_end` fault fires or the
    server shuts down; it stops silently when the client disconnects or a fault dropped
    the connection.
    """
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": 200, "headers": raw})

    async def drop(reset: bool) -> None:
        await drop_connection(server, dict(scope), receive, reset=reset)

    sink = EventSink(send, fault, drop)
    outcome = "complete"

    async with anyio.create_task_group() as tg:

        async def produce() -> None:
            nonlocal outcome
            try:
                await sink.start()
                await producer(sink)
            except StreamStopped as exc:
                outcome = exc.how
            tg.cancel_scope.cancel()

        async def watch_disconnect() -> None:
            nonlocal outcome
            while (await receive())["type"] != "http.disconnect":
                pass
            if outcome == "complete":
                outcome = "disconnected"
            tg.cancel_scope.cancel()

        async def watch_closing() -> None:
            await closing.wait()
            tg.cancel_scope.cancel()

        async def ping(interval: float) -> None:
            while True:
                await anyio.sleep(interval)
                await sink.ping()

        tg.start_soon(watch_disconnect)
        tg.start_soon(watch_closing)
        if ping_interval is not None:
            tg.start_soon(ping, ping_interval)
        tg.start_soon(produce)

    if outcome in ("complete", "end"):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class EventStreamResponse(Response):
    """The inference server's `EventSourceResponse`: SSE headers, pings, a producer.

    Args:
        producer: Writes the events; returning ends the stream cleanly.
        ping_interval: Seconds between `: ping` comments.
        closing: Set when the server shuts down; the stream then ends.
        fault: A stream fault to apply, if any.
        server: The uvicorn server (to drop connections), or None.
    """

    def __init__(
        self,
        producer: Producer,
        *,
        ping_interval: float,
        closing: anyio.Event,
        fault: Fault | None,
        server: Any,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = []
        self._producer = producer
        self._ping_interval = ping_interval
        self._closing = closing
        self._fault = fault
        self._server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_event_stream(
            scope,
            receive,
            send,
            self._producer,
            headers=SSE_HEADERS,
            ping_interval=self._ping_interval,
            closing=self._closing,
            fault=self._fault,
            server=self._server,
        )
