"""An in-memory fake of both Open Assistant APIs, served through ``httpx.MockTransport``.

It keeps real state (chats, messages, parents) so that client tests exercise behaviour, and
lets a test script what each events request returns: chunk sizes, a dropped connection, a 204,
an error event, malformed lines. Wire shapes follow the golden transcripts.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

SSE = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


def sse(obj: dict[str, Any]) -> bytes:
    """Render one event the way the server does (docs/protocol.md 3.1, 10.9)."""
    return b"data: " + json.dumps(obj, separators=(", ", ": ")).encode() + b"\r\n\r\n"


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Serve ``body`` in chunks; optionally break the connection after ``drop_after`` bytes."""

    def __init__(self, body: bytes, chunk: int, drop_after: int | None) -> None:
        self.body, self.chunk, self.drop_after = body, chunk, drop_after

    def _chunks(self) -> Iterator[bytes]:
        end = len(self.body) if self.drop_after is None else self.drop_after
        for start in range(0, end, self.chunk):
            yield self.body[start : min(start + self.chunk, end)]
        if self.drop_after is not None:
            raise httpx.ReadError("peer closed connection without sending complete message body")

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._chunks():
            yield piece


@dataclass
class EventsScript:
    """What one events request answers."""

    status: int = 200
    body: bytes | None = None  # None: the message's tokens and final event
    chunk: int = 7
    drop_after: int | None = None
    content_type: str | None = "text/event-stream; charset=utf-8"


@dataclass
class FakeOA:
    api: str = "inference"
    tokens: list[str] = field(default_factory=lambda: ["Hello", " there", ", ", "friend", "!"])
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    events: deque[EventsScript] = field(default_factory=deque)
    failures: dict[str, deque[Any]] = field(default_factory=dict)  # op -> statuses/exceptions
    logins: int = 0
    token_generation: int = 0
    _ids: Iterator[int] = field(default_factory=itertools.count)

    # -- helpers for tests -----------------------------------------------------------------
    @property
    def content(self) -> str:
        return "".join(self.tokens)

    def fail(self, op: str, *outcomes: Any) -> None:
        """Make the next requests of ``op`` answer these statuses (or raise these errors)."""
        self.failures.setdefault(op, deque()).extend(outcomes)

    def ops(self) -> list[str]:
        return [self._op(r)[0] for r in self.requests]

    def bodies(self, op: str) -> list[Any]:
        return [
            json.loads(r.content) if r.content else None
            for r in self.requests
            if self._op(r)[0] == op
        ]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def stream_body(self, message: dict[str, Any]) -> bytes:
        body = b": ping - 2026-11-25 12:05:38.098779\r\n\r\n"
        body += sse({"event_type": "pending", "queue_position": 1, "queue_size": 1})
        for text in self.tokens:
            body += sse({"event_type": "token", "text": text})
        done = dict(message, state="complete", content=self.content)
        return body + sse({"event_type": "message", "message": done})

    # -- the fake server -------------------------------------------------------------------
    def _id(self) -> str:
        return f"06b06cef-0000-7000-8000-{next(self._ids):012d}"

    def _op(self, request: httpx.Request) -> tuple[str, dict[str, str]]:
        path, method = request.url.path, request.method
        q = dict(request.url.params)
        if path.startswith("/api/chat"):
            tail = path[len("/api/chat") :].strip("/")
            if tail == "":
                op = {"POST": "create_chat", "DELETE": "delete_chat", "PUT": "update_chat"}.get(
                    method
                )
                op = op or ("get_chat" if "chat_id" in q else "list_chats")
                return op, q
            mapping = {
                "message": "get_message",
                "events": "events",
                "vote": "vote",
                "models": "models",
            }
            return mapping.get(tail, tail), q
        parts = path.strip("/").split("/")
        if parts[:1] == ["auth"]:
            return "debug_login", q
        if parts[:2] == ["configs", "model_configs"]:
            return "models", q
        if parts == ["chats"]:
            return ("create_chat" if method == "POST" else "list_chats"), q
        q["chat_id"] = parts[1]
        if len(parts) == 2:
            return {"GET": "get_chat", "DELETE": "delete_chat", "PUT": "update_chat"}[method], q
        if len(parts) == 3:
            return parts[2], q
        q["message_id"] = parts[3]
        if len(parts) == 4:
            return "get_message", q
        return {"events": "events", "votes": "vote"}[parts[4]], q

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        op, q = self._op(request)
        pending = self.failures.get(op)
        if pending:
            outcome = pending.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            if isinstance(outcome, httpx.Response):
                return outcome
            return httpx.Response(outcome, json={"detail": f"scripted {outcome}"})
        if op != "debug_login" and op != "models" and not self._authorized(request):
            return (
                httpx.Response(403, json={"detail": "Not authenticated"})
                if self.api == "inference"
                else httpx.Response(403)
            )
        body = json.loads(request.content) if request.content else {}
        if op == "models":
            return httpx.Response(200, json=[])
        if op == "debug_login":
            self.logins += 1
            self.token_generation += 1
            tok = f"access-{self.token_generation}"
            return httpx.Response(
                200,
                json={
                    "access_token": {"access_token": tok, "token_type": "bearer"},
                    "refresh_token": {"access_token": "r", "token_type": "refresh"},
                },
            )
        if op == "create_chat":
            chat = {
                "id": self._id(),
                "created_at": "2026-11-25T12:05:14.763518",
                "modified_at": "2026-11-25T12:05:14.763523",
                "title": None,
                "hidden": False,
                "allow_data_use": True,
                "active_thread_tail_message_id": None,
            }
            self.chats[chat["id"]] = {"chat": chat, "messages": {}}
            return httpx.Response(200, json=chat)
        chat_id = q.get("chat_id") or body.get("chat_id")
        if chat_id not in self.chats:
            return httpx.Response(404, json={"detail": "Chat not found"})
        state = self.chats[chat_id]
        if op == "delete_chat":
            del self.chats[chat_id]
            return httpx.Response(200)
        if op in ("prompter_message", "assistant_message"):
            message = {
                "id": self._id(),
                "parent_id": body["parent_id"],
                "content": body.get("content"),
                "chat_id": chat_id,
                "created_at": "2026-11-25T12:05:14.793202",
                "role": "prompter" if op == "prompter_message" else "assistant",
                "state": "manual" if op == "prompter_message" else "pending",
                "score": 0,
                "reports": [],
                "work_parameters": None,
                "safe_content": None,
                "safety_level": None,
                "safety_label": None,
                "safety_rots": None,
                "used_plugin": None,
            }
            state["messages"][message["id"]] = message
            return httpx.Response(200, json=message)
        if op == "get_message":
            message = state["messages"][q["message_id"]]
            if message["role"] == "assistant" and message["state"] != "complete":
                message = dict(message, state="complete", content=self.content)
            return httpx.Response(200, json=message)
        if op == "events":
            message = state["messages"][q["message_id"]]
            script = self.events.popleft() if self.events else EventsScript()
            if script.status != 200 or (script.body == b"" and self.api == "inference"):
                return httpx.Response(script.status if script.status != 200 else 204)
            payload = self.stream_body(message) if script.body is None else script.body
            headers = {"content-type": script.content_type} if script.content_type else {}
            return httpx.Response(
                200, headers=headers, stream=ChunkStream(payload, script.chunk, script.drop_after)
            )
        if op == "get_chat":
            return httpx.Response(
                200, json=dict(state["chat"], messages=list(state["messages"].values()))
            )
        return httpx.Response(200, json=None)

    def _authorized(self, request: httpx.Request) -> bool:
        if self.api == "website":
            return "next-auth.session-token=" in request.headers.get("cookie", "")
        auth = request.headers.get("authorization", "")
        return auth == f"Bearer access-{self.token_generation}" or auth == "Bearer secret-token"
