"""The alternatives the SDK is compared with, written as their users would write them.

The five requests of one reply (the seed's flow, docs/protocol.md 7): create a chat, post the
prompter message, post the assistant message, read its events, delete the chat. The events
are parsed with the minimal loop: split on ``\\r\\n``, keep ``data: `` lines, ``json.loads``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

__all__ = [
    "COOKIE",
    "MESSAGES",
    "aminimal_texts",
    "minimal_texts",
    "raw_async_reply",
    "raw_sync_reply",
    "seed_reply",
]

COOKIE = {"__Secure-next-auth.session-token": "bench-session"}
MESSAGES = [{"role": "user", "content": "Hello, who are you?"}]
_PROMPT = "Hello, who are you?"
_SAMPLING = {
    "top_k": 50,
    "top_p": 0.95,
    "typical_p": None,
    "temperature": 0.75,
    "repetition_penalty": 1.2,
    "max_new_tokens": 1024,
}


def minimal_texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """The minimal event loop a user would write: the token texts of a stream of chunks."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        lines = buffer.split(b"\r\n")
        buffer = lines.pop()
        for line in lines:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                if event["event_type"] == "token":
                    yield event["text"]


async def aminimal_texts(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """``minimal_texts`` over an async iterator of chunks."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        lines = buffer.split(b"\r\n")
        buffer = lines.pop()
        for line in lines:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                if event["event_type"] == "token":
                    yield event["text"]


def _assistant_json(chat_id: str, parent_id: str) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "parent_id": parent_id,
        "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": _SAMPLING,
        "plugins": [],
    }


def raw_sync_reply(http: Any, base: str) -> Iterator[str]:
    """One reply with a plain ``httpx.Client``: the five requests, the minimal loop."""
    chat_id = http.post(f"{base}/api/chat").raise_for_status().json()["id"]
    prompter = http.post(
        f"{base}/api/chat/prompter_message",
        json={"chat_id": chat_id, "content": _PROMPT, "parent_id": None},
    )
    parent_id = prompter.raise_for_status().json()["id"]
    assistant = http.post(
        f"{base}/api/chat/assistant_message", json=_assistant_json(chat_id, parent_id)
    )
    message_id = assistant.raise_for_status().json()["id"]
    params = {"chat_id": chat_id, "message_id": message_id}
    with http.stream("GET", f"{base}/api/chat/events", params=params) as response:
        response.raise_for_status()
        yield from minimal_texts(response.iter_bytes())
    http.delete(f"{base}/api/chat", params={"chat_id": chat_id}).raise_for_status()


async def raw_async_reply(http: Any, base: str) -> AsyncIterator[str]:
    """One reply with a plain ``httpx.AsyncClient``: the five requests, the minimal loop."""
    chat_id = (await http.post(f"{base}/api/chat")).raise_for_status().json()["id"]
    prompter = await http.post(
        f"{base}/api/chat/prompter_message",
        json={"chat_id": chat_id, "content": _PROMPT, "parent_id": None},
    )
    parent_id = prompter.raise_for_status().json()["id"]
    assistant = await http.post(
        f"{base}/api/chat/assistant_message", json=_assistant_json(chat_id, parent_id)
    )
    message_id = assistant.raise_for_status().json()["id"]
    params = {"chat_id": chat_id, "message_id": message_id}
    async with http.stream("GET", f"{base}/api/chat/events", params=params) as response:
        response.raise_for_status()
        async for text in aminimal_texts(response.aiter_bytes()):
            yield text
    (await http.delete(f"{base}/api/chat", params={"chat_id": chat_id})).raise_for_status()


async def seed_reply(base: str) -> AsyncIterator[str]:
    """The seed's provider (docs/protocol.md 7): aiohttp, a new session per call, line reads."""
    import aiohttp

    headers = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/111.0"}
    async with aiohttp.ClientSession(cookies=COOKIE, headers=headers) as session:
        async with session.post(f"{base}/api/chat") as response:
            chat_id = (await response.json())["id"]
        data = {"chat_id": chat_id, "content": _PROMPT, "parent_id": None}
        async with session.post(f"{base}/api/chat/prompter_message", json=data) as response:
            parent_id = (await response.json())["id"]
        data = _assistant_json(chat_id, parent_id)
        async with session.post(f"{base}/api/chat/assistant_message", json=data) as response:
            message_id = (await response.json())["id"]
        params = {"chat_id": chat_id, "message_id": message_id}
        async with session.post(f"{base}/api/chat/events", params=params) as response:
            async for raw in response.content:
                line = raw.decode()
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["event_type"] == "token":
                        yield event["text"]
        async with session.delete(f"{base}/api/chat", params={"chat_id": chat_id}) as response:
            response.raise_for_status()
