"""The chat API's calls of ``AsyncClient``: chats, messages, votes, model configs, the login.

Each call takes ``timeout=`` and ``extra_headers=``, for its own requests only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Literal, cast

import httpx

from openassistant_sdk._chats import CreateFlow, Paging
from openassistant_sdk._config import NOT_GIVEN, CallOptions, NotGiven
from openassistant_sdk._models import ChatInfo, ChatPage, Message, ModelConfig, TokenPair
from openassistant_sdk._values import parse_list

from ._chat import AsyncChat, AsyncChatContext
from ._sender import AsyncSender

if TYPE_CHECKING:
    from ._client import AsyncClient


__all__ = ["Headers", "Timeout", "_AsyncChatCalls"]

#: A call's ``timeout=``: seconds, an ``httpx.Timeout``, or ``None`` for no limit.
Timeout = float | httpx.Timeout | None
#: A call's ``extra_headers=``.
Headers = Mapping[str, str] | None


class _AsyncChatCalls:
    """The chat API's calls (``AsyncClient`` has them)."""

    _sender: AsyncSender

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
        pair = await self._sender.json(credentials.login_spec(), TokenPair.from_json)
        credentials.accept_login(pair)
        return pair
