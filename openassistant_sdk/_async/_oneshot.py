"""The one-shot calls (the seed's five steps).

``AsyncClient`` takes these from ``_AsyncOneShot``: a chat is created, the messages are posted
as one prompt, the reply is streamed, and the chat is deleted (once its reply has finished).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from openassistant_sdk._config import NOT_GIVEN, NotGiven
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._models import SamplingParameters
from openassistant_sdk._prompt import ChatMessage, format_prompt

from ._sender import AsyncSender
from ._stream import AsyncEventStream, AsyncReplyStream

__all__ = ["_AsyncOneShot"]


class _AsyncOneShot:
    """The one-shot calls of ``AsyncClient``."""

    _sender: AsyncSender

    # -- one-shot calls (the seed's five steps) --------------------------------------------------

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncReplyStream:
        """Stream a reply to ``messages`` in a new chat that is deleted afterwards.

        Creates a chat, posts the messages formatted into one prompt, posts the assistant
        message, streams its tokens and deletes the chat, whatever happens. The requests start
        on first iteration or on entering ``async with``.

        Raises:
            ValueError: The messages or sampling parameters are invalid.
        """
        return AsyncReplyStream(self._sender, self._flow(messages, locals()))

    def events(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncEventStream:
        """Like ``stream``, with typed events instead of text."""
        return AsyncEventStream(self._sender, self._flow(messages, locals()))

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> str:
        """Return the whole reply to ``messages`` as one string (the chat is deleted after).

        Raises:
            GenerationError: The server reported a failed generation.
        """
        parts: list[str] = []
        async with AsyncReplyStream(self._sender, self._flow(messages, locals())) as stream:
            async for text in stream:
                parts.append(text)
        return "".join(parts)

    def _flow(self, messages: Sequence[ChatMessage], arguments: dict[str, Any]) -> ReplyFlow:
        return self._sender.reply_flow(None, format_prompt(messages), arguments)
