"""Helpers for the local server's tests: an HTTP client with a login, SSE and raw sockets.

Every wait here is bounded: HTTP calls have a 10 s timeout and stream readers a deadline.
"""

from __future__ import annotations

import ast
import json
import re
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from openassistant_sdk.testing import LocalServer

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
MESSAGE_READ_KEYS = [
    "id",
    "parent_id",
    "content",
    "chat_id",
    "created_at",
    "role",
    "state",
    "score",
    "reports",
    "work_parameters",
    "safe_content",
    "safety_level",
    "safety_label",
    "safety_rots",
    "used_plugin",
]
CHAT_LIST_KEYS = [
    "id",
    "created_at",
    "modified_at",
    "title",
    "hidden",
    "allow_data_use",
    "active_thread_tail_message_id",
]
WORK_PARAMETER_KEYS = [
    "model_config",
    "sampling_parameters",
    "do_sample",
    "seed",
    "system_prompt",
    "user_profile",
    "user_response_instructions",
    "plugins",
    "plugin_max_depth",
]
ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")


def unique_user(prefix: str = "user") -> str:
    """Return a user name no other test uses (rate limits and cancellation are per user)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Api:
    """An httpx client for one server and one debug user."""

    def __init__(self, server: LocalServer, user: str | None = None) -> None:
        self.server = server
        self.user = user or unique_user()
        self.client = httpx.Client(base_url=server.url, trust_env=False, timeout=10)
        self.token = server.debug_token(self.user)
        self.client.headers["Authorization"] = f"Bearer {self.token}"

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)

    def new_chat(self) -> str:
        response = self.client.post("/chats", json={})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def prompt(self, chat_id: str, content: str, parent_id: str | None = None) -> dict[str, Any]:
        response = self.client.post(
            f"/chats/{chat_id}/prompter_message",
            json={"parent_id": parent_id, "content": content},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def assist(
        self, chat_id: str, parent_id: str, model: str = "echo", **sampling: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {"parent_id": parent_id, "model_config_name": model}
        if sampling:
            body["sampling_parameters"] = sampling
        return self.client.post(f"/chats/{chat_id}/assistant_message", json=body)

    def pending_message(
        self, content: str = "one two three", model: str = "echo", **sampling: Any
    ) -> tuple[str, dict[str, Any]]:
        """Create a chat, a prompter message and an assistant message; return both."""
        chat_id = self.new_chat()
        prompt = self.prompt(chat_id, content)
        response = self.assist(chat_id, prompt["id"], model, **sampling)
        assert response.status_code == 200, response.text
        return chat_id, dict(response.json())

    def stream_reply(
        self, content: str = "one two three", model: str = "echo", **sampling: Any
    ) -> tuple[str, dict[str, Any], list[tuple[float, bytes]]]:
        """Create a reply with the workers paused, open its stream, then let them go.

        Returns:
            The chat id, the assistant message as created, and the stream's raw chunks.
        """
        self.server.pause_workers()
        try:
            chat_id, reply = self.pending_message(content, model, **sampling)
            _, chunks = read_stream(
                self.client,
                self.events_url(chat_id, reply["id"]),
                on_open=self.server.resume_workers,
            )
        finally:
            self.server.resume_workers()
        return chat_id, reply, chunks

    def message(self, chat_id: str, message_id: str) -> dict[str, Any]:
        response = self.client.get(f"/chats/{chat_id}/messages/{message_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_state(
        self, chat_id: str, message_id: str, states: set[str], seconds: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            message = self.message(chat_id, message_id)
            if message["state"] in states or time.monotonic() > deadline:
                return message
            time.sleep(0.01)

    def events_url(self, chat_id: str, message_id: str) -> str:
        return f"/chats/{chat_id}/messages/{message_id}/events"


def events_of(body: bytes) -> list[dict[str, Any]]:
    """Parse an SSE body (CRLF framing) into its JSON events, skipping comments."""
    events = []
    for block in body.split(b"\r\n\r\n"):
        if block.startswith(b"data: "):
            events.append(json.loads(block[len(b"data: ") :]))
    return events


def read_stream(
    client: httpx.Client,
    url: str,
    *,
    seconds: float = 10,
    max_events: int | None = None,
    method: str = "GET",
    on_open: Callable[[], object] | None = None,
    **kwargs: Any,
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    """Read a streamed response's raw chunks (with arrival times) until it ends.

    Stops early after `max_events` `data:` events or when `seconds` pass. `on_open` runs
    once the response head has arrived (e.g. to let paused workers go).
    """
    chunks: list[tuple[float, bytes]] = []
    start = time.monotonic()
    timeout = httpx.Timeout(10, read=seconds)
    with client.stream(method, url, timeout=timeout, **kwargs) as response:
        if on_open is not None:
            on_open()
        events = 0
        try:
            for chunk in response.iter_raw():
                chunks.append((time.monotonic() - start, chunk))
                events += chunk.count(b"data: ")
                if max_events is not None and events >= max_events:
                    break
                if time.monotonic() - start > seconds:
                    break
        except httpx.ReadTimeout:
            pass  # the stream went quiet for `seconds`: return what arrived
    return response, chunks


def joined(chunks: list[tuple[float, bytes]]) -> bytes:
    return b"".join(chunk for _, chunk in chunks)


def raw_exchange(port: int, request: bytes, *, wait: float = 1.0) -> tuple[bytes, bool]:
    """Send raw bytes on a new connection; read until the server closes or `wait` passes.

    Returns:
        The bytes received and whether the server closed the connection.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return received, False
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                return received, False
            except ConnectionResetError:
                return received, True
            if not data:
                return received, True
            received += data


def http_request(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def golden_body(name: str, number: int) -> bytes:
    """Return the decoded response body of exchange `number` of a golden transcript."""
    path = GOLDEN_DIR / name
    if not path.is_file():
        pytest.fail(f"golden transcript {name} is missing from {GOLDEN_DIR}")
    text = path.read_text(encoding="utf-8")
    section = re.split(r"^## \d+\. ", text, flags=re.MULTILINE)[number]
    match = re.search(r"^-- decoded body \(\d+ bytes[^)]*\):\n\s+(b'.*')$", section, re.MULTILINE)
    assert match is not None, f"{name} #{number} has no decoded body"
    value = ast.literal_eval(match[1])
    assert isinstance(value, bytes)
    return value


class RawStream:
    """A raw-socket HTTP/1.1 response reader that keeps the chunk framing visible."""

    def __init__(self, port: int, request: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(request)
        self.buffer = b""
        self.start = time.monotonic()
        self.closed = False

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.buffer += data
        return True

    def head(self, seconds: float = 5) -> bytes:
        """Return the status line and headers (through the blank line)."""
        deadline = time.monotonic() + seconds
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill(deadline):
                raise AssertionError(f"no response head: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head + b"\r\n\r\n"

    def chunk(self, seconds: float = 5) -> tuple[float, bytes, bytes] | None:
        """Return (arrival time, raw chunk as framed, payload), or None at timeout/EOF."""
        deadline = time.monotonic() + seconds
        while True:
            line_end = self.buffer.find(b"\r\n")
            if line_end >= 0:
                size = int(self.buffer[:line_end], 16)
                total = line_end + 2 + size + 2
                if len(self.buffer) >= total:
                    raw = self.buffer[:total]
                    self.buffer = self.buffer[total:]
                    payload = raw[line_end + 2 : line_end + 2 + size]
                    return time.monotonic() - self.start, raw, payload
            if not self._fill(deadline):
                return None

    def close(self) -> None:
        self.sock.close()
