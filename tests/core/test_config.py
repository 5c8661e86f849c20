"""Client options from arguments and the environment (docs/configuration.md).

Every test passes ``env=`` explicitly: the real environment is never read.
"""

from __future__ import annotations

from typing import Any

import pytest

from openassistant_sdk import (
    DEFAULT_MODEL,
    NOT_GIVEN,
    NotGiven,
    RetryPolicy,
    SamplingParameters,
    TrustedClient,
)
from openassistant_sdk._config import ClientOptions, given, resolve

SECURE = "__Secure-next-auth.session-token"


def options(env: dict[str, str] | None = None, **kwargs: Any) -> ClientOptions:
    return resolve(env=env or {}, **kwargs)[0]


def headers(env: dict[str, str] | None = None, **kwargs: Any) -> dict[str, str]:
    return dict(resolve(env=env or {}, **kwargs)[1].headers())


# --- defaults ---------------------------------------------------------------------------------


def test_defaults() -> None:
    opts = options()
    assert opts.base_url == "https://open-assistant.io"
    assert (opts.api, opts.scheme, opts.host) == ("website", "https", "open-assistant.io")
    assert opts.model == DEFAULT_MODEL == "OA_SFT_Llama_30B_6"
    assert opts.sampling == SamplingParameters.preset("k50")
    assert opts.retry == RetryPolicy()
    assert opts.retry.max_retries == 2
    assert opts.timeout is NOT_GIVEN
    assert opts.stall_timeout == 120.0
    assert opts.stream_timeout is None
    assert opts.on_malformed == "raise"
    assert opts.user_agent.startswith("openassistant-sdk/")
    assert opts.headers == ()


def test_no_credentials_anywhere() -> None:
    opts, credentials = resolve(env={})
    assert not credentials.has_any
    assert opts.api == "website"


# --- base_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://open-assistant.io", "https://open-assistant.io"),
        ("https://open-assistant.io/", "https://open-assistant.io"),
        ("https://open-assistant.io/chat", "https://open-assistant.io"),  # the seed's url (7)
        ("https://open-assistant.io/chat/", "https://open-assistant.io"),
        ("https://open-assistant.io/api/chat", "https://open-assistant.io"),
        ("https://open-assistant.io/api", "https://open-assistant.io"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080///", "http://127.0.0.1:8080"),
        ("  http://localhost:8000  ", "http://localhost:8000"),
        ("https://example.org/oa/", "https://example.org/oa"),
        ("HTTPS://Example.org", "https://Example.org"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_base_url_normalisation(url: str, expected: str) -> None:
    opts = options(base_url=url)
    assert opts.base_url == expected
    assert opts.url("/chats") == expected + "/chats"


def test_scheme_and_host_are_derived() -> None:
    opts = options(base_url="http://LOCALHOST:8080/")
    assert (opts.scheme, opts.host) == ("http", "localhost")


@pytest.mark.parametrize(
    "url",
    [
        "open-assistant.io",
        "ftp://open-assistant.io",
        "ws://127.0.0.1:8000",
        "https://",
        "https:///chat",
        "https://open-assistant.io/?x=1",
        "https://open-assistant.io/#top",
        "https://user:pw@open-assistant.io",
        "http://[::1",
        "http://localhost:notaport",
        "http://localhost:99999",
    ],
)
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"base_url|URL|port"):
        options(base_url=url)


def test_an_empty_base_url_means_the_default() -> None:
    assert options(base_url="").base_url == "https://open-assistant.io"


def test_base_url_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="base_url must be a string"):
        options(base_url=b"https://open-assistant.io")


# --- environment ------------------------------------------------------------------------------


def test_everything_from_the_environment_for_the_website() -> None:
    env = {
        "OPENASSISTANT_BASE_URL": "http://localhost:3000/chat",
        "OPENASSISTANT_SESSION_TOKEN": "s",
    }
    opts, credentials = resolve(env=env)
    assert (opts.base_url, opts.api) == ("http://localhost:3000", "website")
    assert dict(credentials.headers()) == {"Cookie": "next-auth.session-token=s"}


def test_everything_from_the_environment_for_the_inference_server() -> None:
    env = {
        "OPENASSISTANT_BASE_URL": "http://127.0.0.1:8000",
        "OPENASSISTANT_API": "inference",
        "OPENASSISTANT_TOKEN": "t",
        "OPENASSISTANT_SESSION_TOKEN": "ignored: it is the website's",
    }
    assert options(env).api == "inference"
    assert headers(env) == {"Authorization": "Bearer t"}


def test_a_token_in_the_environment_implies_the_inference_api() -> None:
    env = {"OPENASSISTANT_BASE_URL": "http://127.0.0.1:8000", "OPENASSISTANT_TOKEN": "t"}
    assert options(env).api == "inference"
    assert headers(env) == {"Authorization": "Bearer t"}


def test_a_debug_user_in_the_environment() -> None:
    env = {"OPENASSISTANT_DEBUG_USER": "alice"}
    opts, credentials = resolve(env=env)
    assert opts.api == "inference"
    assert credentials.needs_login
    assert credentials.debug_user == "alice"


def test_the_token_wins_over_the_debug_user() -> None:
    _, credentials = resolve(env={"OPENASSISTANT_TOKEN": "t", "OPENASSISTANT_DEBUG_USER": "alice"})
    assert not credentials.needs_login
    assert dict(credentials.headers()) == {"Authorization": "Bearer t"}


def test_empty_environment_values_count_as_unset() -> None:
    env = {
        "OPENASSISTANT_BASE_URL": "",
        "OPENASSISTANT_API": "",
        "OPENASSISTANT_SESSION_TOKEN": "",
        "OPENASSISTANT_TOKEN": "",
    }
    opts, credentials = resolve(env=env)
    assert (opts.base_url, opts.api) == ("https://open-assistant.io", "website")
    assert not credentials.has_any


def test_arguments_win_over_the_environment() -> None:
    env = {
        "OPENASSISTANT_BASE_URL": "http://env.example:1",
        "OPENASSISTANT_SESSION_TOKEN": "from-env",
    }
    opts, credentials = resolve(env=env, base_url="https://arg.example", session_token="from-arg")
    assert opts.base_url == "https://arg.example"
    assert dict(credentials.headers()) == {"Cookie": f"{SECURE}=from-arg"}


def test_explicit_credentials_replace_the_environment_s() -> None:
    env = {"OPENASSISTANT_TOKEN": "from-env"}
    assert headers(env, api="inference", debug_user="bob") == {}
    _, credentials = resolve(env=env, api="inference", debug_user="bob")
    assert credentials.debug_user == "bob"


@pytest.mark.parametrize(
    ("kwargs", "api"),
    [
        ({"token": "t"}, "inference"),
        ({"debug_user": "alice"}, "inference"),
        ({"trusted_client": TrustedClient(api_key="k", user_id="u")}, "inference"),
        ({"session_token": "s"}, "website"),
        ({"cookies": {SECURE: "s"}}, "website"),
        ({}, "website"),
    ],
)
def test_api_is_inferred_from_the_credentials(kwargs: dict[str, Any], api: str) -> None:
    assert options(**kwargs).api == api


def test_explicit_api_is_normalised() -> None:
    assert options(api=" Inference ").api == "inference"
    assert options({"OPENASSISTANT_API": "WEBSITE"}).api == "website"


@pytest.mark.parametrize("api", ["graphql", "web"])
def test_unknown_api(api: str) -> None:
    with pytest.raises(ValueError, match="api must be"):
        options(api=api)
    with pytest.raises(ValueError, match="api must be"):
        options({"OPENASSISTANT_API": api})


def test_credentials_that_do_not_fit_the_api() -> None:
    with pytest.raises(ValueError, match="website API"):
        options(api="website", token="t")
    with pytest.raises(ValueError, match="inference API"):
        options(api="inference", session_token="s")


def test_the_cookie_name_follows_the_base_url_scheme() -> None:
    assert headers(base_url="http://localhost:3000", session_token="s") == {
        "Cookie": "next-auth.session-token=s"
    }
    assert headers(session_token="s") == {"Cookie": f"{SECURE}=s"}


def test_cookies_from_a_jar_follow_the_base_url_host() -> None:
    assert headers(base_url="https://other.example", cookies={"a": "b"}) == {"Cookie": "a=b"}


# --- other options ----------------------------------------------------------------------------


def test_options_are_kept() -> None:
    sampling = SamplingParameters(temperature=0.5)
    opts = options(
        model="_lorem",
        sampling=sampling,
        max_retries=5,
        stall_timeout=None,
        stream_timeout=300,
        on_malformed="skip",
        headers={"X-Trace": "1"},
        user_agent="me/1.0",
    )
    assert opts.model == "_lorem"
    assert opts.sampling is sampling
    assert opts.retry.max_retries == 5
    assert opts.stall_timeout is None
    assert opts.stream_timeout == 300.0
    assert opts.on_malformed == "skip"
    assert opts.headers == (("X-Trace", "1"),)
    assert opts.user_agent == "me/1.0"


def test_a_retry_policy() -> None:
    policy = RetryPolicy(max_retries=7, deadline=30)
    assert options(retry=policy).retry is policy


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retry": RetryPolicy(), "max_retries": 1}, "not both"),
        ({"max_retries": -1}, "max_retries"),
        ({"stall_timeout": 0}, "stall_timeout"),
        ({"stall_timeout": -1}, "stall_timeout"),
        ({"stall_timeout": float("inf")}, "stall_timeout"),
        ({"stall_timeout": True}, "stall_timeout"),
        ({"stream_timeout": 0}, "stream_timeout"),
        ({"cleanup_timeout": 0}, "cleanup_timeout"),
        ({"on_malformed": "ignore"}, "on_malformed"),
        ({"model": ""}, "model"),
        ({"model": 5}, "model"),
        ({"sampling": {"temperature": 0.5}}, "SamplingParameters"),
        ({"max_recoveries": -1}, "max_recoveries"),
        ({"max_recoveries": True}, "max_recoveries"),
        ({"headers": {"X-Evil": "a\r\nb"}}, "line break"),
        ({"max_event_size": 10}, "max_event_size"),
    ],
)
def test_invalid_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        options(**kwargs)


def test_not_given() -> None:
    assert NotGiven() is NOT_GIVEN
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert given(NOT_GIVEN, 3) == 3
    assert given(None, 3) is None
    assert given(0, 3) == 0


def test_options_hold_no_secrets() -> None:
    opts = options(session_token="top-secret-session")
    assert "top-secret-session" not in repr(opts)
    opts = options(token="top-secret-token")
    assert "top-secret-token" not in repr(opts)


def test_no_secret_shows_in_the_options_repr_or_str() -> None:
    secrets = {
        "session": options(session_token="secret-session-1"),
        "token": options(token="secret-token-2"),
        "debug": options(debug_user="secret-user-3"),
        "cookies": options(cookies={"__Secure-next-auth.session-token": "secret-cookie-4"}),
        "trusted": options(
            trusted_client=TrustedClient(api_key="secret-key-5", user_id="u", client="c")
        ),
        "headers": options(headers={"X-Api-Key": "secret-header-6"}),
    }
    for name, opts in secrets.items():
        for text in (repr(opts), str(opts)):
            assert "secret-" not in text, name
    assert "X-Api-Key" in repr(secrets["headers"])  # the name is shown, not the value


def test_client_options_is_public() -> None:
    import openassistant_sdk

    assert openassistant_sdk.ClientOptions is ClientOptions
    assert "ClientOptions" in openassistant_sdk.__all__


def test_the_model_comes_from_the_environment_too() -> None:
    options, _ = resolve(env={"OPENASSISTANT_MODEL": "echo"})
    assert options.model == "echo"
    options, _ = resolve(env={"OPENASSISTANT_MODEL": "echo"}, model="_lorem")
    assert options.model == "_lorem"  # an argument beats the environment
    options, _ = resolve(env={})
    assert options.model == "OA_SFT_Llama_30B_6"
