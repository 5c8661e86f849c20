"""The seed's provider, replaced by ours: same calls, same results, its mistakes fixed."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any

import httpx
import pytest

from openassistant_sdk import (
    APIConnectionError,
    BadRequestError,
    GenerationError,
    MissingCredentialsError,
    OpenAssistantError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    UnprocessableEntityError,
    compat,
)
from openassistant_sdk._cookies import find_session
from openassistant_sdk.compat import SEED_SAMPLING, OpenAssistant, ProviderError
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault

MESSAGES = [{"role": "user", "content": "Hello from the seed"}]
COOKIES = {"next-auth.session-token": "local-session"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(token_delay=0.002, rate_limit=None) as running:
        yield running


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENASSISTANT_BASE_URL",
        "OPENASSISTANT_SESSION_TOKEN",
        "OPENASSISTANT_COOKIES_FILE",
        "OPENASSISTANT_API",
        "OPENASSISTANT_TOKEN",
        "OPENASSISTANT_DEBUG_USER",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_seed_class_attributes() -> None:
    assert OpenAssistant.url == "https://open-assistant.io/chat"
    assert OpenAssistant.needs_auth is True
    assert OpenAssistant.working is True
    assert OpenAssistant.model == "OA_SFT_Llama_30B_6"


def test_the_async_generator_streams_and_deletes_its_chat(server: LocalServer) -> None:
    async def run() -> list[str]:
        parts = []
        async for text in OpenAssistant.create_async_generator(
            model="echo",
            messages=MESSAGES,
            cookies=COOKIES,
            base_url=server.url,
            max_new_tokens=500,
            stream=True,
        ):
            parts.append(text)
        return parts

    parts = asyncio.run(run())
    assert "".join(parts) == "Hello from the seed"
    assert server.chats_alive() == 0


def test_create_completion_and_create_async(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENASSISTANT_BASE_URL", server.url)  # the target, moved by the environment
    streamed = list(OpenAssistant.create_completion("echo", MESSAGES, stream=True, cookies=COOKIES))
    assert "".join(streamed) == "Hello from the seed"
    whole = list(OpenAssistant.create_completion("echo", MESSAGES, stream=False, cookies=COOKIES))
    assert whole == ["Hello from the seed"]
    assert (
        asyncio.run(OpenAssistant.create_async("echo", MESSAGES, cookies=COOKIES))
        == "Hello from the seed"
    )
    assert server.chats_alive() == 0


def test_an_in_stream_error_raises_runtime_error_instead_of_a_short_reply(
    server: LocalServer,
) -> None:
    server.add_fault(Fault(action="worker_error", op="assistant_message", after_events=2))
    with pytest.raises(RuntimeError, match="Aborted due to worker error") as info:
        list(
            OpenAssistant.create_completion(
                "_lorem", MESSAGES, cookies=COOKIES, base_url=server.url
            )
        )
    assert isinstance(info.value, GenerationError)
    assert server.chats_alive() == 0


def test_seed_defaults_are_kept_and_only_sampling_keywords_are_sent() -> None:
    options = OpenAssistant._setup(
        "", COOKIES, {"stream": True, "temperature": 0.9, "foo": 1, "base_url": "http://x.test"}
    )
    assert options["model"] == "OA_SFT_Llama_30B_6"
    assert options["base_url"] == "http://x.test"
    assert options["sampling"] == SEED_SAMPLING.replace(temperature=0.9)
    assert options["sampling"].to_json() == {
        "top_k": 50, "top_p": None, "typical_p": None, "temperature": 0.9,
        "repetition_penalty": 1.1111111111111112, "max_new_tokens": 1024,
    }  # fmt: skip
    with pytest.raises(ValueError, match="temperature"):
        OpenAssistant._setup("", COOKIES, {"temperature": -1})


def test_the_reply_prompt_has_no_llama_wrapper(server: LocalServer) -> None:
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]
    text = asyncio.run(
        OpenAssistant.create_async(
            "echo", messages, cookies=COOKIES, base_url=server.url, max_new_tokens=50
        )
    )
    assert text == "System: Be brief\nUser: Hi\nAssistant:"


# -- finding a session ------------------------------------------------------------------------


def _cookie(name: str, value: str, domain: str) -> Cookie:
    return Cookie(
        0,
        name,
        value,
        None,
        False,
        domain,
        True,
        domain.startswith("."),
        "/",
        True,
        True,
        None,
        False,
        None,
        None,
        {},
    )


def test_the_environment_comes_first(tmp_path: Path) -> None:
    found = find_session(
        "open-assistant.io", env={"OPENASSISTANT_SESSION_TOKEN": "tok"}, browsers=False
    )
    assert found.session_token == "tok"
    assert "OPENASSISTANT_SESSION_TOKEN" in found.source
    assert "tok" not in repr(found)


def test_a_netscape_cookies_file(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        ".open-assistant.io\tTRUE\t/\tTRUE\t4102444800\t__Secure-next-auth.session-token\tsecret\n"
        ".example.com\tTRUE\t/\tTRUE\t4102444800\t__Secure-next-auth.session-token\tother\n"
    )
    found = find_session("open-assistant.io", cookies_file=str(path), env={}, browsers=False)
    assert found.cookies == {"__Secure-next-auth.session-token": "secret"}
    assert str(path) in found.source


def test_browsers_through_browser_cookie3(tmp_path: Path) -> None:
    class FakeBrowsers:
        def chrome(self, domain_name: str) -> CookieJar:
            raise PermissionError("locked")

        def firefox(self, domain_name: str) -> CookieJar:
            jar = CookieJar()
            jar.set_cookie(_cookie("next-auth.session-token.0", "part0", ".open-assistant.io"))
            jar.set_cookie(_cookie("next-auth.session-token.1", "part1", ".open-assistant.io"))
            jar.set_cookie(_cookie("unrelated", "x", ".open-assistant.io"))
            return jar

    found = find_session("open-assistant.io", env={}, browser_loader=FakeBrowsers())
    assert found.cookies == {
        "next-auth.session-token.0": "part0",
        "next-auth.session-token.1": "part1",
    }
    assert found.source == "the firefox browser"


def test_no_session_anywhere_is_a_clear_authentication_error(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentialsError, match="OPENASSISTANT_SESSION_TOKEN") as info:
        find_session("open-assistant.io", env={}, browser_loader=object())
    assert isinstance(info.value, OpenAssistantError)
    with pytest.raises(MissingCredentialsError, match="cannot read"):
        find_session(
            "open-assistant.io", cookies_file=str(tmp_path / "missing.txt"), env={}, browsers=False
        )


def test_the_shim_looks_the_session_up_when_no_cookies_are_given(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENASSISTANT_SESSION_TOKEN", "from-env")
    parts: list[Any] = list(OpenAssistant.create_completion("echo", MESSAGES, base_url=server.url))
    assert "".join(parts) == "Hello from the seed"


# -- the inference API ------------------------------------------------------------------------

_SAMPLING_FIELDS = {"top_k", "top_p", "typical_p", "temperature", "repetition_penalty"}


@pytest.mark.parametrize(
    ("keywords", "env", "api"),
    [
        ({}, {}, "website"),
        ({"api": "inference"}, {}, "inference"),
        ({"api": "inference", "token": "tok"}, {}, "inference"),
        ({"token": "tok"}, {}, "inference"),
        ({"debug_user": "bob"}, {}, "inference"),
        ({}, {"OPENASSISTANT_API": "inference"}, "inference"),
        ({}, {"OPENASSISTANT_TOKEN": "tok"}, "inference"),
        ({}, {"OPENASSISTANT_DEBUG_USER": "bob"}, "inference"),
        ({}, {"OPENASSISTANT_API": "website", "OPENASSISTANT_TOKEN": "tok"}, "website"),
        ({"api": "website"}, {"OPENASSISTANT_TOKEN": "tok"}, "website"),
        ({"debug_user": "bob"}, {"OPENASSISTANT_API": "website"}, "inference"),
    ],
)
def test_the_api_is_resolved_as_the_clients_resolve_it(
    keywords: dict[str, str],
    env: dict[str, str],
    api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    options = OpenAssistant._setup("", COOKIES, {**keywords, "temperature": 0.5})
    assert options["api"] == api
    for name in ("token", "debug_user"):
        assert options.get(name) == keywords.get(name)
    # The seed's cookies go to the website only; nothing of these reaches the sampling.
    assert ("cookies" in options) == (api == "website")
    assert set(options["sampling"].to_json()) == _SAMPLING_FIELDS | {"max_new_tokens"}
    assert options["sampling"] == SEED_SAMPLING.replace(temperature=0.5)


def test_the_inference_api_never_looks_for_a_website_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("find_session called for the inference API")

    monkeypatch.setattr(compat, "find_session", no_lookup)
    options = OpenAssistant._setup("", None, {"api": "inference", "base_url": "http://x.test"})
    assert options["api"] == "inference"
    assert "cookies" not in options
    assert "session_token" not in options
    monkeypatch.setenv("OPENASSISTANT_TOKEN", "tok")
    assert OpenAssistant._setup("", None, {})["api"] == "inference"


def test_a_website_token_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="website API"):
        OpenAssistant._setup("", COOKIES, {"api": "website", "token": "tok"})
    with pytest.raises(ValueError, match="api must be"):
        OpenAssistant._setup("", COOKIES, {"api": "ftp"})


def test_the_shim_talks_to_an_inference_server_with_a_token(server: LocalServer) -> None:
    paths: list[str] = []

    def record(request: httpx.Request) -> None:
        paths.append(request.url.path)

    parts = list(
        OpenAssistant.create_completion(
            "echo",
            MESSAGES,
            base_url=server.url,
            api="inference",
            token=server.debug_token("alice"),
            event_hooks={"request": [record]},
        )
    )
    assert "".join(parts) == "Hello from the seed"
    assert paths
    assert all(path.startswith("/chats") for path in paths)
    assert server.chats_alive() == 0


def test_the_shim_reaches_an_inference_server_from_the_environment(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The seed's code unchanged; only the environment moved it to a self-hosted server.
    monkeypatch.setenv("OPENASSISTANT_BASE_URL", server.url)
    monkeypatch.setenv("OPENASSISTANT_TOKEN", server.debug_token("carol"))
    assert asyncio.run(OpenAssistant.create_async("echo", MESSAGES)) == "Hello from the seed"
    monkeypatch.delenv("OPENASSISTANT_TOKEN")
    monkeypatch.setenv("OPENASSISTANT_DEBUG_USER", "dave")
    assert list(OpenAssistant.create_completion("echo", MESSAGES, stream=False)) == [
        "Hello from the seed"
    ]
    # The API named in the environment: the seed's cookies are not sent there.
    monkeypatch.delenv("OPENASSISTANT_DEBUG_USER")
    monkeypatch.setenv("OPENASSISTANT_API", "inference")
    text = asyncio.run(
        OpenAssistant.create_async("echo", MESSAGES, cookies=COOKIES, debug_user="erin")
    )
    assert text == "Hello from the seed"
    assert server.chats_alive() == 0


# -- client options passed through ------------------------------------------------------------


def test_client_options_are_passed_through_and_never_sampled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks: dict[str, list[Any]] = {"request": []}
    retry = RetryPolicy(max_retries=5)
    given: dict[str, Any] = {
        "trust_env": False, "http2": True, "verify": False, "headers": {"X-App": "seed"},
        "event_hooks": hooks, "user_agent": "seed-app/1", "retry": retry,
        "stall_timeout": None, "stream_timeout": 30.0, "timeout": 5.0,
    }  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="openassistant_sdk"):
        options = OpenAssistant._setup("", COOKIES, {**given, "stream": True, "foo": 1})
    ignored = [r.getMessage() for r in caplog.records if "ignoring keyword" in r.getMessage()]
    assert ignored == ["ignoring keyword 'foo': it is not a sampling parameter"]
    for name, value in given.items():
        assert options[name] is value or options[name] == value
    assert "stream" not in options
    assert "foo" not in options
    assert options["sampling"] == SEED_SAMPLING
    assert OpenAssistant._setup("", COOKIES, {"max_retries": 0})["max_retries"] == 0
    # The seed's callers pass timeout=None for "no particular timeout": the default.
    defaults = OpenAssistant._setup("", COOKIES, {"timeout": None, "max_retries": None})
    assert "timeout" not in defaults
    assert "max_retries" not in defaults


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_trust_env_false_turns_environment_proxies_off(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    call: dict[str, Any] = {"cookies": COOKIES, "base_url": server.url, "max_retries": 0}
    with pytest.raises(APIConnectionError):  # the environment's proxy, which is not there
        list(OpenAssistant.create_completion("echo", MESSAGES, **call))
    parts = list(OpenAssistant.create_completion("echo", MESSAGES, trust_env=False, **call))
    assert "".join(parts) == "Hello from the seed"
    text = asyncio.run(OpenAssistant.create_async("echo", MESSAGES, trust_env=False, **call))
    assert text == "Hello from the seed"


def test_headers_user_agent_and_event_hooks_reach_the_client(server: LocalServer) -> None:
    seen: list[httpx.Headers] = []

    def record(request: httpx.Request) -> None:
        seen.append(request.headers)

    async def arecord(request: httpx.Request) -> None:
        seen.append(request.headers)

    call: dict[str, Any] = {
        "cookies": COOKIES, "base_url": server.url,
        "headers": {"X-App": "seed"}, "user_agent": "seed-app/1",
    }  # fmt: skip
    list(
        OpenAssistant.create_completion("echo", MESSAGES, event_hooks={"request": [record]}, **call)
    )
    sync_seen = len(seen)
    asyncio.run(
        OpenAssistant.create_async("echo", MESSAGES, event_hooks={"request": [arecord]}, **call)
    )
    assert 0 < sync_seen < len(seen)
    for headers in seen:
        assert headers["x-app"] == "seed"
        assert headers["user-agent"] == "seed-app/1"


@pytest.mark.parametrize("retries", [{"max_retries": 0}, {"retry": RetryPolicy(max_retries=0)}])
def test_retry_options_reach_the_client(server: LocalServer, retries: dict[str, Any]) -> None:
    server.add_fault(Fault(action="respond", op="create_chat", status=503))
    with pytest.raises(ServiceUnavailableError) as info:  # not retried, and not a ProviderError
        list(
            OpenAssistant.create_completion(
                "echo", MESSAGES, cookies=COOKIES, base_url=server.url, **retries
            )
        )
    assert not isinstance(info.value, RuntimeError)
    server.add_fault(Fault(action="respond", op="create_chat", status=503))
    parts = list(
        OpenAssistant.create_completion("echo", MESSAGES, cookies=COOKIES, base_url=server.url)
    )
    assert "".join(parts) == "Hello from the seed"  # retried by default


@pytest.mark.parametrize("option", ["stall_timeout", "stream_timeout"])
def test_reply_timeouts_reach_the_client(server: LocalServer, option: str) -> None:
    # The events stall after one token: the reply's time limit ends the wait, then the client
    # recovers the finished message. With the default limits it would wait for minutes.
    server.add_fault(Fault(action="stream_stall", op="events", after_events=1))

    limit: dict[str, Any] = {option: 0.3}

    async def run() -> str:
        call = OpenAssistant.create_async(
            "echo", MESSAGES, cookies=COOKIES, base_url=server.url, **limit
        )
        return await asyncio.wait_for(call, timeout=5)

    try:
        assert asyncio.run(run()) == "Hello from the seed"
    finally:
        server.clear_faults()
    assert server.chats_alive() == 0


# -- the seed's RuntimeError for a failed assistant_message -----------------------------------


def test_a_failed_assistant_message_is_the_seeds_runtime_error(server: LocalServer) -> None:
    body = '{"message": "Model config not found"}'
    server.add_fault(
        Fault(action="respond", op="assistant_message", api="website", status=422, body=body)
    )
    with pytest.raises(RuntimeError) as info:
        list(
            OpenAssistant.create_completion("echo", MESSAGES, cookies=COOKIES, base_url=server.url)
        )
    err = info.value
    assert isinstance(err, ProviderError)
    assert isinstance(err, OpenAssistantError)
    assert str(err) == err.message == "Model config not found"  # the seed's RuntimeError(message)
    assert err.status_code == 422
    assert err.body == {"message": "Model config not found"}
    assert isinstance(err.__cause__, UnprocessableEntityError)
    assert err.__cause__.path == "/api/chat/assistant_message"
    assert server.chats_alive() == 0


def test_an_unknown_model_on_the_inference_server_raises_provider_error(
    server: LocalServer,
) -> None:
    async def run() -> str:
        return await OpenAssistant.create_async(
            "no-such-model", MESSAGES, base_url=server.url, debug_user="frank"
        )

    with pytest.raises(
        ProviderError, match=r"^Model no-such-model not found; available models: _lorem,.*,echo$"
    ) as info:
        asyncio.run(run())
    assert info.value.status_code == 422
    assert isinstance(info.value.__cause__, UnprocessableEntityError)
    assert info.value.__cause__.path.endswith("/assistant_message")
    assert server.chats_alive() == 0


def test_a_rate_limited_assistant_message_keeps_its_typed_cause(server: LocalServer) -> None:
    server.add_fault(
        Fault(
            action="respond", op="assistant_message", status=429,
            headers={"Retry-After": "7"}, body='{"detail": "Too many requests"}',
        )
    )  # fmt: skip
    with pytest.raises(ProviderError, match=r"^Too many requests$") as info:
        asyncio.run(
            OpenAssistant.create_async(
                "echo", MESSAGES, cookies=COOKIES, base_url=server.url, max_retries=0
            )
        )
    cause = info.value.__cause__
    assert isinstance(cause, RateLimitError)
    assert cause.retry_after == 7
    assert info.value.status_code == 429


def test_a_failed_assistant_message_without_a_message_keeps_the_sdks_text(
    server: LocalServer,
) -> None:
    server.add_fault(Fault(action="respond", op="assistant_message", status=400, body=""))
    with pytest.raises(ProviderError) as info:
        list(
            OpenAssistant.create_completion(
                "echo", MESSAGES, stream=False, cookies=COOKIES, base_url=server.url
            )
        )
    cause = info.value.__cause__
    assert isinstance(cause, BadRequestError)
    assert str(info.value) == cause.message == "POST /api/chat/assistant_message answered 400"


def test_other_failed_requests_keep_their_sdk_error(server: LocalServer) -> None:
    body = '{"message": "too long"}'
    server.add_fault(Fault(action="respond", op="prompter_message", status=422, body=body))
    with pytest.raises(UnprocessableEntityError) as info:
        list(
            OpenAssistant.create_completion("echo", MESSAGES, cookies=COOKIES, base_url=server.url)
        )
    assert not isinstance(info.value, RuntimeError)
    # and a ProviderError only for the assistant_message of this call
    server.add_fault(Fault(action="respond", op="assistant_message", status=422, body=body))
    with pytest.raises(ProviderError, match=r"^too long$"):
        list(
            OpenAssistant.create_completion("echo", MESSAGES, cookies=COOKIES, base_url=server.url)
        )
    assert server.chats_alive() == 0
