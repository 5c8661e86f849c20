"""Typed usage: what users' code looks like, checked by ``mypy --strict`` in the typecheck session.

Each ``assert_type`` states the precise type a user gets; mypy fails if the SDK's types drift.
Nothing here is run by pytest (no test functions); it only has to type-check.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from openassistant_sdk import (
    AsyncChat,
    AsyncClient,
    AsyncEventStream,
    AsyncReplyStream,
    Chat,
    ChatInfo,
    ChatMessage,
    ChatPage,
    Client,
    ClientOptions,
    ErrorEvent,
    Event,
    EventDecoder,
    EventStream,
    FoundSession,
    GenerationError,
    Message,
    MessageEvent,
    ModelConfig,
    PendingEvent,
    ProviderError,
    RateLimitError,
    ReplyStream,
    SamplingParameters,
    TokenEvent,
    find_session,
    format_prompt,
)
from openassistant_sdk.compat import OpenAssistant

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # pragma: no cover
    from typing_extensions import assert_type


def sync_usage(client: Client) -> None:
    with client.chat() as chat:
        assert_type(chat, Chat)
        stream = chat.stream("Hello", temperature=0.5, max_new_tokens=200)
        assert_type(stream, ReplyStream)
        for text in stream:
            assert_type(text, str)
        assert_type(stream.message, Message | None)
        reply = chat.send("And in French?")
        assert_type(reply, Message)
        assert_type(reply.content, str | None)
        reply_text: str = reply.text  # no None check needed
        shout = reply.text.upper()
        del reply_text, shout
        events = chat.events("Again")
        assert_type(events, EventStream)
        for event in events:
            assert_type(event, Event)
            if isinstance(event, TokenEvent):
                assert_type(event.text, str)
            elif isinstance(event, PendingEvent):
                assert_type(event.queue_position, int)
            elif isinstance(event, MessageEvent):
                assert_type(event.message, Message)
            elif isinstance(event, ErrorEvent):
                assert_type(event.error, str)
    chunks: Iterator[str] = client.stream([{"role": "user", "content": "Hi"}], model="_lorem")
    assert_type(client.complete([{"role": "user", "content": "Hi"}]), str)
    assert_type(client.models(), list[ModelConfig])
    assert_type(client.list_chats(limit=5), ChatPage)
    assert_type(client.get_chat("id"), ChatInfo)
    for info in client.iter_chats():
        assert_type(info, ChatInfo)
    del chunks


def values_usage(client: Client, message: Message, event: Event) -> None:
    options = client.options
    assert_type(options, ClientOptions)
    assert_type(options.model, str)
    assert_type(options.max_event_size, int)
    assert_type(message.to_dict(), dict[str, Any])
    assert_type(message.to_json(), dict[str, Any])
    assert_type(Message.from_json(message.to_json()), Message)
    assert_type(event.to_json(), dict[str, Any])
    assert_type(client.list_chats().to_dict(), dict[str, Any])
    assert_type(SamplingParameters().to_dict(), dict[str, Any])


def one_shot_messages() -> str:
    messages: list[ChatMessage] = [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hi"},
    ]
    assert_type(messages[0]["role"], Literal["system", "user", "assistant"])
    # A role the prompt format does not know is a type error (and a ValueError at run time).
    wrong: ChatMessage = {"role": "tool", "content": "x"}  # type: ignore[typeddict-item]
    del wrong
    return format_prompt(messages)


async def async_usage(client: AsyncClient) -> None:
    async with client.chat() as chat:
        assert_type(chat, AsyncChat)
        stream = chat.stream("Hello", sampling=SamplingParameters.preset("k50-Precise"))
        assert_type(stream, AsyncReplyStream)
        async for text in stream:
            assert_type(text, str)
        assert_type(await chat.send("More"), Message)
        events = chat.events("Again")
        assert_type(events, AsyncEventStream)
        async for event in events:
            assert_type(event, Event)
    chunks: AsyncIterator[str] = client.stream([{"role": "user", "content": "Hi"}])
    assert_type(await client.complete([{"role": "user", "content": "Hi"}]), str)
    assert_type(await client.models(), list[ModelConfig])
    try:
        await client.create_chat()
    except RateLimitError as err:
        assert_type(err.retry_after, float | None)
        assert_type(err.status_code, int)
    except GenerationError as err:
        assert_type(err.error, str)
    del chunks


def decoder_usage(data: bytes) -> list[Event]:
    decoder = EventDecoder(on_malformed="skip")
    events = decoder.feed(data) + decoder.flush()
    assert_type(decoder.skipped, int)
    return events


def session_usage() -> Client:
    found = find_session("chat.example.org", cookies_file="cookies.txt")
    assert_type(found, FoundSession)
    assert_type(found.session_token, str | None)
    assert_type(found.source, str)
    return Client(base_url="https://chat.example.org", api="website", **found.client_options())


async def compat_usage() -> str:
    try:
        return await OpenAssistant.create_async("", [{"role": "user", "content": "Hi"}])
    except ProviderError as err:  # the seed's RuntimeError, typed
        assert_type(err.status_code, int)
        seed_style: RuntimeError = err  # what `except RuntimeError` in a seed program catches
        raise seed_style from None


def streams_as_context_managers(client: Client, chat: Chat) -> None:
    # Entering a stream gives the stream itself, typed as what it is.
    with client.stream([{"role": "user", "content": "Hi"}]) as text_stream:
        text: ReplyStream = text_stream
        first: str = next(iter(text))
    with chat.events("Hi") as event_stream:
        typed: EventStream = event_stream
        event: Event = next(iter(typed))
    del first, event


async def async_streams_as_context_managers(client: AsyncClient) -> None:
    async with client.stream([{"role": "user", "content": "Hi"}]) as text_stream:
        text: AsyncReplyStream = text_stream
        async for part in text:
            part_text: str = part
            del part_text
