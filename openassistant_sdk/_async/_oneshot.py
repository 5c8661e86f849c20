"""The one-shot calls (the seed's five steps), and the making of every reply.

``AsyncClient`` takes these from ``_AsyncOneShot``: a chat is created, the messages are posted
as one prompt, the reply is streamed, and the chat is deleted (once its reply has finished).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from openassistant_sdk._config import NOT_GIVEN, CallOptions, NotGiven
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._models import SamplingParameters
from openassistant_sdk._prompt import ChatMessage, format_prompt
from openassistant_sdk._turns import Thread, merge_sampling, sampling_overrides

from . import _primitives as primitives
from ._sender import AsyncSender
from ._stream import AsyncEventStream, AsyncReply, AsyncReplyStream

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
        reply = self._one_shot(messages, model, sampling, locals())
        return AsyncReplyStream(reply)

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
        reply = self._one_shot(messages, model, sampling, locals())
        return AsyncEventStream(reply)

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
        reply = self._one_shot(messages, model, sampling, locals())
        parts: list[str] = []
        async with AsyncReplyStream(reply) as stream:
            async for text in stream:
                parts.append(text)
        return "".join(parts)

    def _one_shot(
        self,
        messages: Sequence[ChatMessage],
        model: str | None,
        sampling: SamplingParameters | None,
        arguments: dict[str, Any],
    ) -> AsyncReply:
        self._sender.check_open()
        return self._reply(
            None, format_prompt(messages), model, sampling, sampling_overrides(**arguments),
            {"system_prompt": arguments["system_prompt"]},
            arguments["stall_timeout"], arguments["stream_timeout"],
            call_options=CallOptions.of(arguments["timeout"], arguments["extra_headers"]),
        )  # fmt: skip

    def _reply(
        self,
        thread: Thread | None,
        content: str,
        model: str | None,
        sampling: SamplingParameters | None,
        overrides: dict[str, Any],
        extra: dict[str, str | None],
        stall_timeout: float | None | NotGiven,
        stream_timeout: float | None | NotGiven,
        *,
        siblings: list[AsyncReply] | None = None,
        call_options: CallOptions | None = None,
    ) -> AsyncReply:
        """Make the reply of a chat's thread, or of a one-shot call (``thread`` is None)."""
        sender = self._sender
        options = sender.options
        flow = ReplyFlow(
            sender.routes,
            thread,
            content,
            model=model or options.model,
            sampling=merge_sampling(sampling or options.sampling, overrides),
            extra=extra,
            settings=sender.reply_settings().for_call(stall_timeout, stream_timeout),
            options=call_options,
            clock=primitives.now,
        )
        return AsyncReply(sender, flow, siblings)
