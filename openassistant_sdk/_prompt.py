"""The one-shot calls' prompt: a list of chat messages flattened into one prompter message.

The seed's ``format_prompt`` (oa-protocol.md 7), without its ``<s>[INST]`` wrapper: the
worker adds the model's own special tokens (oa-protocol.md 4.4, api-contract.md decision 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["format_prompt"]


def format_prompt(messages: Sequence[Mapping[str, str]]) -> str:
    """Flatten chat messages into one prompt text.

    One message gives its content unchanged. Several give one ``Role: content`` line each
    (the role capitalised, so ``user`` becomes ``User``) and a final ``Assistant:`` line.

    Args:
        messages: Dicts with a ``role`` and a string ``content``, oldest first.

    Returns:
        The prompt text. The caller's list is not changed.

    Raises:
        ValueError: The list is empty, or a message lacks a string role or content.
    """
    untyped: object = messages  # callers without type checking may pass anything
    if isinstance(untyped, (str, bytes)) or not isinstance(untyped, Sequence):
        raise ValueError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise ValueError("messages must not be empty")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValueError(f"messages[{index}] must be a dict, not {type(message).__name__}")
        if not isinstance(message.get("role"), str) or not message["role"]:
            raise ValueError(f"messages[{index}] needs a non-empty string 'role'")
        if not isinstance(message.get("content"), str):
            raise ValueError(f"messages[{index}] needs a string 'content'")
    if len(messages) == 1:
        return messages[0]["content"]
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"
