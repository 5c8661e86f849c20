"""Event streams and JSON bodies as the server writes them, rendered once, ahead of time.

Events are framed like the local server and sse-starlette: ``data: `` + ``json.dumps`` with
pydantic v1's ``", "`` and ``": "`` separators (ASCII, so non-ASCII text arrives escaped) +
``\\r\\n\\r\\n`` (docs/protocol.md 3.1). Token texts look like a model's: mostly words with a
leading space, some punctuation, line breaks, quotes and accented or emoji text, which need
unescaping.
"""

from __future__ import annotations

import json
import random
from typing import Any

__all__ = [
    "ASSISTANT_ID",
    "CHAT_ID",
    "PROMPTER_ID",
    "assistant_body",
    "chat_body",
    "chunked",
    "final_message",
    "prompter_body",
    "render_event",
    "render_stream",
    "token_texts",
]

CHAT_ID = "06b06cef-ac37-7284-8000-7d9898a26b74"
PROMPTER_ID = "06b06cef-acb0-7d84-8000-3f6bd7edf23e"
ASSISTANT_ID = "06b06cef-ad07-778b-8000-17a30b0be991"
_CREATED = "2026-11-25T12:05:14.814350"

_VOCABULARY = (
    "the of and to in is that it for as with was on be by at this are from or an which have "
    "not but had they you were their one all we can her has there been if more when will "
    "would who so no model answer question python function value return list example data "
    "first second because however therefore request response server client stream token "
    "usually sometimes important result error different following"
)
_WORDS = _VOCABULARY.split()
_RARE = ("\n", "\n\n", ' "', '."', "\u00e9t\u00e9", " na\u00efve", " \U0001f642", "\t", "\\")
_PUNCT = (".", ",", ":", ";", "?", "!")
_BASE_SIZE = 4096
_PING = b": ping - 2026-11-25 12:05:38.098779\r\n\r\n"
_PING_EVERY = 500  # tokens between keep-alive comments
_PENDING = 3  # queue updates before the first token


def _base_texts() -> list[str]:
    rng = random.Random(20261125)
    texts = []
    for _ in range(_BASE_SIZE):
        roll = rng.random()
        if roll < 0.04:
            texts.append(rng.choice(_RARE))
        elif roll < 0.12:
            texts.append(rng.choice(_PUNCT))
        elif roll < 0.2:
            texts.append(rng.choice(_WORDS)[:3])  # a word split into sub-word tokens
        else:
            texts.append(" " + rng.choice(_WORDS))
    return texts


_BASE = _base_texts()


def token_texts(count: int) -> list[str]:
    """The texts of ``count`` tokens (a fixed sample of 4096, repeated)."""
    return [_BASE[i % _BASE_SIZE] for i in range(count)]


def render_event(obj: Any) -> bytes:
    """Frame one event as the server does."""
    return b"data: " + json.dumps(obj, separators=(", ", ": ")).encode() + b"\r\n\r\n"


_BASE_EVENTS = [render_event({"event_type": "token", "text": text}) for text in _BASE]


def _message(content: str | None, state: str) -> dict[str, Any]:
    return {
        "id": ASSISTANT_ID,
        "parent_id": PROMPTER_ID,
        "content": content,
        "chat_id": CHAT_ID,
        "created_at": _CREATED,
        "role": "assistant",
        "state": state,
        "score": 0,
        "reports": [],
        "work_parameters": {
            "model_config": {
                "model_id": "OA_SFT_Llama_30B_6",
                "max_input_length": 1024,
                "max_total_length": 2048,
                "quantized": False,
            },
            "sampling_parameters": {
                "top_k": 50,
                "top_p": 0.95,
                "typical_p": None,
                "temperature": 0.75,
                "repetition_penalty": 1.2,
                "max_new_tokens": 1024,
            },
            "do_sample": True,
            "seed": 1007384498193820715,
            "system_prompt": None,
            "user_profile": None,
            "user_response_instructions": None,
            "plugins": [],
            "plugin_max_depth": 4,
        },
        "safe_content": None,
        "safety_level": None,
        "safety_label": None,
        "safety_rots": None,
        "used_plugin": None,
    }


def final_message(tokens: int) -> dict[str, Any]:
    """The terminal message of a reply of ``tokens`` tokens: its content is their text."""
    return _message("".join(token_texts(tokens)), "complete")


def render_stream(tokens: int, *, pings: bool = True, pending: bool = True) -> bytes:
    """The whole body of an events stream: queue updates, tokens, pings, the final message."""
    parts: list[bytes] = []
    if pending:
        for position in range(_PENDING, 0, -1):
            parts.append(
                render_event(
                    {"event_type": "pending", "queue_position": position, "queue_size": _PENDING}
                )
            )
    for index in range(tokens):
        if pings and index and index % _PING_EVERY == 0:
            parts.append(_PING)
        parts.append(_BASE_EVENTS[index % _BASE_SIZE])
    parts.append(render_event({"event_type": "message", "message": final_message(tokens)}))
    return b"".join(parts)


def chunked(data: bytes, size: int | None) -> list[bytes]:
    """Cut ``data`` into pieces of ``size`` bytes (``None``: one piece)."""
    if size is None:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


def _json(obj: Any) -> bytes:
    # FastAPI's compact JSON, as the golden transcripts show for non-stream answers.
    return json.dumps(obj, separators=(",", ":")).encode()


def chat_body() -> bytes:
    """A created chat."""
    return _json(
        {
            "id": CHAT_ID,
            "created_at": _CREATED,
            "modified_at": _CREATED,
            "title": None,
            "hidden": False,
            "allow_data_use": True,
            "active_thread_tail_message_id": None,
        }
    )


def prompter_body() -> bytes:
    """The prompter message the server stored."""
    return _json(
        {
            "id": PROMPTER_ID,
            "parent_id": None,
            "content": "Hello, who are you?",
            "chat_id": CHAT_ID,
            "created_at": _CREATED,
            "role": "prompter",
            "state": "manual",
            "score": 0,
            "reports": [],
            "work_parameters": None,
            "safe_content": None,
            "safety_level": None,
            "safety_label": None,
            "safety_rots": None,
            "used_plugin": None,
        }
    )


def assistant_body() -> bytes:
    """The pending assistant message the server queued."""
    return _json(_message(None, "pending"))
