"""Faults injected into the real local server: the SDK loses nothing and leaks nothing.

Every test ends with no chat left on the server and no connection held (the ``clean``
fixture checks after the client is closed), for the sync client and the async one under
asyncio and trio.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from openassistant_sdk import (
    APITimeoutError,
    ErrorEvent,
    GenerationError,
    MessageEvent,
    ServiceUnavailableError,
    StreamError,
    UnknownEvent,
)
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault
from tests.helpers import call, close, collect, read_into, using

from .conftest import wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ASK = [{"role": "user", "content": "Tell me something"}]


async def reply(client: Any, **kwargs: Any) -> tuple[str, Any]:
    """Stream a one-shot _lorem reply; return the joined text and the final message."""
    stream = client.stream(ASK, model="_lorem", **kwargs)
    async with using(stream):
        text = "".join(await collect(stream))
    return text, stream.message


@pytest.mark.parametrize("action", ["stream_reset", "stream_abort", "stream_end", "stream_stall"])
async def test_a_broken_stream_is_recovered_in_full(
    make: Any, server: LocalServer, clean: None, action: str
) -> None:
    server.add_fault(Fault(action=action, op="events", after_events=3))
    client = make(stall_timeout=1.0)
    async with using(client):
        started = time.monotonic()
        text, message = await reply(client)
    assert message is not None
    assert message.state == "complete"
    assert text == message.content  # nothing dropped, nothing doubled
    assert len(text.split()) >= 10
    assert time.monotonic() - started < 8


@pytest.mark.parametrize("action", ["stream_reset", "stream_abort", "stream_end", "stream_stall"])
async def test_a_broken_stream_is_recovered_in_full_through_the_website(
    make: Any, server: LocalServer, clean: None, action: str
) -> None:
    # The same faults on /api/chat/events: the website proxy's stream breaks the same ways.
    server.add_fault(Fault(action=action, op="events", api="website", after_events=3))
    client = make(api="website", stall_timeout=1.0)
    async with using(client):
        started = time.monotonic()
        text, message = await reply(client)
    assert server.faults() == []  # the fault did fire, on the website's stream
    assert message is not None
    assert message.state == "complete"
    assert text == message.content  # nothing dropped, nothing doubled
    assert len(text.split()) >= 10
    assert time.monotonic() - started < 8


async def test_slow_chunks_arrive_intact(make: Any, server: LocalServer, clean: None) -> None:
    server.add_fault(Fault(action="stream_slow", op="events", chunk_size=5, chunk_delay=0.0005))
    client = make()
    async with using(client):
        text, message = await reply(client)
    assert text == message.content


async def test_unknown_events_are_skipped_by_stream_and_shown_by_events(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(Fault(action="stream_unknown_event", op="events", after_events=1, times=2))
    client = make()
    async with using(client):
        text, message = await reply(client)
        assert text == message.content
        events = await collect(client.events(ASK, model="_lorem"))
    assert any(isinstance(e, UnknownEvent) for e in events)
    assert isinstance(events[-1], MessageEvent)


async def test_a_malformed_event_raises_after_the_good_tokens(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(Fault(action="stream_malformed", op="events", after_events=2))
    client = make()
    got: list[str] = []

    async with using(client):
        with pytest.raises(StreamError, match="not JSON"):
            await read_into(client.stream(ASK, model="_lorem"), got)
    assert len(got) >= 1


async def test_malformed_events_can_be_skipped(make: Any, server: LocalServer, clean: None) -> None:
    server.add_fault(Fault(action="stream_malformed", op="events", after_events=2))
    client = make(on_malformed="skip")
    async with using(client):
        text, message = await reply(client)
    assert text == message.content


async def test_a_worker_error_is_a_generation_error(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(Fault(action="worker_error", op="assistant_message", after_events=3, times=2))
    client = make()
    async with using(client):
        with pytest.raises(GenerationError, match="Aborted due to worker error") as info:
            await reply(client)
        assert isinstance(info.value, RuntimeError)
        events = await collect(client.events(ASK, model="_lorem"))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].error == "Aborted due to worker error."
    assert events[-1].message.state == "aborted_by_worker"


async def test_a_stall_with_nothing_to_recover_times_out(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.pause_workers()  # the message stays pending: only pending events and pings arrive
    client = make(stall_timeout=0.8)
    async with using(client):
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="stall_timeout; the message is 'pending'"):
            await reply(client)
        assert time.monotonic() - started < 5
        # Its chat waits for the message (no DELETE while it is pending): let it finish, and
        # closing the client deletes the chat.
        server.resume_workers()


@pytest.fixture(scope="module")
def pinging_server() -> Iterator[LocalServer]:
    # A `: ping` every 0.1 s, and nothing else for much longer than a stall timeout: no
    # `pending` event for 30 s, and a reply's single token comes only after 1.6 s. Enough
    # workers that no reply waits in the queue behind another's (abandoned) generation.
    with LocalServer(
        ping_interval=0.1, pending_interval=30.0, token_delay=1.6, workers=16, rate_limit=None
    ) as running:
        yield running


@pytest.mark.parametrize("waiting", ["queued", "generating"])
async def test_pings_do_not_reset_the_stall_timer(
    make: Any, pinging_server: LocalServer, waiting: str
) -> None:
    # While a message waits in the queue (workers paused) or for its first token (slow
    # tokens), only pings arrive: they keep the connection busy, which must not count as
    # progress. Were they counted, the queued reply would wait for ever: its stream_timeout
    # bounds the test (and puts the SDK's own read timer in play); the generating one ends
    # after its token at 1.6 s and runs with the client's defaults (no stream_timeout).
    stall = 0.5
    bound = {"stream_timeout": 3} if waiting == "queued" else {}
    if waiting == "queued":
        pinging_server.pause_workers()
    try:
        client = make(base_url=pinging_server.url, stall_timeout=stall, model="echo")
        got: list[str] = []
        async with using(client):
            stream = client.stream([{"role": "user", "content": "Hi"}], **bound)
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match="stall_timeout") as info:
                await read_into(stream, got)
            elapsed = time.monotonic() - started
            pinging_server.resume_workers()  # so that the message finishes and its chat goes
        state = "pending" if waiting == "queued" else "in_progress"
        assert f"the message is {state!r}" in str(info.value)
        assert got == []
        assert stall <= elapsed < stall + 1.0
        assert wait_for(lambda: pinging_server.chats_alive() == 0), "a chat was left"
        assert wait_for(lambda: pinging_server.open_connections() == 0), "a connection was left"
    finally:
        pinging_server.resume_workers()


async def test_the_total_deadline_holds_while_tokens_flow(
    make: Any, slow_server: LocalServer
) -> None:
    client = make(base_url=slow_server.url, stream_timeout=0.5)
    got: list[str] = []

    async with using(client):
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="stream_timeout"):
            await read_into(client.stream(ASK, model="_lorem"), got)
    assert 0.5 <= time.monotonic() - started < 3
    assert got  # tokens did flow before the deadline
    assert wait_for(lambda: slow_server.chats_alive() == 0), "a chat was left on the server"
    assert wait_for(lambda: slow_server.open_connections() == 0), "a connection was left open"


async def test_rate_limit_with_retry_after_is_waited_out(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(
        Fault(
            action="respond",
            op="create_chat",
            status=429,
            headers={"Retry-After": "0.2"},
            body='{"detail":"slow down"}',
        )
    )
    client = make()
    async with using(client):
        started = time.monotonic()
        text, message = await reply(client)
    assert text == message.content
    assert time.monotonic() - started >= 0.2


async def test_503_from_assistant_message_is_not_resent(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(
        Fault(
            action="respond",
            op="assistant_message",
            status=503,
            body='{"detail":"The server is currently busy. Please try again later."}',
        )
    )
    client = make()
    async with using(client):
        with pytest.raises(ServiceUnavailableError, match="busy") as info:
            await reply(client)
    assert info.value.retries_taken == 0


@pytest.mark.parametrize("action", ["handled_500", "unhandled_500"])
async def test_500s_are_retried_also_after_the_server_drops_the_connection(
    make: Any, server: LocalServer, clean: None, action: str
) -> None:
    # The unhandled 500 closes the TCP connection without saying so (docs/protocol.md 10.2).
    server.add_fault(Fault(action=action, op="assistant_message"))
    server.add_fault(Fault(action=action, op="delete_chat"))
    client = make()
    async with using(client):
        text, message = await reply(client)
        text2, message2 = await reply(client)
    assert text == message.content
    assert text2 == message2.content


async def test_a_connection_closed_before_the_answer_is_retried(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(Fault(action="close", op="prompter_message"))
    server.add_fault(Fault(action="close", op="create_chat"))
    client = make()
    async with using(client):
        text, message = await reply(client)
    assert text == message.content


async def test_a_reset_before_any_answer_is_retried(
    make: Any, server: LocalServer, clean: None
) -> None:
    # The server resets the connection before answering: the request never took effect
    # (docs/design.md, decision 8), so even the unsafe ones are sent again.
    for op in ("create_chat", "prompter_message", "assistant_message", "list_chats"):
        server.add_fault(Fault(action="reset", op=op, times=1))
    client = make()
    async with using(client):
        text, message = await reply(client)
        page = await call(client.list_chats())
    assert text == message.content
    assert page.chats == ()


async def test_a_reply_lost_after_sending_is_not_resent(
    make: Any, server: LocalServer, clean: None
) -> None:
    # The answer is delayed past the read timeout: assistant_message may have been stored.
    server.add_fault(Fault(action="delay", op="assistant_message", delay=1.0))
    client = make(timeout=0.3)
    async with using(client):
        with pytest.raises(APITimeoutError) as info:
            await reply(client)
    assert info.value.failure == "timeout"
    assert info.value.retries_taken == 0


async def test_no_retry_budget_left_raises_with_the_count(
    make: Any, server: LocalServer, clean: None
) -> None:
    server.add_fault(Fault(action="respond", op="create_chat", status=502, times=3))
    client = make()
    async with using(client):
        with pytest.raises(Exception, match="502") as info:
            await call(client.create_chat())
    assert info.value.retries_taken == 2


async def test_an_error_inside_the_chat_block_still_deletes_the_chat(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make()
    async with using(client):

        async def cut_short() -> None:
            async with using(client.chat()) as chat:
                stream = chat.stream("a reply cut short by Ctrl-C")
                async with using(stream):
                    raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await cut_short()


async def test_breaking_out_of_a_one_shot_stream_deletes_its_chat_after_the_reply(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make()
    async with using(client):
        stream = client.stream(ASK, model="_lorem")
        async with using(stream):
            if hasattr(stream, "__anext__"):
                await stream.__anext__()
            else:
                next(stream)
        # Left at once, but its reply is still being generated: no DELETE yet, which on the
        # inference server would lose the next message anyone queues.
        assert server.chats_alive() == 1
        await close(stream)
        assert wait_for(lambda: server.messages_by_state().get("in_progress", 0) == 0)
        await call(client.models())  # the next request deletes it
        assert server.chats_alive() == 0


async def test_closing_the_client_closes_open_streams(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make(model="_lorem")
    stream = client.stream(ASK)
    if hasattr(stream, "__anext__"):
        await stream.__anext__()
    else:
        next(stream)
    await close(client)  # the stream is still referenced: it is closed, its chat deleted
    assert server.chats_alive() == 0
    await close(stream)


async def test_deleting_a_chat_closes_its_open_stream(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make(model="_lorem")
    async with using(client):
        chat = await call(client.create_chat())
        stream = chat.stream("Hi")
        if hasattr(stream, "__anext__"):
            await stream.__anext__()
        else:
            next(stream)
        await call(chat.delete())
        assert chat.deleted
        await call(chat.delete())  # idempotent
