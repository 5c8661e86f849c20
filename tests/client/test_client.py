"""The chat flow through Client and AsyncClient, one test body each, over the in-memory fake."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from openassistant_sdk import (
    APIConnectionError,
    APIStatusError,
    CleanupWarning,
    ErrorEvent,
    GenerationError,
    InvalidResponseError,
    MessageEvent,
    MissingCredentialsError,
    OpenAssistantError,
    PendingEvent,
    RateLimitError,
    SamplingParameters,
    ServiceUnavailableError,
    StreamError,
    TokenEvent,
    UnprocessableEntityError,
)
from openassistant_sdk._responses import MAX_ERROR_BODY
from tests.helpers import call, close, collect, read_into, using

from .fake import EventsScript, FakeOA, sse

pytestmark = pytest.mark.anyio


async def test_chat_stream_runs_the_flow_and_deletes_the_chat(make: Any, fake: FakeOA) -> None:
    client = make()
    async with using(client.chat()) as chat:
        stream = chat.stream("Hi", temperature=0.5)
        texts = await collect(stream)
        assert texts == fake.tokens
        assert stream.message.content == fake.content
        assert stream.message.state == "complete"
        assert chat.last_message_id == stream.message.id
    assert fake.ops() == [
        "debug_login",
        "create_chat",
        "prompter_message",
        "assistant_message",
        "events",
        "delete_chat",
    ]
    assert fake.chats == {}
    prompter = fake.bodies("prompter_message")[0]
    assert prompter == {"parent_id": None, "content": "Hi"}
    assistant = fake.bodies("assistant_message")[0]
    assert assistant["model_config_name"] == "OA_SFT_Llama_30B_6"
    assert assistant["sampling_parameters"] == {
        "top_k": 50,
        "top_p": 0.95,
        "typical_p": None,
        "temperature": 0.5,
        "repetition_penalty": 1.2,
        "max_new_tokens": 1024,
    }
    events_request = fake.requests[4]
    assert events_request.headers["accept"] == "text/event-stream"
    assert events_request.headers["authorization"] == "Bearer access-1"
    assert events_request.headers["user-agent"].startswith("openassistant-sdk/")


async def test_headers_replace_the_defaults_once_and_stay_out_of_repr(
    make: Any, fake: FakeOA
) -> None:
    client = make(headers={"user-agent": "mine/1", "X-Api-Key": "header-secret-1"})
    await call(client.create_chat())
    sent = fake.requests[-1].headers
    assert sent.get_list("user-agent") == ["mine/1"]
    assert sent.get_list("accept") == ["application/json"]
    assert sent["x-api-key"] == "header-secret-1"
    assert "header-secret-1" not in repr(client.options)
    assert "X-Api-Key" in repr(client.options)


async def test_multi_turn_threads_parents(make: Any, fake: FakeOA) -> None:
    client = make()
    async with using(client.chat()) as chat:
        first = await call(chat.send("one"))
        await collect(chat.stream("two"))
        prompters = fake.bodies("prompter_message")
        assert prompters[0]["parent_id"] is None
        assert prompters[1]["parent_id"] == first.id
        assistants = fake.bodies("assistant_message")
        assert assistants[1]["parent_id"] != assistants[0]["parent_id"]


async def test_website_api_uses_cookie_and_website_routes(kind: str) -> None:
    fake = FakeOA(api="website")
    from openassistant_sdk import AsyncClient, Client

    from .conftest import FAST_RETRY

    transport = fake.transport()
    if kind == "sync":
        client: Any = Client(
            base_url="http://site.test",
            session_token="sess-secret",
            env={},
            retry=FAST_RETRY,
            http_client=httpx.Client(transport=transport),
        )
    else:
        client = AsyncClient(
            base_url="http://site.test",
            session_token="sess-secret",
            env={},
            retry=FAST_RETRY,
            http_client=httpx.AsyncClient(transport=transport),
        )
    assert client.api == "website"
    async with using(client.chat()) as chat:
        assert "".join(await collect(chat.stream("Hi"))) == fake.content
    paths = [(r.method, r.url.path) for r in fake.requests]
    assert paths == [
        ("POST", "/api/chat"),
        ("POST", "/api/chat/prompter_message"),
        ("POST", "/api/chat/assistant_message"),
        ("GET", "/api/chat/events"),
        ("DELETE", "/api/chat"),
    ]
    assert fake.requests[0].content == b""
    assert all(r.headers["cookie"] == "next-auth.session-token=sess-secret" for r in fake.requests)
    assert fake.chats == {}


@pytest.mark.parametrize("api", ["inference", "website"])
async def test_finished_message_is_fetched(make: Any, fake: FakeOA, api: str) -> None:
    fake.api = api
    fake.events.append(EventsScript(body=b""))  # 204, or an empty 200 through the website (1.2)
    client = make()
    async with using(client.chat()) as chat:
        stream = chat.stream("Hi")
        assert "".join(await collect(stream)) == fake.content
        assert stream.message.content == fake.content
    assert fake.ops().count("get_message") == 1


async def test_dropped_stream_is_recovered_without_losing_text(make: Any, fake: FakeOA) -> None:
    body = fake.stream_body({"id": "x"})
    cut = body.index(b"friend") + 3  # in the middle of an event
    fake.events.append(EventsScript(drop_after=cut))
    fake.events.append(EventsScript(body=b""))
    client = make()
    async with using(client.chat()) as chat:
        stream = chat.stream("Hi")
        texts = await collect(stream)
    assert "".join(texts) == fake.content
    assert texts[:3] == fake.tokens[:3]
    assert stream.message.content == fake.content


async def test_drop_without_recovery_raises(make: Any, fake: FakeOA) -> None:
    fake.events.append(EventsScript(drop_after=60))
    client = make(recover=False)
    with pytest.raises(APIConnectionError):
        async with using(client.chat()) as chat:
            await collect(chat.stream("Hi"))
    # The reply may still be generating: its chat waits (a DELETE now loses another user's
    # next message on the inference server), and goes when the client closes.
    assert len(fake.chats) == 1
    await close(client)
    assert fake.chats == {}


async def test_error_event_raises_from_stream_and_ends_events(make: Any, fake: FakeOA) -> None:
    error = {"event_type": "error", "error": "Aborted due to worker error.", "message": None}
    body = sse({"event_type": "token", "text": "Partial"}) + sse(error)
    fake.events.extend([EventsScript(), EventsScript(body=body), EventsScript(body=body)])
    client = make()
    async with using(client.chat()) as chat:
        await call(chat.send("a first reply that works"))
        with pytest.raises(GenerationError) as info:
            await collect(chat.stream("Hi"))
        assert isinstance(info.value, RuntimeError)
        assert info.value.error == "Aborted due to worker error."
        events = await collect(chat.events("again"))
        assert events == [TokenEvent("Partial"), ErrorEvent("Aborted due to worker error.", None)]


async def test_events_yield_typed_events(make: Any, fake: FakeOA) -> None:
    client = make()
    async with using(client.chat()) as chat:
        events = await collect(chat.events("Hi"))
    assert events[0] == PendingEvent(1, 1)
    assert [e.text for e in events if isinstance(e, TokenEvent)] == fake.tokens
    assert isinstance(events[-1], MessageEvent)


async def test_malformed_event_raises_after_the_good_tokens(make: Any, fake: FakeOA) -> None:
    body = sse({"event_type": "token", "text": "ok"}) + b"data: {not json\r\n\r\n"
    fake.events.append(EventsScript(body=body, chunk=1000))
    client = make()
    got: list[str] = []

    async def read_all() -> None:
        async with using(client.chat()) as chat:
            await read_into(chat.stream("Hi"), got)

    with pytest.raises(StreamError):
        await read_all()
    assert got == ["ok"]
    assert len(fake.chats) == 1  # its reply may still be generating: deleted later
    await close(client)
    assert fake.chats == {}


async def test_malformed_events_can_be_skipped(make: Any, fake: FakeOA) -> None:
    message = {
        "id": "m1",
        "chat_id": "c1",
        "parent_id": "p1",
        "role": "assistant",
        "state": "pending",
        "content": None,
    }
    body = b"data: {not json\r\n\r\n" + fake.stream_body(message)
    fake.events.append(EventsScript(body=body))
    client = make(on_malformed="skip")
    async with using(client.chat()) as chat:
        stream = chat.stream("Hi")
        assert "".join(await collect(stream)) == fake.content
        assert stream.skipped_events == 1


async def test_one_shot_stream_and_complete_delete_their_chats(make: Any, fake: FakeOA) -> None:
    client = make()
    texts = await collect(client.stream([{"role": "user", "content": "Hello"}], max_new_tokens=500))
    assert texts == fake.tokens
    assert fake.chats == {}
    assert fake.bodies("prompter_message")[0]["content"] == "Hello"
    assert fake.bodies("assistant_message")[0]["sampling_parameters"]["max_new_tokens"] == 500
    text = await call(
        client.complete(
            [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]
        )
    )
    assert text == fake.content
    assert fake.bodies("prompter_message")[1]["content"] == "System: Be brief\nUser: Hi\nAssistant:"
    assert fake.chats == {}


async def test_one_shot_closed_early_deletes_its_chat(make: Any, fake: FakeOA) -> None:
    client = make()
    stream = client.stream([{"role": "user", "content": "Hello"}])
    async with using(stream):
        if hasattr(stream, "__anext__"):
            first = await stream.__anext__()
        else:
            first = next(stream)
        assert first == fake.tokens[0]
        assert len(fake.chats) == 1
    # Closed while the reply is generating: no DELETE now (it would lose another user's next
    # message on the inference server); the client's next request deletes it once finished.
    assert len(fake.chats) == 1
    await close(stream)  # idempotent
    await call(client.models())
    assert fake.chats == {}


async def test_invalid_sampling_is_rejected_before_any_request(make: Any, fake: FakeOA) -> None:
    client = make()
    with pytest.raises(ValueError, match="temperature"):
        client.stream([{"role": "user", "content": "x"}], temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        client.stream(
            [{"role": "user", "content": "x"}],
            sampling=SamplingParameters(top_k=5).replace(top_p=2),
        )
    with pytest.raises(ValueError, match="messages"):
        client.stream([])
    assert fake.requests == []


async def test_retryable_statuses_are_retried(make: Any, fake: FakeOA) -> None:
    fake.fail("create_chat", 503, 502)
    fake.fail("assistant_message", 500)
    client = make()
    async with using(client.chat()) as chat:
        await call(chat.send("Hi"))
    assert fake.ops().count("create_chat") == 3
    assert fake.ops().count("assistant_message") == 2


async def test_assistant_message_is_not_resent_after_503(make: Any, fake: FakeOA) -> None:
    fake.fail("assistant_message", 503)
    client = make()
    async with using(client.chat()) as chat:
        with pytest.raises(ServiceUnavailableError) as info:
            await call(chat.send("Hi"))
    assert info.value.retries_taken == 0
    assert fake.ops().count("assistant_message") == 1


async def test_retry_after_longer_than_the_cap_raises_at_once(make: Any, fake: FakeOA) -> None:
    fake.fail(
        "create_chat",
        httpx.Response(429, headers={"Retry-After": "120"}, json={"detail": "slow down"}),
    )
    client = make()
    with pytest.raises(RateLimitError) as info:
        await call(client.create_chat())
    assert info.value.retry_after == 120
    assert fake.ops().count("create_chat") == 1


async def test_connection_errors_are_retried_then_raised(make: Any, fake: FakeOA) -> None:
    fake.fail("create_chat", *(httpx.ConnectError("refused") for _ in range(3)))
    client = make()
    with pytest.raises(APIConnectionError) as info:
        await call(client.create_chat())
    assert info.value.retries_taken == 2
    assert info.value.failure == "connect"
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def _read_error_from(cause: OSError) -> httpx.ReadError:
    err = httpx.ReadError("")
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    "cause", [ConnectionResetError(104, "reset"), BrokenPipeError(32, "Broken pipe")]
)
async def test_a_dropped_pooled_connection_is_retried_even_for_create(
    make: Any, fake: FakeOA, cause: OSError
) -> None:
    # A pooled connection the server had already closed (docs/protocol.md 10.2) fails with a
    # reset or, when the FIN came first, a broken pipe: the request never reached the server.
    fake.fail("create_chat", _read_error_from(cause))
    client = make()
    chat = await call(client.create_chat())
    assert chat.id
    assert fake.ops().count("create_chat") == 2


async def test_a_pooled_connection_closed_before_its_answer_is_retried_even_for_create(
    make: Any, fake: FakeOA
) -> None:
    # The same drop, seen as the server's close rather than a reset (docs/protocol.md 10.2).
    fake.fail(
        "create_chat",
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    )
    client = make()
    assert (await call(client.create_chat())).id
    assert fake.ops().count("create_chat") == 2


async def test_create_is_not_resent_when_it_may_have_reached_the_server(
    make: Any, fake: FakeOA
) -> None:
    fake.fail("create_chat", _read_error_from(TimeoutError("no answer")))
    client = make()
    with pytest.raises(APIConnectionError) as info:
        await call(client.create_chat())
    assert info.value.failure == "read"
    assert fake.ops().count("create_chat") == 1


async def test_read_failure_of_assistant_message_is_not_resent(make: Any, fake: FakeOA) -> None:
    fake.fail("assistant_message", httpx.ReadError("reset"))
    client = make()
    async with using(client.chat()) as chat:
        with pytest.raises(APIConnectionError):
            await call(chat.send("Hi"))
    assert fake.ops().count("assistant_message") == 1


async def test_expired_debug_login_is_renewed_once(make: Any, fake: FakeOA) -> None:
    client = make()
    await call(client.create_chat())
    fake.token_generation += 1  # the server forgets the token: 403/401 from now on
    fake.fail("get_chat", httpx.Response(401, json={"detail": "Token expired"}))
    chat_id = next(iter(fake.chats))
    info = await call(client.get_chat(chat_id))
    assert info.id == chat_id
    assert fake.logins == 2


async def test_status_errors_carry_the_servers_detail(make: Any, fake: FakeOA) -> None:
    fake.fail("assistant_message", httpx.Response(422, json={"detail": "Model nope not found"}))
    client = make()
    async with using(client.chat()) as chat:
        with pytest.raises(UnprocessableEntityError, match="Model nope not found") as info:
            await call(chat.send("Hi", model="nope"))
    assert info.value.status_code == 422
    assert info.value.body == {"detail": "Model nope not found"}


class _EndlessPage(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An error body that never ends, counting what the client read of it."""

    def __init__(self) -> None:
        self.sent = 0

    def __iter__(self) -> Any:
        return self

    def __aiter__(self) -> Any:
        return self

    def __next__(self) -> bytes:
        self.sent += 4096
        return b"x" * 4096

    async def __anext__(self) -> bytes:
        return next(self)


async def test_an_error_body_is_read_only_to_its_limit(make: Any, fake: FakeOA) -> None:
    page = _EndlessPage()
    fake.fail("create_chat", httpx.Response(400, stream=page))
    client = make()
    with pytest.raises(APIStatusError) as info:
        await call(client.create_chat())
    assert page.sent == MAX_ERROR_BODY
    assert info.value.body == "x" * 2000


async def test_non_json_success_body_is_a_typed_error(make: Any, fake: FakeOA) -> None:
    fake.fail("create_chat", httpx.Response(200, text="<html>captive portal</html>"))
    client = make()
    with pytest.raises(InvalidResponseError):
        await call(client.create_chat())


async def test_html_instead_of_an_event_stream_is_a_stream_error(make: Any, fake: FakeOA) -> None:
    fake.events.append(EventsScript(body=b"<html></html>", content_type="text/html"))
    client = make()
    with pytest.raises(StreamError, match="event stream"):
        async with using(client.chat()) as chat:
            await collect(chat.stream("Hi"))


async def test_failed_delete_on_error_warns_and_keeps_the_original_error(
    make: Any, fake: FakeOA
) -> None:
    client = make()
    fake.fail("delete_chat", 400)
    with pytest.warns(CleanupWarning, match="could not delete chat"), pytest.raises(KeyError):
        async with using(client.chat()):
            raise KeyError("original")


async def test_failed_delete_without_error_raises(make: Any, fake: FakeOA) -> None:
    client = make()
    fake.fail("delete_chat", 400)
    with pytest.raises(Exception, match="400"):
        async with using(client.chat()):
            pass


async def test_close_never_closes_a_callers_http_client(kind: str, fake: FakeOA, make: Any) -> None:
    client = make()
    http = client._sender.http
    await close(client)
    assert not http.is_closed
    await close(client)  # idempotent


async def test_secrets_stay_out_of_repr_errors_and_logs(
    make: Any, fake: FakeOA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openassistant_sdk")
    client = make(token="secret-token", debug_user=None)
    fake.fail("get_chat", httpx.ConnectError("refused"), 418)
    with pytest.raises(OpenAssistantError) as info:
        await call(client.get_chat("c1"))
    texts = [repr(client), repr(client._sender.credentials), str(info.value), caplog.text]
    assert not any("secret-token" in t for t in texts)


@pytest.mark.parametrize("api", ["inference", "website"])
async def test_an_error_text_quoting_a_secret_is_scrubbed_everywhere(
    make: Any, fake: FakeOA, caplog: pytest.LogCaptureFixture, api: str
) -> None:
    # httpx quotes what it was given (a bad header value, a proxy URL...): the SDK's error,
    # its causes and its log lines must not pass a token or a session cookie on.
    caplog.set_level(logging.DEBUG, logger="openassistant_sdk")
    fake.api = api
    if api == "inference":
        client, secret = make(token="sk-token-secret", debug_user=None), "sk-token-secret"
    else:
        client, secret = make(session_token="session-secret-value"), "session-secret-value"
    fake.fail("list_chats", *(httpx.ConnectError(f"boom {secret}") for _ in range(3)))
    with pytest.raises(OpenAssistantError) as info:
        await call(client.list_chats())
    chain: list[BaseException] = []
    seen: BaseException | None = info.value
    while seen is not None:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    assert not any(secret in str(e) for e in chain)
    assert secret not in caplog.text
    assert "boom ***" in str(info.value)


async def test_missing_credentials_fail_before_any_request(make: Any, fake: FakeOA) -> None:
    client = make(debug_user=None, api="inference")
    with pytest.raises(MissingCredentialsError) as info:
        await call(client.create_chat())
    # Every way in, for both APIs and offline, and no invented status: nothing answered.
    for way in ("debug_user=", "token=", "trusted_client=", "session_token=", "cookies="):
        assert way in str(info.value)
    assert "openassistant chat --local" in str(info.value)
    assert not isinstance(info.value, APIStatusError)
    assert [model.name for model in await call(client.models())] == []
    assert fake.ops() == ["models"]


async def test_close_closes_the_http_client_it_created(kind: str) -> None:
    from openassistant_sdk import AsyncClient, Client

    client: Any = Client(env={}) if kind == "sync" else AsyncClient(env={})
    http = client._sender.http
    await close(client)
    assert http.is_closed
    with pytest.raises(OpenAssistantError, match="closed"):
        await call(client.models())


async def test_a_chat_whose_first_reply_failed_cannot_continue(make: Any, fake: FakeOA) -> None:
    error = {"event_type": "error", "error": "Timeout", "message": None}
    fake.events.append(EventsScript(body=sse(error)))
    client = make()
    async with using(client.chat()) as chat:
        with pytest.raises(GenerationError):
            await call(chat.send("one"))
        sent = len(fake.requests)
        # The server would answer 400 "Trying to add first message to non-empty chat" (5.2).
        with pytest.raises(OpenAssistantError, match="no complete reply to continue from"):
            chat.stream("two")
        assert len(fake.requests) == sent


async def test_with_options_shares_the_pool_and_replaces_credentials(
    make: Any, fake: FakeOA
) -> None:
    client = make(debug_user="alice", model="m1")
    other = client.with_options(token="secret-token", model="m2")
    assert other._sender.http is client._sender.http
    assert other.options.model == "m2"
    assert other._sender.credentials.debug_user is None  # new credentials replace the old ones
    async with using(other.chat()) as chat:
        await call(chat.send("hi"))
    assert fake.requests[0].headers["authorization"] == "Bearer secret-token"
    assert fake.bodies("assistant_message")[0]["model_config_name"] == "m2"
    await close(other)
    assert not client._sender.http.is_closed  # the copy does not close the shared pool
