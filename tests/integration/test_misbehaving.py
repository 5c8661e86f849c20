"""Servers that misbehave on purpose, written here as small raw HTTP servers on loopback.

Whatever they send, the client raises an SDK error, and its memory stays bounded.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openassistant_sdk import BadRequestError, Client, InvalidResponseError, StreamError

pytestmark = pytest.mark.integration

MESSAGE = {"id": "m1", "chat_id": "c1", "parent_id": None, "role": "prompter", "state": "manual", "content": "Hi"}  # fmt: skip
REPLY = {**MESSAGE, "id": "a1", "parent_id": "m1", "role": "assistant", "state": "pending", "content": None}  # fmt: skip
DEEP = b"[" * 200_000 + b"]" * 200_000


def _answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Handler(socketserver.StreamRequestHandler):
    route: Callable[[str, str, Any], None]

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            method, path, _ = line.decode().split(" ", 2)
            length = 0
            while (header := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            self.server.route(method, path.split("?")[0], self.wfile)  # type: ignore[attr-defined]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[str, str, Any], None]], str]]:
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(route: Callable[[str, str, Any], None]) -> str:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.route = route  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_json_answer_nested_too_deeply_is_an_sdk_error(raw_server: Any) -> None:
    def route(method: str, path: str, out: Any) -> None:
        out.write(_answer("200 OK", DEEP))

    client = Client(base_url=raw_server(route), token="t", env={}, max_retries=0)
    with pytest.raises(InvalidResponseError, match="nested too deeply"):
        client.get_chat("c1")
    client.close()


def test_an_error_body_nested_too_deeply_is_an_sdk_error(raw_server: Any) -> None:
    def route(method: str, path: str, out: Any) -> None:
        out.write(_answer("400 Bad Request", b'{"detail": ' + DEEP + b"}"))

    client = Client(base_url=raw_server(route), token="t", env={}, max_retries=0)
    with pytest.raises(BadRequestError):
        client.get_chat("c1")
    client.close()


def test_an_event_that_never_ends_is_refused_before_memory_runs_away(raw_server: Any) -> None:
    sent = [0]
    limit = 64 * 1024 * 1024  # the server stops by itself after this much

    def route(method: str, path: str, out: Any) -> None:
        if path == "/chats" and method == "POST":
            out.write(_answer("200 OK", json.dumps({"id": "c1"}).encode()))
        elif path.endswith("/prompter_message"):
            out.write(_answer("200 OK", json.dumps(MESSAGE).encode()))
        elif path.endswith("/assistant_message"):
            out.write(_answer("200 OK", json.dumps(REPLY).encode()))
        elif path.endswith("/events"):
            out.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
            line = b"data: " + b"x" * 1000 + b"\n"  # data lines, and never the blank line
            try:
                while sent[0] < limit:
                    out.write(line * 64)
                    sent[0] += len(line) * 64
            except OSError:
                return  # the client went away
        elif method == "DELETE":
            out.write(_answer("204 No Content", b""))
        else:
            out.write(
                _answer(
                    "200 OK", json.dumps({**REPLY, "state": "complete", "content": "x"}).encode()
                )
            )

    client = Client(base_url=raw_server(route), token="t", env={}, max_retries=0, recover=False)
    with pytest.raises(StreamError, match="larger than"):
        client.complete([{"role": "user", "content": "Hi"}])
    client.close()
    assert sent[0] < limit  # the client stopped reading long before the server would have
