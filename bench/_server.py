"""The benchmarks' server: the website's five chat routes, answering with pre-rendered bodies.

A tiny Starlette app on uvicorn, in a child process on 127.0.0.1, so that its cost per event
is a slice of a pre-rendered buffer and its CPU time is not the client's. The reply length is
in the URL: ``base_url = {url}/t/{tokens}``; ``{url}/hold`` streams one token and then holds
the stream open (for memory per open stream). It counts the TCP connections it accepts, at
``GET /_bench/stats``.

Run on its own: ``python -m bench._server`` prints its port and serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

from . import _stream

__all__ = ["CHUNK_SIZE", "BenchServer"]

CHUNK_SIZE = 4096  # bytes of the events body per HTTP chunk
_HOLD_LIMIT = 120.0  # seconds a held stream stays open at most
_START_TIMEOUT = 20.0


def _protocol_class() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:  # pragma: no cover - httptools is optional for uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]

    class Counting(Base):  # type: ignore[misc, valid-type]
        accepted = 0
        open = 0

        def connection_made(self, transport: Any) -> None:
            Counting.accepted += 1
            Counting.open += 1
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            Counting.open -= 1
            super().connection_lost(exc)

    return Counting


def build_app(counter: Any) -> Any:
    """The Starlette app: the five website routes under ``/t/{tokens}``, and ``/hold``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route
    from starlette.types import Receive, Scope, Send

    chat, prompter, assistant = (
        _stream.chat_body(),
        _stream.prompter_body(),
        _stream.assistant_body(),
    )
    bodies: dict[tuple[int, bool], list[bytes]] = {}
    headers = [
        (b"cache-control", b"no-cache"),
        (b"connection", b"keep-alive"),
        (b"x-accel-buffering", b"no"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
    ]

    def events_for(tokens: int, per_event: bool) -> list[bytes]:
        key = (tokens, per_event)
        if key not in bodies:
            body = _stream.render_stream(tokens)
            if per_event:  # one HTTP chunk per event, as sse-starlette writes them
                bodies[key] = [part + b"\r\n\r\n" for part in body.split(b"\r\n\r\n")[:-1]]
            else:
                bodies[key] = _stream.chunked(body, CHUNK_SIZE)
        return bodies[key]

    class Events(Response):
        def __init__(self, chunks: list[bytes] | None) -> None:
            self.chunks = chunks  # None: one token, then hold the stream open
            self.background = None

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if self.chunks is None:
                first = _stream.render_event({"event_type": "token", "text": "Hello"})
                await send({"type": "http.response.body", "body": first, "more_body": True})

                async def until_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass

                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(until_disconnect(), _HOLD_LIMIT)
                return
            gone = asyncio.Event()  # the client went away (closed the stream early)

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()

            watcher = asyncio.ensure_future(watch())
            try:
                for index, piece in enumerate(self.chunks):
                    if index % 64 == 63:
                        # A send that need not wait does not yield: let the loop notice a
                        # client that went away, rather than write to a closed socket.
                        await asyncio.sleep(0)
                        if gone.is_set():
                            return
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                watcher.cancel()

    def json_response(body: bytes) -> Response:
        return Response(body, media_type="application/json")

    async def index(request: Request) -> Response:
        if request.method == "POST":
            return json_response(chat)
        return Response(b"")  # DELETE: the website answers an empty 200 (docs/protocol.md 1.2)

    async def prompter_message(request: Request) -> Response:
        await request.body()
        return json_response(prompter)

    async def assistant_message(request: Request) -> Response:
        await request.body()
        return json_response(assistant)

    async def events(request: Request) -> Response:
        tokens = request.path_params.get("tokens")
        if tokens is None:
            return Events(None)
        return Events(events_for(tokens, request.url.path.startswith("/e/")))

    async def stats(request: Request) -> Response:
        return json_response(
            json.dumps({"accepted": counter.accepted, "open": counter.open}).encode()
        )

    any_method = ["GET", "POST", "DELETE"]
    routes = [
        Route("/api/chat", index, methods=any_method),
        Route("/api/chat/prompter_message", prompter_message, methods=["POST"]),
        Route("/api/chat/assistant_message", assistant_message, methods=["POST"]),
        Route("/api/chat/events", events, methods=["GET", "POST"]),
    ]
    return Starlette(
        routes=[
            Mount("/t/{tokens:int}", routes=routes),
            Mount("/e/{tokens:int}", routes=routes),
            Mount("/hold", routes=routes),
            Route("/_bench/stats", stats),
        ]
    )


def _serve() -> None:
    import logging

    import uvicorn

    # A client that stops reading early leaves a few writes for a closed socket, which
    # asyncio reports one line each: expected here, and not worth a screenful.
    logging.getLogger("asyncio").setLevel(logging.ERROR)

    counter = _protocol_class()
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when their
    # proto says TCP; without it Nagle and delayed ACKs add 40 ms to some answers.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        build_app(counter),
        http=counter,
        lifespan="off",
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)

    def watch_stdin() -> None:
        sys.stdin.read()  # the parent closes our stdin (or dies): stop
        server.should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


class BenchServer:
    """The server in a child process; ``url`` once started; stopped on exit."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> BenchServer:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench._server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], _START_TIMEOUT)
        line = self._proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.__exit__(None, None, None)
            raise RuntimeError("the benchmark server did not start")
        self.url = f"http://127.0.0.1:{int(line)}"
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    def base(self, tokens: int, *, per_event: bool = False) -> str:
        """The base URL of replies of ``tokens`` tokens, in 4 KiB chunks or one per event."""
        return f"{self.url}/{'e' if per_event else 't'}/{tokens}"

    def stats(self) -> dict[str, int]:
        """The server's connection counts (this request's own connection included)."""
        import httpx

        return httpx.get(f"{self.url}/_bench/stats", timeout=10).json()  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def count_connections(self) -> Iterator[dict[str, int]]:
        """Count the connections accepted inside the block (into ``["accepted"]``)."""
        result: dict[str, int] = {}
        before = self.stats()["accepted"]
        yield result
        # Each stats request opens one connection of its own: the second one is not ours.
        result["accepted"] = self.stats()["accepted"] - before - 1


if __name__ == "__main__":
    _serve()
