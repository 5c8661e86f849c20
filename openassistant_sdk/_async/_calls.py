"""The calls of ``AsyncClient``: the one-shot calls (the seed's five steps) and the chat API's.

A one-shot call creates a chat, posts the messages as one prompt, streams the reply and
deletes the chat (once its reply has finished). The chat API's calls are chats, messages,
votes, model configs and the login. Each call takes ``timeout=`` and ``extra_headers=``, for
its own requests only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx

from openassistant_sdk._chats import CreateFlow, Paging
from openassistant_sdk._config import NOT_GIVEN, CallOptions, NotGiven
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._models import (
    ChatInfo,
    ChatPage,
    Message,
    ModelConfig,
    SamplingParameters,
    TokenPair,
)
from openassistant_sdk._prompt import ChatMessage, format_prompt
from openassistant_sdk._values import parse_list

from ._chat import AsyncChat, AsyncChatContext
from ._sender import AsyncSender
from ._stream import AsyncEventStream, AsyncReplyStream

if TYPE_CHECKING:
    from ._client import AsyncClient


__all__ = ["Headers", "Timeout", "_AsyncCalls"]

#: A call's ``timeout=``: seconds, an ``httpx.Timeout``, or ``None`` for no limit.
Timeout = float | httpx.Timeout | None
#: A call's ``extra_headers=``.
Headers = Mapping[str, str] | None


class _AsyncCalls:
    """The calls of ``AsyncClient``."""

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

    def _client(self) -> AsyncClient:
        return cast("AsyncClient", self)  # the mixin of AsyncClient, and nothing else

    # -- chats -----------------------------------------------------------------------------------

    def chat(self) -> AsyncChatContext:
        """Return a context manager: the chat is created on enter and deleted on exit.

        Example::

            async with client.chat() as chat:
                async for text in chat.stream("Hello"):
                    print(text, end="")
        """
        return AsyncChatContext(self._client())

    async def create_chat(
        self, *, timeout: Timeout | NotGiven = NOT_GIVEN, extra_headers: Headers = None
    ) -> AsyncChat:
        """Create a chat; it is itself a context manager that deletes it on exit.

        Every call of the chat API takes ``timeout=`` (this call's requests' timeout instead
        of the client's) and ``extra_headers=`` (headers for this call only).
        """
        return AsyncChat(self._client(), await self._create_chat_info(timeout, extra_headers))

    async def _create_chat_info(
        self, timeout: Timeout | NotGiven = NOT_GIVEN, extra_headers: Headers = None
    ) -> ChatInfo:
        creating = CreateFlow(self._sender.routes, CallOptions.of(timeout, extra_headers))
        try:
            await self._sender.run(creating)
        except BaseException:  # an interruption held back until the chat was known, too
            await self._sender.release(creating.cleanup())
            raise
        return creating.chat

    async def get_chat(
        self,
        chat_id: str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> ChatInfo:
        """Return a chat with all its messages (every branch, oldest first)."""
        spec = self._sender.routes.get_chat(chat_id)
        return await self._sender.json(spec, ChatInfo.from_json, timeout, extra_headers)

    async def list_chats(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        include_hidden: bool = False,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> ChatPage:
        """Return one page of chats, newest first (``next`` is the cursor for older ones)."""
        spec = self._sender.routes.list_chats(
            limit=limit, after=after, before=before, include_hidden=include_hidden
        )
        return await self._sender.json(spec, ChatPage.from_json, timeout, extra_headers)

    async def iter_chats(
        self, *, include_hidden: bool = False, page_size: int | None = None
    ) -> AsyncIterator[ChatInfo]:
        """Iterate over all chats, newest first, following the page cursors."""
        paging = Paging()
        while not paging.done:
            page = await self.list_chats(
                limit=page_size, after=paging.after, include_hidden=include_hidden
            )
            for chat in paging.take(page):
                yield chat

    async def update_chat(
        self,
        chat_id: str,
        *,
        title: str | None = None,
        hidden: bool | None = None,
        allow_data_use: bool | None = None,
        active_thread_tail_message_id: str | None = None,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> None:
        """Change a chat's title, visibility or data-use flag (``None`` leaves a field)."""
        spec = self._sender.routes.update_chat(
            chat_id,
            {
                "title": title,
                "hidden": hidden,
                "allow_data_use": allow_data_use,
                "active_thread_tail_message_id": active_thread_tail_message_id,
            },
        )
        await self._sender.send(spec, options=CallOptions.of(timeout, extra_headers))

    async def delete_chat(
        self,
        chat_id: str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> None:
        """Delete a chat and its messages.

        Unlike leaving ``client.chat()``, this sends the DELETE at once: do not delete a chat
        whose reply is still being generated (docs/chats.md).
        """
        spec = self._sender.routes.delete_chat(chat_id)
        await self._sender.send(spec, options=CallOptions.of(timeout, extra_headers))

    async def get_message(
        self,
        chat_id: str,
        message_id: str,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> Message:
        """Return one message of a chat."""
        spec = self._sender.routes.get_message(chat_id, message_id)
        return await self._sender.json(spec, Message.from_json, timeout, extra_headers)

    async def vote(
        self,
        chat_id: str,
        message_id: str,
        score: Literal[-1, 0, 1],
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        extra_headers: Headers = None,
    ) -> None:
        """Rate an assistant message: -1, 0 or 1."""
        spec = self._sender.routes.vote(chat_id, message_id, score)
        await self._sender.send(spec, options=CallOptions.of(timeout, extra_headers))

    async def models(
        self, *, timeout: Timeout | NotGiven = NOT_GIVEN, extra_headers: Headers = None
    ) -> list[ModelConfig]:
        """Return the model configs the server offers, each with its sampling presets."""
        return await self._sender.json(
            self._sender.routes.models(),
            lambda data: parse_list(data, ModelConfig.from_json, "model configs"),
            timeout,
            extra_headers,
        )

    async def login(self) -> TokenPair:
        """Run the inference server's debug login now (it otherwise runs on first use)."""
        credentials = self._sender.credentials
        if credentials.debug_user is None:
            raise ValueError("login() needs debug_user=")
        credentials.forget_login()
        return await self._sender.log_in()
