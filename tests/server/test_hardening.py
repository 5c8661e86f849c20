"""The local server as a server people run: CORS, same-origin-only routes, unstorable text."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openassistant_sdk.testing import LocalServer

from .helpers import Api, read_stream, unique_user

EVIL = {"Origin": "https://evil.example"}
JSON = {"content-type": "application/json"}
#: A JSON string holding a lone surrogate, as raw bytes (httpx cannot encode it from str).
LONE = '"x\\ud800y"'


def _preflight(client: httpx.Client, url: str, origin: str) -> httpx.Response:
    return client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


# -- CORS -------------------------------------------------------------------------------------


def test_no_origin_is_allowed_cross_origin_by_default(api: Api) -> None:
    simple = api.client.get("/auth/check", headers=EVIL)
    assert simple.status_code == 200  # it runs (no preflight needed), but a browser...
    assert "access-control-allow-origin" not in simple.headers  # ...cannot read the answer
    preflight = _preflight(api.client, "/chats", "http://localhost:3000")
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


def test_configured_origins_get_credentialed_cors(make_server) -> None:
    server = make_server(cors_origins=("http://localhost:3000",))
    api = Api(server)
    try:
        plain = api.client.get("/auth/check")
        assert not any(n.startswith("access-control") or n == "vary" for n in plain.headers)
        allowed = api.client.get("/auth/check", headers={"Origin": "http://localhost:3000"})
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        preflight = _preflight(api.client, "/chats", "http://localhost:3000")
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert preflight.headers["access-control-allow-headers"] == "authorization,content-type"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        other = api.client.get("/auth/check", headers=EVIL)
        assert "access-control-allow-origin" not in other.headers
        assert _preflight(api.client, "/chats", EVIL["Origin"]).status_code == 400
    finally:
        api.close()


def test_a_star_allows_any_origin_as_upstream_does(make_server) -> None:
    server = make_server(cors_origins="*")
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        answer = client.get("/configs/model_configs", headers=EVIL)
        assert answer.headers["access-control-allow-origin"] == EVIL["Origin"]
        assert _preflight(client, "/chats", EVIL["Origin"]).status_code == 200


@pytest.mark.parametrize("origins", [(), ("https://evil.example",), "*"])
def test_admin_routes_and_debug_login_refuse_every_cross_origin_request(
    make_server, origins
) -> None:
    server = make_server(cors_origins=origins)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        user = unique_user()
        attempts = [
            client.get("/_local/state", headers=EVIL),
            # A simple request: no preflight, so it must be refused, not merely unreadable.
            client.post(
                "/_local/faults",
                content=b'{"action": "unhandled_500"}',
                headers={**EVIL, "content-type": "text/plain"},
            ),
            client.post("/_local/workers", json={"paused": True}, headers=EVIL),
            _preflight(client, "/_local/faults", EVIL["Origin"]),
            client.get("/auth/callback/debug", params={"code": user}, headers=EVIL),
            client.get("/auth/login/debug", params={"username": user}, headers=EVIL),
        ]
        for answer in attempts:
            assert answer.status_code == 403, answer.request.url
            assert "access-control-allow-origin" not in answer.headers
        assert server.faults() == []
        assert server.state()["workers"]["paused"] is False
        assert server.state()["users"] == 0  # the debug login did not run
        # Same-origin requests (and clients that send no Origin) still work.
        own = {"Origin": server.url}
        assert client.get("/_local/state", headers=own).status_code == 200
        assert client.get("/auth/callback/debug", params={"code": user}).status_code == 200


def test_admin_routes_can_be_switched_off(make_server) -> None:
    server = make_server(admin_routes=False)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        assert client.get("/_local/state").status_code == 404


# -- text with a lone surrogate -----------------------------------------------------------------


@pytest.fixture
def victim(server: LocalServer) -> Iterator[Api]:
    api = Api(server)
    yield api
    api.close()


def _readable(api: Api, chat_id: str) -> dict:
    listing = api.client.get("/chats")
    assert listing.status_code == 200, listing.text
    chat = api.client.get(f"/chats/{chat_id}")
    assert chat.status_code == 200, chat.text
    return dict(chat.json())


def test_a_lone_surrogate_in_a_prompt_is_an_empty_500_and_stores_nothing(victim: Api) -> None:
    chat_id = victim.new_chat()
    answer = victim.client.post(
        f"/chats/{chat_id}/prompter_message",
        content=f'{{"parent_id": null, "content": {LONE}}}'.encode(),
        headers=JSON,
    )
    # Upstream's commit fails inside the handler's try: its empty (handled) 500.
    assert (answer.status_code, answer.content) == (500, b"")
    chat = _readable(victim, chat_id)
    assert chat["messages"] == []
    assert chat["title"] is None
    # The chat is still usable: the first message can be sent after all.
    prompt = victim.prompt(chat_id, "fine")
    assert _readable(victim, chat_id)["title"] == "fine"
    later = victim.client.post(
        f"/chats/{chat_id}/prompter_message",
        content=f'{{"parent_id": "{prompt["id"]}", "content": {LONE}}}'.encode(),
        headers=JSON,
    )
    assert later.status_code == 400  # upstream's checks come before the commit


def test_a_lone_surrogate_in_other_stored_text_is_refused(victim: Api) -> None:
    victim.server.pause_workers()
    try:
        chat_id = victim.new_chat()
        prompt = victim.prompt(chat_id, "hello")
        draft = victim.assist(chat_id, prompt["id"]).json()
        reply = victim.client.post(
            f"/chats/{chat_id}/assistant_message",
            content=(
                f'{{"parent_id": "{prompt["id"]}", "model_config_name": "echo", '
                f'"system_prompt": {LONE}}}'
            ).encode(),
            headers=JSON,
        )
        assert (reply.status_code, reply.content) == (500, b"")
        messages = _readable(victim, chat_id)["messages"]
        assert [m["id"] for m in messages] == [prompt["id"], draft["id"]]
    finally:
        victim.server.resume_workers()
    victim.wait_state(chat_id, draft["id"], {"complete"})
    title = victim.client.put(
        f"/chats/{chat_id}", content=f'{{"title": {LONE}}}'.encode(), headers=JSON
    )
    assert (title.status_code, title.content) == (500, b"")
    report = victim.client.post(
        f"/chats/{chat_id}/messages/{draft['id']}/reports",
        content=f'{{"report_type": "feedback", "reason": {LONE}}}'.encode(),
        headers=JSON,
    )
    assert (report.status_code, report.content) == (500, b"")
    evaluation = victim.client.post(
        f"/chats/{chat_id}/messages/{draft['id']}/message_evals",
        content=f'{{"inferior_message_ids": [{LONE}]}}'.encode(),
        headers=JSON,
    )
    assert (evaluation.status_code, evaluation.content) == (500, b"")
    chat = _readable(victim, chat_id)
    assert chat["title"] == "hello"
    assert chat["messages"][1]["reports"] == []


def test_a_trusted_client_user_id_with_a_lone_surrogate_is_refused(server: LocalServer) -> None:
    import base64

    header = (
        f'{{"api_key": "6969", "client": "c", "user_id": {LONE}, '
        f'"provider_account_id": "p", "username": "u"}}'
    )
    trusted = {"TrustedClient": base64.b64encode(header.encode()).decode()}
    users = server.state()["users"]
    for method, url in [
        ("POST", "/auth/trusted"),
        ("POST", "/chats"),
        ("GET", "/chats"),
        ("GET", "/auth/check"),
    ]:
        # A new connection each: the server drops the connection after each answer.
        with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
            body = b"{}" if method == "POST" else None
            answer = client.request(method, url, content=body, headers=trusted)
            # Unhandled, as upstream's failing query or response encoding: the 21-byte 500.
            assert (answer.status_code, answer.content) == (500, b"Internal Server Error")
    assert server.state()["users"] == users


def test_the_website_proxy_refuses_a_lone_surrogate_and_stores_nothing(
    server: LocalServer,
) -> None:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as web:
        web.cookies.set("__Secure-next-auth.session-token", unique_user("session"))
        chat_id = web.post("/api/chat").json()["id"]
        answer = web.post(
            "/api/chat/prompter_message",
            content=f'{{"chat_id": "{chat_id}", "parent_id": null, "content": {LONE}}}'.encode(),
            headers=JSON,
        )
        assert answer.status_code == 500
        assert web.get("/api/chat").status_code == 200
        chat = web.get("/api/chat", params={"chat_id": chat_id})
        assert chat.status_code == 200
        assert chat.json()["messages"] == []
        # The whole flow still works for this user.
        prompt = web.post(
            "/api/chat/prompter_message",
            json={"chat_id": chat_id, "parent_id": None, "content": "hi"},
        )
        assert prompt.status_code == 200
        reply = web.post(
            "/api/chat/assistant_message",
            json={
                "chat_id": chat_id,
                "parent_id": prompt.json()["id"],
                "model_config_name": "echo",
            },
        )
        assert reply.status_code == 200
        params = {"chat_id": chat_id, "message_id": reply.json()["id"]}
        read_stream(web, "/api/chat/events", params=params)  # until it ends
        message = web.get("/api/chat/message", params=params)
        assert message.json()["content"] == "hi"
