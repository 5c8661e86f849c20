"""The one-shot calls' prompt: a list of chat messages flattened into one prompter message.

The seed's ``format_prompt`` (docs/protocol.md 7), without its ``<s>[INST]`` wrapper: the
worker adds the model's own special tokens (docs/protocol.md 4.4, docs/design.md, decision 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypedDict, get_args

from ._requests import check_utf8

__all__ = ["ChatMessage", "ChatRole", "format_prompt"]

ChatRole = Literal["system", "user", "assistant"]
"""The roles a one-shot message may have: the ones the seed's prompt format names."""

_ROLES: frozenset[str] = frozenset(get_args(ChatRole))


class ChatMessage(TypedDict):
    """One message of a one-shot call's conversation, as the seed's callers wrote them.

    ``{"role": "user", "content": "Hello"}``: the shape of OpenAI-style chat messages, so
    lists written for the seed or for other LLM SDKs type-check as they are.

    Attributes:
        role: ``"system"``, ``"user"`` or ``"assistant"``; it becomes the line's
            ``System:``, ``User:`` or ``Assistant:`` prefix when there are several messages.
        content: The message's text.
    """

    role: ChatRole
    content: str


def format_prompt(messages: Sequence[ChatMessage] | Sequence[Mapping[str, str]]) -> str:
    """Flatten chat messages into one prompt text.

    One message gives its content unchanged. Several give one ``Role: content`` line each
    (the role capitalised, so ``user`` becomes ``User``) and a final ``Assistant:`` line.

    Args:
        messages: ``ChatMessage`` dicts (a ``role`` and a string ``content``), oldest
            first. Other keys are ignored.

    Returns:
        The prompt text. The caller's list is not changed.

    Raises:
        ValueError: The list is empty; a message lacks a string content or a role; the role
            is not ``"system"``, ``"user"`` or ``"assistant"``; or a content holds a lone
            surrogate, which cannot be sent (all before any request).
    """
    untyped: object = messages  # callers without type checking may pass anything
    if isinstance(untyped, (str, bytes)) or not isinstance(untyped, Sequence):
        raise ValueError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise ValueError("messages must not be empty")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValueError(f"messages[{index}] must be a dict, not {type(message).__name__}")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"messages[{index}] needs a non-empty string 'role'")
        if role not in _ROLES:
            raise ValueError(
                f"messages[{index}] has the role {role!r}; the roles are 'system', 'user'"
                " and 'assistant'"
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise ValueError(f"messages[{index}] needs a string 'content'")
        check_utf8(f"messages[{index}] content", content)
    if len(messages) == 1:
        return messages[0]["content"]
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"
