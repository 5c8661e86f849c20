"""Authentication on the inference API: debug login, bearer tokens, TrustedClient (2.1)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from openassistant_sdk.testing import LocalServer

from .helpers import Api, http_request, raw_exchange, unique_user


@pytest.fixture
def client(server: LocalServer):
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        yield c


def trusted(api_key: str = "6969", user_id: str = "web-user-1", **extra: str) -> str:
    info = {
        "api_key": api_key,
        "client": "website",
        "user_id": user_id,
        "provider_account_id": "acc-1",
        "username": "Web User",
        **extra,
    }
    return base64.b64encode(json.dumps(info).encode()).decode()


def test_debug_login_returns_a_token_pair_in_upstream_shape(client: httpx.Client) -> None:
    response = client.get("/auth/callback/debug", params={"code": "alice"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["access_token", "refresh_token"]
    assert list(body["access_token"]) == ["access_token", "token_type"]
    assert body["access_token"]["token_type"] == "bearer"
    assert body["refresh_token"]["token_type"] == "refresh"
    # compact JSON, as FastAPI writes it
    assert response.content.startswith(b'{"access_token":{"access_token":"')
    check = client.get(
        "/auth/check", headers={"Authorization": f"Bearer {body['access_token']['access_token']}"}
    )
    assert (check.status_code, check.content) == (200, b'"alice"')


def test_debug_login_errors(client: httpx.Client) -> None:
    empty = client.get("/auth/callback/debug", params={"code": ""})
    assert (empty.status_code, empty.content) == (400, b'{"detail":"Username is required"}')
    missing = client.get("/auth/callback/debug")
    assert missing.status_code == 422
    assert missing.content == (
        b'{"detail":[{"loc":["query","code"],"msg":"field required","type":"value_error.missing"}]}'
    )


def test_debug_auth_can_be_switched_off(make_server) -> None:
    server = make_server(allow_debug_auth=False)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        response = c.get("/auth/callback/debug", params={"code": "alice"})
        assert (response.status_code, response.json()) == (
            403,
            {"detail": "Debug auth is not allowed"},
        )
        assert c.get("/auth/providers").json() == []


def test_login_redirects_to_the_callback_as_golden_02_13(
    server: LocalServer, client: httpx.Client
) -> None:
    response = client.get("/auth/login/debug", params={"username": "carol"})
    assert response.status_code == 302
    assert list(response.headers)[:5] == [
        "date",
        "server",
        "location",
        "content-length",
        "content-type",
    ]
    assert response.headers["location"] == (
        f"{server.url}/auth/callback/debug?code=carol&state={{}}"
    )
    assert response.content == b'{"detail":"Found"}'


def test_providers(client: httpx.Client) -> None:
    response = client.get("/auth/providers")
    assert (response.status_code, response.content) == (200, b'["debug"]')


@pytest.mark.parametrize(
    ("authorization", "status", "detail"),
    [
        (None, 403, "Not authenticated"),
        ("Token abc", 403, "Not authenticated"),
        ("Bearer", 403, "Not authenticated"),
        ("Bearer not-a-token", 401, "Invalid token"),
    ],
)
def test_bearer_errors(
    client: httpx.Client, authorization: str | None, status: int, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, url in [("GET", "/chats"), ("POST", "/chats/x/assistant_message")]:
        response = client.request(method, url, headers=headers, json={})
        assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_refresh_token_is_not_an_access_token(server: LocalServer, client: httpx.Client) -> None:
    login = client.get("/auth/callback/debug", params={"code": "alice"}).json()
    refresh = login["refresh_token"]["access_token"]
    response = client.get("/chats", headers={"Authorization": f"Bearer {refresh}"})
    assert (response.status_code, response.content) == (400, b'{"detail":"Invalid token type"}')


def test_expired_token(server: LocalServer, client: httpx.Client) -> None:
    token = server.mint_token("alice", expires_in=-60)
    response = client.get("/chats", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.content) == (401, b'{"detail":"Token expired"}')


def test_token_lifetime_is_configurable(make_server) -> None:
    server = make_server(access_token_expire_minutes=-1)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        token = server.debug_token("alice")
        response = c.get("/auth/check", headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"detail": "Token expired"}


def test_a_token_from_another_server_is_invalid(make_server, server: LocalServer) -> None:
    other = make_server()
    token = other.debug_token("alice")
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        response = c.get("/auth/check", headers={"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json()) == (401, {"detail": "Invalid token"})


def test_refresh_never_succeeds(client: httpx.Client, server: LocalServer) -> None:
    login = client.get("/auth/callback/debug", params={"code": "alice"}).json()
    for header in (
        login["refresh_token"]["access_token"],
        login["access_token"]["access_token"],
        "Bearer " + login["refresh_token"]["access_token"],
    ):
        response = client.get("/auth/refresh", headers={"Refresh": header})
        assert (response.status_code, response.content) == (401, b'{"detail":"Invalid token"}')
    # Without the header: the unhandled 500, and the connection is dropped (golden 02 #17).
    data, closed = raw_exchange(server.port, http_request("GET", "/auth/refresh"))
    assert data.endswith(b"\r\n\r\nInternal Server Error")
    assert b"content-type: text/plain; charset=utf-8\r\n" in data
    assert closed


def test_trusted_client_creates_chats_and_users(client: httpx.Client) -> None:
    user_id = unique_user("web")
    headers = {"TrustedClient": trusted(user_id=user_id)}
    # Golden 02 #18: chat creation succeeds before /auth/trusted was called.
    assert client.post("/chats", headers=headers, json={}).status_code == 200
    response = client.post("/auth/trusted", headers=headers)
    assert response.status_code == 200
    assert response.content == (
        b'{"id":"' + user_id.encode() + b'","provider":"website","display_name":"Web User",'
        b'"provider_account_id":"acc-1","deleted":false}'
    )
    assert client.get("/auth/check", headers=headers).json() == user_id
    # A TrustedClient header wins over a bad Authorization header.
    both = {**headers, "Authorization": "Bearer nonsense"}
    assert client.get("/auth/check", headers=both).json() == user_id


def test_trusted_client_errors(server: LocalServer, client: httpx.Client) -> None:
    wrong = client.get("/chats", headers={"TrustedClient": trusted(api_key="wrong")})
    assert (wrong.status_code, wrong.content) == (401, b'{"detail":"Unauthorized client"}')
    missing = client.post("/auth/trusted")
    assert (missing.status_code, missing.json()) == (401, {"detail": "Missing token"})
    for header in ("%%%garbage", base64.b64encode(b'{"api_key": "6969"}').decode()):
        data, closed = raw_exchange(
            server.port, http_request("GET", "/chats", {"TrustedClient": header})
        )
        assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert b"content-length: 21\r\n" in data
        assert closed


def test_trusted_keys_are_configurable(make_server) -> None:
    server = make_server(trusted_client_keys=("secret",))
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as c:
        ok = c.get("/auth/check", headers={"TrustedClient": trusted(api_key="secret")})
        assert ok.json() == "web-user-1"
        bad = c.get("/auth/check", headers={"TrustedClient": trusted()})
        assert bad.status_code == 401


def test_api_helper_logs_in(api: Api) -> None:
    assert api.client.get("/auth/check").json() == api.user
