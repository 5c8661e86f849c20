"""The whole chat flow through both clients and both APIs against the real local server."""

from __future__ import annotations

from typing import Any

import pytest

from openassistant_sdk import (
    ChatInfo,
    MessageEvent,
    NotFoundError,
    SamplingParameters,
    TokenEvent,
    UnprocessableEntityError,
)
from openassistant_sdk.testing import LocalServer
from tests.helpers import call, close, collect, using

from .conftest import wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


@pytest.mark.parametrize("api", ["inference", "website"])
async def test_multi_turn_chat(make: Any, server: LocalServer, api: str) -> None:
    client = make(api=api)
    async with using(client):
        async with using(client.chat()) as chat:
            stream = chat.stream("Hello there, friend")
            texts = await collect(stream)
            assert "".join(texts) == "Hello there, friend"
            assert "" not in texts
            assert stream.message.content == "Hello there, friend"
            reply = await call(chat.send("And in French?", max_new_tokens=2))
            assert reply.content == "And in"  # echo honours max_new_tokens as a token cap
            info: ChatInfo = await call(chat.refresh())
            roles = [m.role for m in sorted(info.messages, key=lambda m: m.created_at)]
            assert roles == ["prompter", "assistant", "prompter", "assistant"]
            prompters = [m for m in info.messages if m.role == "prompter"]
            second = max(prompters, key=lambda m: m.created_at)
            assert second.parent_id == stream.message.id
            assert server.chats_alive() >= 1
        with pytest.raises(NotFoundError):
            await call(client.get_chat(chat.id))
    assert wait_for(lambda: server.open_connections() == 0)


async def test_chat_resources(make: Any) -> None:
    client = make()
    async with using(client):
        first = await call(client.create_chat())
        second = await call(client.create_chat())
        async with using(first), using(second):
            await call(second.send("title me"))
            await call(client.update_chat(first.id, title="renamed"))
            page = await call(client.list_chats(limit=1))
            assert len(page) == 1
            assert page.next is not None
            if hasattr(client.iter_chats(), "__aiter__"):
                ids = [c.id async for c in client.iter_chats(page_size=1)]
            else:
                ids = [c.id for c in client.iter_chats(page_size=1)]
            assert ids == [second.id, first.id]  # newest first, across pages
            titles = {c.id: c.title for c in (await call(client.list_chats())).chats}
            assert titles == {first.id: "renamed", second.id: "title me"}
            message = await call(second.send("again"))
            await call(second.vote(message, 1))
        assert (await call(client.list_chats())).chats == ()


async def test_models_and_presets(make: Any) -> None:
    client = make()
    async with using(client):
        models = await call(client.models())
    names = [m.name for m in models]
    assert "_lorem" in names
    assert "echo" in names
    k50 = models[0].preset("k50").sampling_parameters
    assert k50 == SamplingParameters.preset("k50")


@pytest.mark.parametrize("api", ["inference", "website"])
async def test_one_shot_lorem_reply_matches_the_final_message(
    make: Any, server: LocalServer, api: str
) -> None:
    client = make(api=api, model="_lorem")
    async with using(client):
        events = await collect(client.events([{"role": "user", "content": "Hi"}]))
        text = "".join(e.text for e in events if isinstance(e, TokenEvent))
        assert isinstance(events[-1], MessageEvent)
        assert text == events[-1].message.content
        assert len(text.split()) >= 10
        assert await call(client.complete([{"role": "user", "content": "x"}]))
    assert server.chats_alive() == 0


async def test_unknown_model_is_a_typed_error_and_leaves_no_chat(
    make: Any, server: LocalServer
) -> None:
    client = make(model="no-such-model")
    async with using(client):
        # The 422 names the model and what the server has instead (the default among them).
        match = r"no-such-model not found; available models: _lorem,.*OA_SFT_Llama_30B_6,"
        with pytest.raises(UnprocessableEntityError, match=match):
            await call(client.complete([{"role": "user", "content": "x"}]))
    assert server.chats_alive() == 0


async def test_a_finished_message_streams_from_the_final_message(
    make: Any, server: LocalServer
) -> None:
    client = make()
    async with using(client), using(client.chat()) as chat:
        stream = chat.stream("already done")
        async with using(stream):
            # Let the worker finish before the events request: the server answers 204.
            assert wait_for(lambda: server.messages_by_state().get("complete", 0) > 0)
            assert "".join(await collect(stream)) == "already done"
    await close(client)
