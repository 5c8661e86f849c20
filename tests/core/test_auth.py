"""Credentials and their headers (docs/protocol.md 1.1, 1.4, 2.1; docs/design.md, decision 9)."""

from __future__ import annotations

import base64
import json
from http.cookiejar import Cookie, CookieJar
from typing import Any

import pytest

from openassistant_sdk import TokenPair, TrustedClient
from openassistant_sdk._auth import Credentials, session_cookie_name

from . import golden

SECURE = "__Secure-next-auth.session-token"
PLAIN = "next-auth.session-token"


def website(scheme: str = "https", host: str = "open-assistant.io", **kwargs: Any) -> Credentials:
    return Credentials(api="website", scheme=scheme, host=host, **kwargs)


def inference(**kwargs: Any) -> Credentials:
    return Credentials(api="inference", scheme="http", host="127.0.0.1", **kwargs)


def cookie(name: str, value: str, domain: str) -> Cookie:
    return Cookie(
        version=0, name=name, value=value, port=None, port_specified=False,
        domain=domain, domain_specified=True, domain_initial_dot=domain.startswith("."),
        path="/", path_specified=True, secure=True, expires=None, discard=True,
        comment=None, comment_url=None, rest={}, rfc2109=False,
    )  # fmt: skip


def cookie_header(credentials: Credentials) -> dict[str, str]:
    headers = dict(credentials.headers())
    pairs = [p.split("=", 1) for p in headers["Cookie"].split("; ")]
    return dict(pairs)


# --- website ----------------------------------------------------------------------------------


def test_cookie_name_follows_the_scheme() -> None:
    assert session_cookie_name("https") == SECURE
    assert session_cookie_name("http") == PLAIN


@pytest.mark.parametrize(("scheme", "name"), [("https", SECURE), ("http", PLAIN)])
def test_session_token_is_sent_as_the_session_cookie(scheme: str, name: str) -> None:
    credentials = website(scheme, session_token="eyJhbGciOiJkaXIi.abc")
    assert list(credentials.headers()) == [("Cookie", f"{name}=eyJhbGciOiJkaXIi.abc")]
    assert credentials.has_any
    assert not credentials.needs_login


def test_a_long_session_token_is_chunked_like_next_auth() -> None:
    token = "a" * 3933 + "b" * 3933 + "c" * 10
    assert cookie_header(website(session_token=token)) == {
        f"{SECURE}.0": "a" * 3933,
        f"{SECURE}.1": "b" * 3933,
        f"{SECURE}.2": "c" * 10,
    }


def test_a_session_token_at_the_chunk_size_is_one_cookie() -> None:
    assert cookie_header(website(session_token="t" * 3933)) == {SECURE: "t" * 3933}


def test_chunks_join_back_to_the_token() -> None:
    token = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    chunks = cookie_header(website("http", session_token=token))
    assert "".join(chunks[f"{PLAIN}.{i}"] for i in range(len(chunks))) == token


def test_cookies_from_a_dict() -> None:
    credentials = website(cookies={SECURE: "s", "theme": "dark"})
    assert cookie_header(credentials) == {SECURE: "s", "theme": "dark"}


def test_cookies_from_a_jar_only_for_the_host() -> None:
    jar = CookieJar()
    jar.set_cookie(cookie(SECURE, "mine", ".open-assistant.io"))
    jar.set_cookie(cookie("theme", "dark", "open-assistant.io"))
    jar.set_cookie(cookie("tracker", "x", "example.com"))
    jar.set_cookie(cookie("lookalike", "x", "evil-open-assistant.io"))
    jar.set_cookie(cookie("sub", "x", "www.open-assistant.io"))
    assert cookie_header(website(cookies=jar)) == {SECURE: "mine", "theme": "dark"}


def test_a_parent_domain_cookie_reaches_a_subdomain() -> None:
    jar = CookieJar()
    jar.set_cookie(cookie(SECURE, "s", ".open-assistant.io"))
    assert cookie_header(website(host="chat.open-assistant.io", cookies=jar)) == {SECURE: "s"}


def test_cookies_from_an_object_with_a_jar() -> None:
    # httpx.Cookies and requests' cookie jars expose `.jar`.
    class Holder:
        def __init__(self, jar: CookieJar) -> None:
            self.jar = jar

    jar = CookieJar()
    jar.set_cookie(cookie(SECURE, "s", "open-assistant.io"))
    assert cookie_header(website(cookies=Holder(jar))) == {SECURE: "s"}


def test_session_token_and_cookies_together() -> None:
    credentials = website(session_token="s", cookies={"theme": "dark"})
    assert cookie_header(credentials) == {"theme": "dark", SECURE: "s"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"session_token": ""}, "session_token"),
        ({"session_token": "a\r\nX-Evil: 1"}, "session_token"),
        ({"cookies": {"a": "b;c"}}, "Cookie header"),
        ({"cookies": {"a=b": "c"}}, "Cookie header"),
        ({"cookies": {"a": "b\n"}}, "Cookie header"),
        ({"cookies": {"a": 1}}, "string values"),
        ({"cookies": [("a", "b")]}, "dict or a cookie jar"),
        ({"cookies": "a=b"}, "dict or a cookie jar"),
    ],
)
def test_bad_website_credentials(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        website(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "t"},
        {"debug_user": "alice"},
        {"trusted_client": TrustedClient(api_key="6969", user_id="u")},
        {"session_token": "s", "token": "t"},
    ],
)
def test_inference_credentials_are_refused_by_the_website(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="website API takes session_token"):
        website(**kwargs)


@pytest.mark.parametrize("kwargs", [{"session_token": "s"}, {"cookies": {"a": "b"}}])
def test_website_credentials_are_refused_by_the_inference_server(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="inference API takes token"):
        inference(**kwargs)


def test_no_credentials() -> None:
    for credentials in (website(), inference()):
        assert not credentials.has_any
        assert list(credentials.headers()) == []
        assert credentials.secrets() == []


# --- inference server -------------------------------------------------------------------------


def test_bearer_token() -> None:
    credentials = inference(token="eyJ.token")
    assert list(credentials.headers()) == [("Authorization", "Bearer eyJ.token")]
    assert not credentials.needs_login


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"token": ""}, "token"), ({"token": "a\nb"}, "token"), ({"debug_user": ""}, "debug_user")],
)
def test_bad_inference_credentials(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        inference(**kwargs)


def needs_login(credentials: Credentials) -> bool:
    return credentials.needs_login


def test_debug_login_flow() -> None:
    credentials = inference(debug_user="alice")
    assert credentials.has_any
    assert needs_login(credentials)
    assert list(credentials.headers()) == []
    spec = credentials.login_spec()
    assert (spec.method, spec.path, spec.params) == (
        "GET",
        "/auth/callback/debug",
        (("code", "alice"),),
    )
    pair = TokenPair.from_json(golden.json_body(golden.FULL_FLOW, 1))
    credentials.accept_login(pair)
    assert not needs_login(credentials)
    assert list(credentials.headers()) == [("Authorization", f"Bearer {pair.access_token}")]
    # A 401 later: /auth/refresh never works (10.1), so the client logs in again.
    assert credentials.forget_login()
    assert needs_login(credentials)
    assert list(credentials.headers()) == []


def test_forget_login_without_a_debug_user_does_not_help() -> None:
    credentials = inference(token="t")
    assert not credentials.forget_login()
    assert list(credentials.headers()) == [("Authorization", "Bearer t")]


def test_trusted_client_header_matches_the_recording() -> None:
    recorded = golden.exchange(golden.ERRORS, 18).request_headers["trustedclient"]
    trusted = TrustedClient(
        api_key="6969", user_id="web-user-1", provider_account_id="acc-1", username="Web User"
    )
    assert trusted.header_value() == recorded
    decoded = base64.b64decode(recorded)
    assert decoded == (
        b'{"api_key": "6969", "client": "website", "user_id": "web-user-1", '
        b'"provider_account_id": "acc-1", "username": "Web User"}'
    )
    assert list(json.loads(decoded)) == [
        "api_key", "client", "user_id", "provider_account_id", "username",
    ]  # fmt: skip


def test_trusted_client_replaces_the_bearer_token() -> None:
    trusted = TrustedClient(api_key="6969", user_id="u")
    credentials = inference(trusted_client=trusted, token="t")
    assert dict(credentials.headers()) == {"TrustedClient": trusted.header_value()}


def test_trusted_client_defaults() -> None:
    trusted = TrustedClient(api_key="k", user_id="u")
    assert json.loads(base64.b64decode(trusted.header_value())) == {
        "api_key": "k",
        "client": "website",
        "user_id": "u",
        "provider_account_id": "",
        "username": "",
    }


# --- secrets stay out of reprs ---------------------------------------------------------------


def test_secrets_are_never_in_a_repr() -> None:
    trusted = TrustedClient(api_key="api-key-6969", user_id="u")
    for credentials, secrets in [
        (website(session_token="session-secret-1"), ["session-secret-1"]),
        (website(cookies={SECURE: "cookie-secret-2"}), ["cookie-secret-2"]),
        (inference(token="bearer-secret-3"), ["bearer-secret-3"]),
        (inference(trusted_client=trusted), ["api-key-6969", trusted.header_value()]),
    ]:
        text = repr(credentials) + str(credentials)
        for secret in secrets:
            assert secret not in text
            assert any(secret in s for s in credentials.secrets())
    assert "api-key-6969" not in repr(trusted)
    assert "user_id='u'" in repr(trusted)


def test_secrets_include_login_tokens() -> None:
    credentials = inference(debug_user="alice")
    credentials.accept_login(TokenPair(access_token="access-1", refresh_token="refresh-1"))
    assert {"access-1", "refresh-1"} <= set(credentials.secrets())
    assert "access-1" not in repr(credentials)
