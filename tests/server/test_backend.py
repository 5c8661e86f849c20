"""The backend bridge against an OpenAI-compatible fake: listing, generation, failures.

Every test runs the local server with `backend=` pointing at `tests.openai_fake.FakeBackend`
on 127.0.0.1 and talks to it with the SDK's own clients (or raw HTTP where the test needs
to see the protocol's bytes).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openassistant_sdk import (
    AsyncClient,
    Client,
    GenerationError,
    UnprocessableEntityError,
    compat,
)
from openassistant_sdk._events import MessageEvent, PendingEvent, TokenEvent
from openassistant_sdk.testing import LocalServer
from openassistant_server import ServerConfig
from tests.openai_fake import FakeBackend

from .helpers import Api

FAST: dict[str, Any] = {"pending_interval": 0.05, "rate_limit": None}
KEY = "sk-local-secret-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeBackend]:
    with FakeBackend() as backend:
        yield backend


@pytest.fixture
def bridge(fake: FakeBackend) -> Iterator[Callable[..., LocalServer]]:
    """Start local servers in front of the fake; stopped after the test."""
    started: list[LocalServer] = []

    def make(**config: Any) -> LocalServer:
        local = LocalServer(**{**FAST, "backend": fake.url, **config}).start()
        started.append(local)
        return local

    yield make
    for local in started:
        local.stop()


def client_of(server: LocalServer, user: str = "me", **kwargs: Any) -> Client:
    return Client(base_url=server.url, api="inference", debug_user=user, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- model configs ---------------------------------------------------------------------------


def test_the_backend_models_and_aliases_are_model_configs(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    server = bridge(aliases={"OA_SFT_Llama_30B_7": "other-model", "my-name": "tiny-chat"})
    with client_of(server) as client:
        configs = {c.name: c for c in client.models()}
        lorem_presets = configs["_lorem"].presets
    assert list(configs) == [
        "_lorem",
        "OA_SFT_Llama_30B_6",
        "OA_SFT_Llama_30B_7",
        "echo",
        "my-name",
        "tiny-chat",
        "other-model",
    ]
    assert configs["OA_SFT_Llama_30B_6"].description == f"served by tiny-chat at {fake.url}"
    assert configs["OA_SFT_Llama_30B_7"].description == f"served by other-model at {fake.url}"
    assert configs["other-model"].description == f"served by other-model at {fake.url}"
    assert (configs["_lorem"].description, configs["echo"].description) == ("", "")
    assert all(c.presets == lorem_presets for c in configs.values())
    assert len(lorem_presets) == 8


def test_an_alias_for_the_default_model_and_a_model_the_backend_gets_later(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    server = bridge(aliases={"OA_SFT_Llama_30B_6": "other-model"})
    fake.models.append("pulled-later")
    with client_of(server) as client:
        assert client.complete([{"role": "user", "content": "hi"}]) == "You said: hi"
        assert fake.requests[-1]["model"] == "other-model"
        text = client.complete([{"role": "user", "content": "new"}], model="pulled-later")
        assert text == "You said: new"
        unknown = client.create_chat()
        try:
            with pytest.raises(UnprocessableEntityError, match=r"available models: .*pulled-later"):
                unknown.send("x", model="nope")
        finally:
            unknown.delete()


# -- generation --------------------------------------------------------------------------------


def test_a_chat_sends_its_thread_and_sampling_and_streams_the_deltas(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.02  # the stream opens before the reply ends (no 204)
    server = bridge()
    with client_of(server) as client, client.chat() as chat:
        events = list(
            chat.events(
                "Hello  there",
                system_prompt="Be brief.",
                temperature=0.5,
                top_k=40,
                top_p=0.9,
                typical_p=0.3,
                repetition_penalty=1.1,
                max_new_tokens=50,
            )
        )
        second = chat.send("And again?")
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert tokens == ["You", " said:", " Hello", "  there"]  # one event per delta
    final = events[-1]
    assert isinstance(final, MessageEvent)
    assert final.message.content == "".join(tokens) == "You said: Hello  there"
    assert final.message.state == "complete"
    assert second.content == "You said: And again?"
    first, again = fake.requests
    seed = first.pop("seed")
    assert isinstance(seed, int)
    assert 0 <= seed < 2**31
    assert first == {
        "model": "tiny-chat",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello  there"},
        ],
        "stream": True,
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 50,
        "top_k": 40,
        "typical_p": 0.3,
        "repetition_penalty": 1.1,
        "repeat_penalty": 1.1,
    }
    assert again["messages"] == [
        {"role": "user", "content": "Hello  there"},
        {"role": "assistant", "content": "You said: Hello  there"},
        {"role": "user", "content": "And again?"},
    ]
    assert fake.authorizations == [None] * len(fake.authorizations)  # no key, no header


def test_max_new_tokens_cuts_the_reply(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    server = bridge()
    with client_of(server) as client:
        text = client.complete([{"role": "user", "content": "a b c d e"}], max_new_tokens=3)
    assert text == "You said: a"
    assert fake.requests[-1]["max_tokens"] == 3


def test_the_async_client_streams_a_backend_reply(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    server = bridge(aliases={"OA_SFT_Llama_30B_6": "other-model"})

    async def run() -> list[str]:
        client = AsyncClient(base_url=server.url, api="inference", debug_user="a")
        async with client, client.chat() as chat:
            return [text async for text in chat.stream("from async")]

    assert "".join(asyncio.run(run())) == "You said: from async"
    assert fake.requests[-1]["model"] == "other-model"


def test_the_website_api_and_the_seeds_provider_stream_a_backend_reply(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.02  # the stream opens before the reply ends (no 204)
    server = bridge()
    with Client(base_url=server.url, api="website", session_token="web") as client:
        parts = list(client.stream([{"role": "user", "content": "via the website"}]))
    assert "".join(parts) == "You said: via the website"
    assert parts == ["You", " said:", " via", " the", " website"]
    seed_messages = [{"role": "user", "content": "Hello from the seed"}]
    streamed = compat.OpenAssistant.create_completion(
        "OA_SFT_Llama_30B_6",
        seed_messages,
        stream=True,
        cookies={"next-auth.session-token": "seed"},
        base_url=server.url,
    )
    assert "".join(streamed) == "You said: Hello from the seed"
    assert server.chats_alive() == 0


def test_pending_events_show_real_queue_positions_while_workers_generate(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.01
    fake.reply = ["x"] * 20
    server = bridge(workers=1)

    async def one(user: str, model: str) -> tuple[list[int], str]:
        async with AsyncClient(base_url=server.url, api="inference", debug_user=user) as client:
            positions, content = [], ""
            async for event in client.events([{"role": "user", "content": user}], model=model):
                if isinstance(event, PendingEvent):
                    positions.append(event.queue_position)
                elif isinstance(event, MessageEvent):
                    content = event.message.content or ""
            return positions, content

    async def run() -> list[tuple[list[int], str]]:
        # Three model configs, one backend: they share its queue and its workers.
        models = ("OA_SFT_Llama_30B_6", "tiny-chat", "other-model")
        return list(await asyncio.gather(*(one(f"q-{i}", m) for i, m in enumerate(models))))

    results = asyncio.run(run())
    assert [content for _, content in results] == ["x" * 20] * 3
    seen = sorted(max(positions, default=0) for positions, _ in results)
    assert seen[-1] == 2  # the last one waited behind two others
    assert all(p == sorted(p, reverse=True) for p, _ in results)  # positions only go down
    assert fake.max_active == 1  # one worker: one backend request at a time


def test_workers_run_that_many_backend_requests_at_once(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.01
    fake.reply = ["y"] * 15
    server = bridge(workers=2)

    async def run() -> list[str]:
        async def one(user: str) -> str:
            async with AsyncClient(base_url=server.url, api="inference", debug_user=user) as c:
                return await c.complete([{"role": "user", "content": "go"}])

        return list(await asyncio.gather(*(one(f"pair-{i}") for i in range(4))))

    assert asyncio.run(run()) == ["y" * 15] * 4
    assert fake.max_active == 2


# -- failures ----------------------------------------------------------------------------------


def _failure(server: LocalServer) -> tuple[list[str], GenerationError]:
    """Stream a reply that fails: return its tokens and the error `stream()` raises."""
    tokens: list[str] = []
    client = client_of(server, stall_timeout=10)
    with client, client.chat() as chat, pytest.raises(GenerationError) as info:
        tokens.extend(chat.stream("tell me"))
    return tokens, info.value


@pytest.mark.parametrize(
    ("mode", "config", "tokens", "says"),
    [
        (
            "status",
            {},
            0,
            r"the backend at .* failed \(HTTP 500: The fake backend is overloaded.\)",
        ),
        ("drop", {}, 2, r"the backend's stream broke off after 2 tokens \(RemoteProtocolError"),
        ("midstream_error", {}, 2, r"the backend failed mid-stream: CUDA out of memory"),
        ("no_done", {}, 4, r"the backend's stream ended after 4 tokens without finishing"),
        ("stall", {"backend_timeout": 0.5}, 2, r"the backend at .* sent nothing for 0.5 s"),
    ],
)
def test_a_backend_failure_ends_the_reply_as_a_failed_worker(
    fake: FakeBackend,
    bridge: Callable[..., LocalServer],
    mode: str,
    config: dict[str, Any],
    tokens: int,
    says: str,
) -> None:
    fake.mode = mode
    server = bridge(**config)
    seen, error = _failure(server)
    assert len(seen) == tokens
    assert error.chat_message is not None
    assert error.chat_message.state == "aborted_by_worker"
    assert re.fullmatch(says + ".*", error.error), error.error


def test_a_stream_that_breaks_after_its_finish_chunk_is_a_complete_reply(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.mode = "drop_after_finish"
    server = bridge()
    with client_of(server) as client:
        assert client.complete([{"role": "user", "content": "done"}]) == "You said: done"


def test_an_unreachable_backend_fails_the_reply_and_the_server_still_starts(
    make_server: Callable[..., LocalServer], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with caplog.at_level(logging.WARNING, logger="openassistant_server.backend"):
        server = make_server(backend=url)
    assert f"the backend at {url} is unreachable" in caplog.text
    _, error = _failure(server)
    assert error.error.startswith(f"the backend at {url} is unreachable (ConnectError")
    assert error.chat_message is not None
    assert error.chat_message.state == "aborted_by_worker"


def test_a_bad_key_and_a_missing_key_say_so_and_the_key_never_shows(
    make_server: Callable[..., LocalServer],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with FakeBackend(api_key="right-key") as fake, caplog.at_level(logging.DEBUG):
        wrong = make_server(backend=fake.url, backend_api_key=KEY)
        _, error = _failure(wrong)
        assert error.error.startswith(f"the backend at {fake.url} rejected the API key (HTTP 401")
        assert f"Bearer {KEY}" in fake.authorizations
        missing = make_server(backend=fake.url)
        _, error = _failure(missing)
        assert "needs an API key (HTTP 401" in error.error
        assert "--backend-api-key" in error.error
        right = make_server(backend=fake.url, backend_api_key="right-key")
        with client_of(right) as client:
            assert client.complete([{"role": "user", "content": "ok"}]) == "You said: ok"
        shown = [
            repr(wrong.config),
            str(wrong.config),
            repr(wrong._core().backend),
            repr(wrong),
            caplog.text,
        ]
    out, err = capfd.readouterr()
    for text in [*shown, out, err, error.error]:
        assert KEY not in text


def test_an_unknown_backend_model_says_which_ones_it_has(
    fake: FakeBackend, bridge: Callable[..., LocalServer], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="openassistant_server.backend"):
        server = bridge(aliases={"OA_SFT_Llama_30B_6": "no-such-model"})
    assert "alias OA_SFT_Llama_30B_6: the backend" in caplog.text
    _, error = _failure(server)
    assert error.error.startswith(
        f"the backend at {fake.url} has no model 'no-such-model' (HTTP 404: The model "
    )
    assert error.error.endswith("it has: tiny-chat, other-model")


def test_a_url_without_v1_says_so(
    fake: FakeBackend, make_server: Callable[..., LocalServer]
) -> None:
    root = fake.url.removesuffix("/v1")
    server = make_server(backend=root, aliases={"my-name": "tiny-chat"})
    _, error = _failure(server)
    assert error.error.startswith(f"the backend at {root} answered HTTP 404 (Not found: GET ")
    assert error.error.endswith("is the URL the one ending in /v1?")
    client = client_of(server)
    with (
        client,
        client.chat() as chat,
        pytest.raises(GenerationError, match=r"ending in /v1\? \(message state"),
    ):
        chat.send("x", model="my-name")  # a model of its own: the same hint


# -- leaving and deleting ----------------------------------------------------------------------


def test_a_client_that_leaves_lets_the_generation_finish(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.02
    fake.reply = [f"t{i} " for i in range(20)]
    server = bridge()
    api = Api(server)
    try:
        chat_id, reply = api.pending_message("hi", model="OA_SFT_Llama_30B_6")
        with api.client.stream("GET", api.events_url(chat_id, reply["id"])) as response:
            lines = response.iter_lines()
            tokens = [line for line in lines if '"token"' in line][:0]
            for line in lines:
                if '"token"' in line:
                    tokens.append(line)
                if len(tokens) == 2:
                    break  # leave after two tokens
        done = api.wait_state(chat_id, reply["id"], {"complete"})
        assert done["content"] == "".join(fake.reply)
        assert (fake.streams_finished, fake.streams_abandoned) == (1, 0)
    finally:
        api.close()


def test_deleting_the_chat_cancels_the_backend_request(
    fake: FakeBackend, bridge: Callable[..., LocalServer]
) -> None:
    fake.token_interval = 0.05
    fake.reply = ["slow "] * 200  # ten seconds if nobody stops it
    server = bridge()
    api = Api(server)
    try:
        chat_id, _ = api.pending_message("hi", model="OA_SFT_Llama_30B_6")
        wait_until(lambda: fake.active == 1)
        assert api.client.delete(f"/chats/{chat_id}").status_code == 200
        wait_until(lambda: fake.streams_abandoned == 1, timeout=2.0)
        assert (fake.active, fake.streams_finished) == (0, 0)
        assert server.messages_by_state() == {}
    finally:
        api.close()


# -- configuration -----------------------------------------------------------------------------


def test_backend_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="need a backend URL"):
        ServerConfig(aliases={"OA_SFT_Llama_30B_6": "x"})
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        ServerConfig(backend="127.0.0.1:11434/v1")
    config = ServerConfig(backend="http://127.0.0.1:1/v1", backend_api_key=KEY)
    assert KEY not in repr(config)
    assert config.listed_models() == ["_lorem", "OA_SFT_Llama_30B_6", "echo"]
