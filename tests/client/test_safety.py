"""What a client never does, whatever it is given: follow a redirect with its credentials,
or show a secret in an error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openassistant_sdk import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    Client,
    GenerationError,
    InvalidResponseError,
    NotFoundError,
    OpenAssistantError,
    TrustedClient,
)
from tests.helpers import collect, using

from .fake import EventsScript, FakeOA, sse

TRUSTED = TrustedClient(api_key="key-do-not-leak", user_id="u1")


def redirecting(seen: list[httpx.Request]) -> httpx.MockTransport:
    """``a.test`` redirects every request to ``b.test``, which records what reaches it."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "a.test":
            return httpx.Response(307, headers={"location": "http://b.test" + request.url.path})
        return httpx.Response(200, json={"chats": [], "next": None, "prev": None})

    return httpx.MockTransport(handle)


def test_credentials_never_follow_a_redirect_even_when_the_http_client_would() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=redirecting(seen), follow_redirects=True)
    client = Client(base_url="http://a.test", trusted_client=TRUSTED, http_client=http, env={})
    with pytest.raises(InvalidResponseError, match="answered 307"):
        client.list_chats()
    assert [r.url.host for r in seen] == ["a.test"]
    assert "TrustedClient" in seen[0].headers


@pytest.mark.anyio
async def test_the_async_client_never_follows_one_either() -> None:
    seen: list[httpx.Request] = []
    http = httpx.AsyncClient(transport=redirecting(seen), follow_redirects=True)
    client = AsyncClient(base_url="http://a.test", token="bearer-secret", http_client=http, env={})
    with pytest.raises(InvalidResponseError):
        await client.list_chats()
    assert [r.url.host for r in seen] == ["a.test"]
    await http.aclose()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, b'{"detail": "token bearer-secret-123 expired"}'),
        (200, b"not json, but bearer-secret-123"),
    ],
)
def test_no_error_shows_a_secret(status: int, body: bytes) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    client = Client(base_url="http://a.test", token="bearer-secret-123", http_client=http, env={})
    with pytest.raises((AuthenticationError, InvalidResponseError)) as raised:
        client.get_chat("c1")
    error = raised.value
    assert isinstance(error, OpenAssistantError)
    texts = [str(error), repr(error), repr(getattr(error, "body", None)), repr(error.args)]
    assert not [text for text in texts if "bearer-secret-123" in text]


@pytest.mark.anyio
async def test_an_in_stream_error_that_quotes_a_secret_is_scrubbed(make: Any, fake: FakeOA) -> None:
    error = {"event_type": "error", "error": "the worker saw secret-token", "message": None}
    fake.events.append(EventsScript(body=sse(error)))
    client = make(debug_user=None, token="secret-token")
    with pytest.raises(GenerationError) as raised:
        async with using(client.chat()) as chat:
            await collect(chat.stream("Hi"))
    assert "secret-token" not in str(raised.value)
    assert raised.value.error == "the worker saw ***"


@pytest.mark.anyio
async def test_a_chat_used_without_with_says_how_to_use_it(make: Any, fake: FakeOA) -> None:
    context = make().chat()
    with pytest.raises(
        AttributeError, match=r"has no attribute 'stream'.*client\.chat\(\) makes the chat"
    ):
        context.stream("Hi")
    with pytest.raises(AttributeError, match="create_chat"):
        context.send("Hi")
    assert not hasattr(context, "no_such_thing")
    assert fake.ops() == []  # nothing was sent


def test_nothing_listening_names_the_url_and_the_local_server() -> None:
    import socket

    with socket.socket() as sock:  # a free port, closed again: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(base_url=f"http://127.0.0.1:{port}", token="t", env={}, max_retries=0)
    with pytest.raises(APIConnectionError) as raised:
        client.list_chats()
    assert f"nothing answers at http://127.0.0.1:{port}" in str(raised.value)
    assert "openassistant serve" in str(raised.value)
    client.close()


@pytest.mark.parametrize(
    ("api", "credentials", "assumed"),
    [
        ("inference", {"token": "t"}, "inference API"),
        ("website", {"session_token": "s"}, "website API"),
    ],
)
def test_a_server_without_the_routes_says_which_api_was_assumed(
    api: str, credentials: dict[str, str], assumed: str
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    http = httpx.Client(transport=httpx.MockTransport(handle))
    client = Client(base_url="http://a.test", api=api, http_client=http, env={}, **credentials)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match=f"is base_url an Open Assistant .*{assumed}"):
        client.list_chats()
