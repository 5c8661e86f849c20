"""Chats as resources: ``AsyncChat`` remembers its thread and deletes itself on exit."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from openassistant_sdk._chats import chat_cleanup, warn_left
from openassistant_sdk._config import NOT_GIVEN, NotGiven
from openassistant_sdk._exceptions import OpenAssistantError
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._models import ChatInfo, Message, SamplingParameters
from openassistant_sdk._turns import Thread

from ._stream import AsyncEventStream, AsyncReply, AsyncReplyStream

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["AsyncChat", "AsyncChatContext"]


class AsyncChatContext:
    """``async with client.chat() as chat``: create on enter, delete on exit, whatever happens."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._chat: AsyncChat | None = None

    async def __aenter__(self) -> AsyncChat:
        self._chat = await self._client.create_chat()
        return self._chat

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(AsyncChat, name):
            raise AttributeError(name)
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}: client.chat() makes the "
            "chat on entering its block (`async with client.chat() as chat:`), which also "
            "deletes it; or use `chat = await client.create_chat()` and delete it yourself"
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._chat is not None:
            await self._chat._exit(exc)


class AsyncChat:
    """A chat on the server; it remembers its thread, so each turn continues the last.

    Use it as a context manager to delete it on exit, or call ``delete``.

    Attributes:
        id: The server's chat id.
        info: The chat as the server last described it.
    """

    def __init__(self, client: AsyncClient, info: ChatInfo) -> None:
        self._client = client
        self._sender = client._sender
        self.id = info.id
        self.info = info
        self._thread = Thread(info.id)
        self._replies: list[AsyncReply] = []
        self._deleted = False

    def __repr__(self) -> str:
        return f"<AsyncChat id={self.id!r}>"

    @property
    def last_message_id(self) -> str | None:
        """The last complete assistant message: the parent of the next prompter message."""
        return self._thread.tail

    @property
    def deleted(self) -> bool:
        """Whether this chat was deleted, or queued for deletion once its reply finishes."""
        return self._deleted

    async def __aenter__(self) -> AsyncChat:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit(exc)

    async def _exit(self, exc: BaseException | None) -> None:
        error = await self._sender.cleanly(f"deleting chat {self.id}", self._delete)
        if error is None:
            return
        if exc is None:
            raise error
        warn_left(self.id, error, stacklevel=3)  # never masking `exc`

    async def delete(self) -> None:
        """Close this chat's open streams, then delete it on the server (idempotent).

        A reply the server is still generating is not waited for: the chat is deleted once
        it has finished, by the client's later requests or by its ``aclose`` (deleting it
        now would lose another user's message on the inference server, docs/chats.md).
        """
        error = await self._delete()
        if error is not None:
            raise error

    async def _delete(self) -> Exception | None:
        for reply in self._replies:
            await reply.aclose()
        cleanup = chat_cleanup(self.id, [reply._flow for reply in self._replies])
        self._replies.clear()
        if self._deleted:
            return None
        error = await self._sender.release(cleanup)
        self._deleted = error is None
        return error

    async def refresh(self) -> ChatInfo:
        """Fetch the chat with all its messages from the server."""
        self.info = await self._client.get_chat(self.id)
        return self.info

    async def vote(self, message: Message | str, score: Literal[-1, 0, 1]) -> None:
        """Rate an assistant message of this chat: -1, 0 or 1."""
        message_id = message.id if isinstance(message, Message) else message
        await self._client.vote(self.id, message_id, score)

    def stream(
        self,
        content: str,
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
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncReplyStream:
        """Send ``content`` and stream the reply's text.

        The requests (prompter message, assistant message, events) start on first iteration
        or on entering ``async with``. After the stream is exhausted, ``.message`` holds the
        final ``Message``.

        Raises:
            ValueError: Invalid content or sampling parameters (at once, before any request).
        """
        return AsyncReplyStream(self._sender, self._flow(content, locals()), self._replies)

    def events(
        self,
        content: str,
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
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncEventStream:
        """Send ``content`` and stream the reply as typed events.

        An in-stream error arrives as a final ``ErrorEvent`` (docs/design.md, decision 3).
        """
        return AsyncEventStream(self._sender, self._flow(content, locals()), self._replies)

    async def send(
        self,
        content: str,
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
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Message:
        """Send ``content`` and wait for the complete reply.

        Raises:
            GenerationError: The server reported a failed generation.
        """
        stream = AsyncReplyStream(self._sender, self._flow(content, locals()), self._replies)
        async with stream:
            async for _ in stream:
                pass
        assert stream.message is not None
        return stream.message

    def _flow(self, content: str, arguments: dict[str, Any]) -> ReplyFlow:
        if self._deleted:
            raise OpenAssistantError(f"chat {self.id} was deleted")
        if all(reply._closed for reply in self._replies):
            self._thread.check_continuable()
        return self._sender.reply_flow(self._thread, content, arguments)
