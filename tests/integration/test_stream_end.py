"""How a reply's stream ends: the final event first, a bounded drain, and what an abandoned
first reply leaves a chat able to do. Every client kind, against the real local server."""

from __future__ import annotations

import time
from typing import Any

import pytest

from openassistant_sdk import MessageEvent, OpenAssistantError
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault
from tests.helpers import call, close, using

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def _event_types(stream: Any) -> list[str]:
    names: list[str] = []
    async with using(stream):
        if hasattr(stream, "__aiter__"):
            async for event in stream:
                names.append(type(event).__name__)
        else:
            names.extend(type(event).__name__ for event in stream)
    return names


async def test_a_stream_left_open_after_its_final_event_neither_hides_it_nor_hangs(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make(stall_timeout=60)
    async with using(client):
        async with using(client.chat()) as chat:
            events = await _event_types(chat.events("hi"))
        assert events[-1] == "MessageEvent"
        # The server sends the final event, then keeps the response open: the final event
        # still arrives at once, and the drain after it gives up long before the stall timeout.
        server.add_fault(Fault(action="stream_stall", op="events", after_events=len(events)))
        async with using(client.chat()) as chat:
            start = time.monotonic()
            stream = chat.events("hi")
            async with using(stream):
                if hasattr(stream, "__aiter__"):
                    async for event in stream:
                        if isinstance(event, MessageEvent):
                            break
                else:
                    for event in stream:
                        if isinstance(event, MessageEvent):
                            break
            assert isinstance(event, MessageEvent)
            assert event.message.content == "hi"
            assert chat.last_message_id == event.message.id
            # Generous bounds: the drain waits 1 s; the stall timeout is 60 s.
            assert time.monotonic() - start < 15
            again = await call(chat.send("and again"))
            assert again.content == "and again"


async def test_a_first_reply_abandoned_unclosed_leaves_a_clear_error(
    make: Any, server: LocalServer, clean: None
) -> None:
    client = make(model="_lorem")
    async with using(client), using(client.chat()) as chat:
        stream = chat.stream("Tell me something")
        if hasattr(stream, "__aiter__"):
            async for _ in stream:
                break
        else:
            for _ in stream:
                break
        # The first reply was stopped, not closed: the chat has nothing to continue from,
        # and says so instead of sending a message the server refuses with a 400.
        with pytest.raises(OpenAssistantError, match="no complete reply to continue from"):
            await call(chat.send("and then?"))
        await close(stream)
