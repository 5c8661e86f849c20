"""Calls from the website proxy to the inference routes, in process, over ASGI.

The website's server-side client talks to the inference server over HTTP with axios
(docs/protocol.md 1.4); here the same request goes straight into the inference application,
so status codes, bodies and the event stream bytes are exactly what a direct client gets.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import attrs
from starlette.types import ASGIApp, Message

__all__ = ["UpstreamResponse", "call_upstream", "stream_upstream"]


@attrs.define
class UpstreamResponse:
    """What axios hands the website: status, headers and (for plain calls) the body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunks: Any = None  # an async iterator of body chunks for streamed calls

    @property
    def ok(self) -> bool:
        """Whether axios resolves (2xx) rather than throwing."""
        return 200 <= self.status < 300

    def data(self) -> Any:
        """Return the body as axios does: parsed JSON when it parses, the text otherwise."""
        text = self.body.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


def _scope(
    outer: dict[str, Any], method: str, url: str, headers: dict[str, str], body: bytes | None
) -> dict[str, Any]:
    parts = urlsplit(url)
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if body is not None:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(parts.path),
        "raw_path": parts.path.encode("latin-1", "replace"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": raw_headers,
        "client": outer.get("client"),
        "server": outer.get("server"),
        "state": {},
    }


@asynccontextmanager
async def stream_upstream(
    app: ASGIApp,
    outer_scope: dict[str, Any],
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    extra_scope: dict[str, Any] | None = None,
) -> AsyncIterator[UpstreamResponse]:
    """Run one request through `app` and yield its response with a streaming body.

    An exception escaping the application after it answered (an unhandled 500) is absorbed,
    as a remote server's crash only shows up in its response. Leaving the context cancels
    the request, like closing an HTTP connection.
    """
    scope = _scope(outer_scope, method, url, headers, body)
    scope.update(extra_scope or {})
    send_messages, received = anyio.create_memory_object_stream[Message](math.inf)
    disconnected = anyio.Event()
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body or b"", "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await send_messages.send(message)

    async with anyio.create_task_group() as tg:

        async def run() -> None:
            async with send_messages:
                # An exception after the app answered (an unhandled 500) only shows up in
                # the response, as with a remote server.
                with contextlib.suppress(Exception):
                    await app(scope, receive, send)

        tg.start_soon(run)
        async with received:
            start: Message | None = None
            async for message in received:
                if message["type"] == "http.response.start":
                    start = message
                    break
            if start is None:
                status, response_headers = 500, []
            else:
                status = int(start["status"])
                response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])
                ]

            async def chunks() -> AsyncGenerator[bytes, None]:
                async for message in received:
                    if message["type"] == "http.response.body":
                        data = message.get("body", b"")
                        if data:
                            yield data
                        if not message.get("more_body", False):
                            return

            body_chunks = chunks()
            try:
                yield UpstreamResponse(status, response_headers, chunks=body_chunks)
            finally:
                await body_chunks.aclose()
                disconnected.set()
                tg.cancel_scope.cancel()


async def call_upstream(
    app: ASGIApp,
    outer_scope: dict[str, Any],
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    extra_scope: dict[str, Any] | None = None,
) -> UpstreamResponse:
    """Run one request through `app` and return its whole response."""
    async with stream_upstream(
        app, outer_scope, method, url, headers, body, extra_scope
    ) as response:
        collected = b"".join([chunk async for chunk in response.chunks])
    response.body = collected
    return response
