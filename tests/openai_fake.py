"""A small OpenAI-compatible model server for the backend bridge's tests and benchmark.

Built from the format's documentation, not from any server's code: `GET /v1/models` returns
`{"object": "list", "data": [{"id": ...}, ...]}`; `POST /v1/chat/completions` with
`"stream": true` answers `text/event-stream`, chunked, with one `data: <chunk>` line per
event: a first chunk whose delta holds only the role, one chunk per content delta, a finish
chunk (empty delta, `finish_reason`), a usage chunk with no choices, then `data: [DONE]`.
Errors are `{"error": {"message", "type", "param", "code"}}` bodies. It speaks raw HTTP/1.1
on asyncio (keep-alive, chunked responses) so that it can also misbehave exactly: drop the
connection mid-stream, stall, or send an error chunk.

It runs in a background thread on 127.0.0.1 and records what it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from typing import Any

__all__ = ["FakeBackend"]

#: What the fake does with a chat completion request.
MODES = ("ok", "status", "drop", "stall", "midstream_error", "no_done", "drop_after_finish")


class FakeBackend:
    """An OpenAI-compatible server on a free loopback port.

    Args:
        models: The model ids `GET /v1/models` lists (a request for another is a 404).
        api_key: The bearer token it requires; None: no auth.
        token_interval: Seconds between two content chunks.

    Attributes (set them between requests):
        mode: One of `MODES`: `ok`; `status` (answer `status` with an error body); `drop`
            (close the connection after `fail_after` content chunks, without the chunked
            terminator); `stall` (send nothing more after `fail_after` chunks); `midstream_error`
            (an error chunk after `fail_after` chunks); `no_done` (end cleanly after the
            content, with neither a finish chunk nor `[DONE]`); `drop_after_finish` (close
            the connection right after the finish chunk).
        reply: The content deltas to send; None: `"You said: "` and the last user message,
            split into tokens that carry their leading space.
    """

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("tiny-chat", "other-model"),
        api_key: str | None = None,
        token_interval: float = 0.0,
    ) -> None:
        self.models = list(models)
        self.api_key = api_key
        self.token_interval = token_interval
        self.mode = "ok"
        self.fail_after = 2
        self.status = 500
        self.reply: list[str] | None = None
        #: The JSON bodies of the chat completion requests, in order.
        self.requests: list[dict[str, Any]] = []
        #: The Authorization header of every request (None when absent).
        self.authorizations: list[str | None] = []
        self.streams_finished = 0
        #: Streams whose client went away before the end.
        self.streams_abandoned = 0
        self.active = 0
        self.max_active = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL, ending in `/v1`, as a backend flag takes it."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeBackend:
        """Start serving in a background thread."""
        self._thread = threading.Thread(target=self._run, name="openai-fake", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake backend did not start")
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        loop = self._loop
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeBackend:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # -- HTTP --------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._respond(method, target, headers, body, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _respond(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; return False when the connection must close."""
        self.authorizations.append(headers.get("authorization"))
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return await _json(
                writer, 401, _error("Incorrect API key provided.", "invalid_api_key")
            )
        if method == "GET" and target == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for m in self.models
            ]
            return await _json(writer, 200, {"object": "list", "data": data})
        if method == "POST" and target == "/v1/chat/completions":
            request = json.loads(body)
            self.requests.append(request)
            if request.get("model") not in self.models:
                message = f"The model `{request.get('model')}` does not exist."
                return await _json(writer, 404, _error(message, "model_not_found"))
            if self.mode == "status":
                error = _error("The fake backend is overloaded.", "server_error")
                return await _json(writer, self.status, error)
            return await self._stream(request, reader, writer)
        return await _json(writer, 404, _error(f"Not found: {method} {target}", "not_found"))

    async def _stream(
        self, request: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await self._send_stream(request, reader, writer)
        except ConnectionError:
            self.streams_abandoned += 1
            return False
        finally:
            self.active -= 1

    async def _send_stream(
        self, request: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        def gone() -> bool:  # a client that closed its side sent EOF (FIN)
            return reader.at_eof() or writer.transport.is_closing()

        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        tokens = self.reply if self.reply is not None else _reply_tokens(request)
        limit = request.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(tokens) > limit:
            tokens, finish = tokens[:limit], "length"
        model = request["model"]
        await _event(writer, _chunk(model, {"role": "assistant"}))
        for index, token in enumerate(tokens):
            if index == self.fail_after and self.mode in ("drop", "stall", "midstream_error"):
                if self.mode == "drop":
                    writer.transport.abort()
                    return False
                if self.mode == "stall":
                    # A peer's FIN sets no event one could await: poll for it.
                    while not gone():  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    raise ConnectionError("the client left a stalled stream")
                error = {"error": {"message": "CUDA out of memory", "type": "server_error"}}
                await _event(writer, json.dumps(error))
                await _end(writer)
                return True
            if self.token_interval:
                await asyncio.sleep(self.token_interval)
            if gone():
                raise ConnectionError("the client left")
            await _event(writer, _chunk(model, {"content": token}))
        if self.mode != "no_done":
            await _event(writer, _chunk(model, {}, finish))
            if self.mode == "drop_after_finish":
                writer.transport.abort()
                self.streams_finished += 1
                return False
            usage = {"prompt_tokens": 9, "completion_tokens": len(tokens), "total_tokens": 9}
            usage["total_tokens"] += len(tokens)
            await _event(writer, json.dumps({**_base(model), "choices": [], "usage": usage}))
            await _event(writer, "[DONE]")
        await _end(writer)
        self.streams_finished += 1
        return True


def _reply_tokens(request: dict[str, Any]) -> list[str]:
    users = [m["content"] for m in request.get("messages", []) if m.get("role") == "user"]
    text = "You said: " + (users[-1] if users else "nothing")
    return re.findall(r"\s*\S+", text)


def _base(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return json.dumps({**_base(model), "choices": [choice]})


def _error(message: str, code: str) -> dict[str, Any]:
    kind = "server_error" if code == "server_error" else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def _json(writer: asyncio.StreamWriter, status: int, obj: Any) -> bool:
    body = json.dumps(obj).encode()
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    return True


async def _event(writer: asyncio.StreamWriter, data: str) -> None:
    payload = f"data: {data}\n\n".encode()
    writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
    await writer.drain()


async def _end(writer: asyncio.StreamWriter) -> None:
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def main() -> None:
    """Serve until stdin closes, printing the URL first: `python -m tests.openai_fake 0.001 500`.

    The optional arguments are the seconds between content chunks and a number of `x` tokens
    to answer every request with; the benchmark runs the fake in its own process this way, as
    a real model server would be.
    """
    import sys

    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    with FakeBackend(token_interval=interval) as fake:
        if len(sys.argv) > 2:
            fake.reply = ["x"] * int(sys.argv[2])
        print(fake.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
