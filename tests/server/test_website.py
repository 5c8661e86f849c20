"""The website's `/api/chat...` proxy routes on the same port (docs/protocol.md 1)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault
from openassistant_server._nextjs import js_stringify

from .helpers import CHAT_LIST_KEYS, MESSAGE_READ_KEYS, events_of, joined, read_stream, unique_user

NEXT_JSON = "application/json; charset=utf-8"


@pytest.fixture
def web(server: LocalServer) -> Iterator[httpx.Client]:
    """A browser-like client with a session cookie of a fresh user."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        client.cookies.set("__Secure-next-auth.session-token", unique_user("session"))
        yield client


def start_reply(server: LocalServer, web: httpx.Client, content: str = "hello from the web"):
    chat = web.post("/api/chat")
    assert chat.status_code == 200, chat.text
    chat_id = chat.json()["id"]
    prompt = web.post(
        "/api/chat/prompter_message",
        json={"chat_id": chat_id, "parent_id": None, "content": content},
    )
    assert prompt.status_code == 200, prompt.text
    server.pause_workers()
    reply = web.post(
        "/api/chat/assistant_message",
        json={
            "chat_id": chat_id,
            "parent_id": prompt.json()["id"],
            "model_config_name": "echo",
            "sampling_parameters": {"max_new_tokens": 1024},
            "plugins": [],
        },
    )
    assert reply.status_code == 200, reply.text
    return chat_id, prompt.json(), reply.json()


def test_session_checks(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        for path in ("/api/chat", "/api/chat/models", "/api/chat/plugins", "/api/chat/events"):
            response = client.get(path)
            assert (response.status_code, response.content) == (403, b"")
        plain = client.get("/api/chat/models", headers={"Cookie": "next-auth.session-token=tok"})
        assert plain.status_code == 200
        bearer = client.get("/api/chat/models", headers={"Authorization": "Bearer tok"})
        assert bearer.status_code == 200
        # Chunked cookies are reassembled: `.0` + `.1` is the same session as the whole token.
        whole = client.post("/api/chat", headers={"Cookie": "next-auth.session-token=abcdef"})
        split = "next-auth.session-token.1=def; next-auth.session-token.0=abc"
        listed = client.get("/api/chat", headers={"Cookie": split}).json()
        assert whole.json()["id"] in [c["id"] for c in listed["chats"]]


def test_restricted_session_tokens(make_server) -> None:
    server = make_server(session_tokens={"good-token": "web-alice"})
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        assert client.get("/api/chat", headers={"Authorization": "Bearer bad"}).status_code == 403
        assert (
            client.get("/api/chat", headers={"Authorization": "Bearer good-token"}).status_code
            == 200
        )
        assert server.session_token("web-alice") == "good-token"


def test_chat_can_be_disabled(make_server) -> None:
    server = make_server(enable_chat=False)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        client.cookies.set("next-auth.session-token", "tok")
        for method, path in [
            ("GET", "/api/chat"),
            ("POST", "/api/chat"),
            ("POST", "/api/chat/prompter_message"),
            ("GET", "/api/chat/events"),
            ("GET", "/api/chat/models"),
        ]:
            response = client.request(method, path)
            assert (response.status_code, response.content) == (404, b""), path
        assert client.get("/api/chat/plugins").json() == []  # not gated (1.1)


def test_full_flow(server: LocalServer, web: httpx.Client) -> None:
    chat_id, prompt, reply = start_reply(server, web)
    assert list(prompt) == MESSAGE_READ_KEYS
    assert prompt["state"] == "manual"
    assert reply["state"] == "pending"
    assert reply["chat_id"] == chat_id
    # gpt4free POSTs to the events route; the method is not checked (1.2, 7).
    try:
        response, chunks = read_stream(
            web,
            f"/api/chat/events?chat_id={chat_id}&message_id={reply['id']}",
            method="POST",
            on_open=server.resume_workers,
        )
    finally:
        server.resume_workers()
    assert response.status_code == 200
    assert "content-type" not in response.headers  # the proxy sets none
    body = joined(chunks)
    assert body.startswith(b'data: {"event_type": "token", "text": "hello "}\r\n\r\n')
    events = events_of(body)
    assert "".join(e["text"] for e in events if e["event_type"] == "token") == "hello from the web"
    assert events[-1]["message"]["state"] == "complete"

    finished = web.get("/api/chat/events", params={"chat_id": chat_id, "message_id": reply["id"]})
    assert (finished.status_code, finished.content) == (200, b"")  # upstream 204 (1.2)
    message = web.get("/api/chat/message", params={"chat_id": chat_id, "message_id": reply["id"]})
    assert message.headers["content-type"] == NEXT_JSON
    assert message.json()["content"] == "hello from the web"

    chat = web.get("/api/chat", params={"chat_id": chat_id}).json()
    assert list(chat) == [*CHAT_LIST_KEYS, "messages"]
    assert len(chat["messages"]) == 2
    listing = web.get("/api/chat").json()
    assert [c["id"] for c in listing["chats"]] == [chat_id]

    update = web.put("/api/chat", json={"chat_id": chat_id, "title": "renamed"})
    assert (update.status_code, update.content) == (200, b"")
    assert web.get("/api/chat", params={"chat_id": chat_id}).json()["title"] == "renamed"

    vote = web.post(
        "/api/chat/vote", json={"chat_id": chat_id, "message_id": reply["id"], "score": 1}
    )
    assert (vote.status_code, vote.content) == (200, b'""')
    bad_vote = web.post(
        "/api/chat/vote", json={"chat_id": chat_id, "message_id": reply["id"], "score": 2}
    )
    assert (bad_vote.status_code, bad_vote.content) == (400, b"Invalid score")
    assert (
        web.post("/api/chat/vote", json={"message_id": reply["id"], "score": True}).status_code
        == 400
    )
    evaluation = web.post(
        "/api/chat/message_eval",
        json={"chat_id": chat_id, "message_id": reply["id"], "inferior_message_ids": []},
    )
    assert (evaluation.status_code, evaluation.content) == (200, b'""')

    deleted = web.delete("/api/chat", params={"chat_id": chat_id})
    assert (deleted.status_code, deleted.content) == (200, b"")
    gone = web.get("/api/chat", params={"chat_id": chat_id})
    assert (gone.status_code, gone.content) == (404, b"")
    assert web.delete("/api/chat", params={"chat_id": chat_id}).status_code == 500


def test_error_mapping(server: LocalServer, web: httpx.Client) -> None:
    unknown_chat = web.post(
        "/api/chat/prompter_message",
        json={"chat_id": "nope", "parent_id": None, "content": "x"},
    )
    assert (unknown_chat.status_code, unknown_chat.json()) == (
        500,
        {"message": "Something went wrong"},
    )
    chat_id = web.post("/api/chat").json()["id"]
    prompt = web.post(
        "/api/chat/prompter_message", json={"chat_id": chat_id, "parent_id": None, "content": "x"}
    ).json()
    unknown_model = web.post(
        "/api/chat/assistant_message",
        json={"chat_id": chat_id, "parent_id": prompt["id"], "model_config_name": "nope"},
    )
    assert unknown_model.status_code == 422
    assert unknown_model.json()["message"].startswith("Model nope not found; available models: ")
    assert "OA_SFT_Llama_30B_6" in unknown_model.json()["message"]
    assert unknown_model.headers["content-type"] == NEXT_JSON
    invalid = web.post("/api/chat/assistant_message", json={"chat_id": chat_id})
    assert invalid.status_code == 422
    assert [e["loc"] for e in invalid.json()["message"]] == [
        ["body", "parent_id"],
        ["body", "model_config_name"],
    ]
    events = web.get("/api/chat/events", params={"chat_id": chat_id, "message_id": "nope"})
    assert (events.status_code, events.content) == (500, b"Internal Server Error")
    prompter_events = web.get(
        "/api/chat/events", params={"chat_id": chat_id, "message_id": prompt["id"]}
    )
    assert prompter_events.status_code == 500  # upstream 400 makes the handler throw
    assert web.get("/api/chat", params={"chat_id": "nope"}).status_code == 404
    assert (web.patch("/api/chat").status_code, web.patch("/api/chat").content) == (404, b"")
    bad_json = web.post(
        "/api/chat/prompter_message", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (bad_json.status_code, bad_json.content) == (400, b"Invalid JSON")
    missing_query = web.get("/api/chat/message")
    assert (missing_query.status_code, missing_query.content) == (500, b"Internal Server Error")


def test_models_and_plugins(web: httpx.Client) -> None:
    models = web.get("/api/chat/models")
    assert models.headers["content-type"] == NEXT_JSON
    names = [m["name"] for m in models.json()]
    assert len(names) == 26  # the real server's 25 model configs, then `echo`
    assert (names[0], names[15], names[-1]) == ("_lorem", "OA_SFT_Llama_30B_6", "echo")
    assert models.json()[0]["parameter_configs"][0]["name"] == "k50"
    assert web.get("/api/chat/plugins").json() == []
    missing = web.post(
        "/api/chat/plugin_config", json={"plugin": {"url": "http://x/ai-plugin.json"}}
    )
    assert (missing.status_code, missing.content) == (500, b"Internal Server Error")


def test_website_faults(server: LocalServer, web: httpx.Client) -> None:
    server.add_fault(Fault(action="respond", api="website", op="assistant_message", status=503))
    chat_id = web.post("/api/chat").json()["id"]
    prompt = web.post(
        "/api/chat/prompter_message",
        json={"chat_id": chat_id, "parent_id": None, "content": "a b c"},
    ).json()
    body = {"chat_id": chat_id, "parent_id": prompt["id"], "model_config_name": "echo"}
    assert web.post("/api/chat/assistant_message", json=body).status_code == 503
    server.pause_workers()
    try:
        reply = web.post("/api/chat/assistant_message", json=body).json()
        server.add_fault(Fault(action="stream_end", api="website", op="events", after_events=1))
        _response, chunks = read_stream(
            web,
            f"/api/chat/events?chat_id={chat_id}&message_id={reply['id']}",
            on_open=server.resume_workers,
        )
    finally:
        server.resume_workers()
    assert [e["event_type"] for e in events_of(joined(chunks))] == ["token"]


def test_json_passes_through_javascript_numbers() -> None:
    assert js_stringify({"seed": 13898165879698778810, "t": 1.0, "p": 0.95, "s": "é"}) == (
        '{"seed":13898165879698778000,"t":1,"p":0.95,"s":"é"}'
    )


def test_the_list_pages_by_twenty(web: httpx.Client) -> None:
    created = [web.post("/api/chat").json()["id"] for _ in range(21)]
    first = web.get("/api/chat").json()
    assert [c["id"] for c in first["chats"]] == created[::-1][:20]
    rest = web.get("/api/chat", params={"after": first["next"]}).json()
    assert [c["id"] for c in rest["chats"]] == created[:1]
