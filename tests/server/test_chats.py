"""Chats, listing, updates, votes, reports and configs on the inference API (2.2, 2.4, 4.2)."""

from __future__ import annotations

import base64
import json

import httpx

from openassistant_sdk.testing import LocalServer

from .helpers import (
    CHAT_LIST_KEYS,
    ID_RE,
    MESSAGE_READ_KEYS,
    TIMESTAMP_RE,
    Api,
    golden_body,
    http_request,
    raw_exchange,
)


def test_create_chat_body_rules_as_golden_01(api: Api) -> None:
    response = api.client.post("/chats", json={})
    assert response.status_code == 200
    assert list(response.headers) == ["date", "server", "content-length", "content-type"]
    chat = response.json()
    assert list(chat) == CHAT_LIST_KEYS
    assert ID_RE.match(chat["id"])
    assert TIMESTAMP_RE.match(chat["created_at"])
    assert (chat["title"], chat["hidden"], chat["allow_data_use"]) == (None, False, True)
    # No body at all: FastAPI's "field required" for the body (golden 01 #5).
    missing = api.client.post("/chats")
    assert missing.status_code == 422
    assert missing.content == (
        b'{"detail":[{"loc":["body"],"msg":"field required","type":"value_error.missing"}]}'
    )
    # The JSON string "" (what the website sends) is accepted (golden 01 #6).
    assert (
        api.client.post(
            "/chats", content=b'""', headers={"Content-Type": "application/json"}
        ).status_code
        == 200
    )
    not_a_dict = api.client.post("/chats", json="abc")
    assert not_a_dict.json() == {
        "detail": [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}]
    }


def test_chat_lifecycle(api: Api) -> None:
    chat_id = api.new_chat()
    first = api.prompt(chat_id, "Hello, who are you?")
    chat = api.client.get(f"/chats/{chat_id}").json()
    assert list(chat) == [*CHAT_LIST_KEYS, "messages"]
    assert chat["title"] == "Hello, who are you?"  # the first prompter message (2.4)
    assert chat["modified_at"] == first["created_at"]
    assert [m["id"] for m in chat["messages"]] == [first["id"]]
    assert list(chat["messages"][0]) == MESSAGE_READ_KEYS

    update = api.client.put(
        f"/chats/{chat_id}",
        json={"title": "renamed", "hidden": True, "active_thread_tail_message_id": first["id"]},
    )
    assert (update.status_code, update.content) == (200, b"null")
    chat = api.client.get(f"/chats/{chat_id}").json()
    assert (chat["title"], chat["hidden"]) == ("renamed", True)
    assert chat["active_thread_tail_message_id"] == first["id"]

    deleted = api.client.delete(f"/chats/{chat_id}")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert deleted.headers["content-length"] == "0"
    gone = api.client.get(f"/chats/{chat_id}")
    assert (gone.status_code, gone.content) == (404, b'{"detail":"Chat not found"}')
    again = api.client.delete(f"/chats/{chat_id}")
    assert again.status_code == 404


def test_update_chat_errors(api: Api) -> None:
    chat_id = api.new_chat()
    unknown = api.client.put("/chats/c61883e7-ef89-4c60-a9c5-e15fb25be353", json={"title": "x"})
    assert (unknown.status_code, unknown.content) == (500, b"")
    too_long = api.client.put(f"/chats/{chat_id}", json={"title": "x" * 101})
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == [
        {
            "loc": ["body", "title"],
            "msg": "ensure this value has at most 100 characters",
            "type": "value_error.any_str.max_length",
            "ctx": {"limit_value": 100},
        }
    ]
    no_body = api.client.put(f"/chats/{chat_id}")
    assert no_body.status_code == 422
    # hide_all is shadowed by PUT /chats/{chat_id} (2.2, golden 02 #45).
    hide_all = api.client.put("/chats/hide_all", json={})
    assert (hide_all.status_code, hide_all.content) == (500, b"")
    assert api.client.put("/chats/hide_all").status_code == 422


def test_other_users_cannot_see_a_chat(server: LocalServer, api: Api) -> None:
    chat_id = api.new_chat()
    other = Api(server)
    try:
        response = other.client.get(f"/chats/{chat_id}")
        assert (response.status_code, response.json()) == (404, {"detail": "Chat not found"})
        assert other.client.get("/chats").json()["chats"] == []
    finally:
        other.close()


def test_list_paging_newest_first(api: Api) -> None:
    ids = [api.new_chat() for _ in range(5)]
    newest_first = ids[::-1]
    first = api.client.get("/chats", params={"limit": 2}).json()
    assert list(first) == ["chats", "next", "prev"]
    assert [c["id"] for c in first["chats"]] == newest_first[:2]
    assert first["prev"] is None
    assert first["next"] == base64.b64encode(newest_first[1].encode()).decode()

    second = api.client.get("/chats", params={"limit": 2, "after": first["next"]}).json()
    assert [c["id"] for c in second["chats"]] == newest_first[2:4]
    back = api.client.get("/chats", params={"limit": 2, "before": second["prev"]}).json()
    assert [c["id"] for c in back["chats"]] == newest_first[:2]

    everything = api.client.get("/chats").json()
    assert [c["id"] for c in everything["chats"]] == newest_first
    assert (everything["next"], everything["prev"]) == (None, None)
    assert all(c["active_thread_tail_message_id"] is None for c in everything["chats"])


def test_list_hidden_and_errors(server: LocalServer, api: Api) -> None:
    visible, hidden = api.new_chat(), api.new_chat()
    api.client.put(f"/chats/{hidden}", json={"hidden": True})
    listed = [c["id"] for c in api.client.get("/chats").json()["chats"]]
    assert listed == [visible]
    with_hidden = api.client.get("/chats", params={"include_hidden": "true"}).json()
    assert [c["id"] for c in with_hidden["chats"]] == [hidden, visible]

    zero = api.client.get("/chats", params={"limit": 0})
    assert zero.content == (
        b'{"detail":[{"loc":["query","limit"],"msg":"ensure this value is greater than 0",'
        b'"type":"value_error.number.not_gt","ctx":{"limit_value":0}}]}'
    )
    too_many = api.client.get("/chats", params={"limit": 101}).json()
    assert too_many["detail"][0]["type"] == "value_error.number.not_le"
    both = api.client.get("/chats", params={"after": "YQ==", "before": "YQ=="})
    assert both.content == b'{"detail":"Cannot specify both after and before."}'
    bad_bool = api.client.get("/chats", params={"include_hidden": "maybe"}).json()
    assert bad_bool["detail"][0]["msg"] == "value could not be parsed to a boolean"
    # A cursor that is not base64 crashes upstream: unhandled 500 and a dropped connection.
    data, closed = raw_exchange(
        server.port,
        http_request("GET", "/chats?after=abc", {"Authorization": f"Bearer {api.token}"}),
    )
    assert data.startswith(b"HTTP/1.1 500 ")
    assert closed


def test_votes_reports_and_evals(api: Api) -> None:
    chat_id, message = api.pending_message("good answer")
    api.wait_state(chat_id, message["id"], {"complete"})
    url = f"/chats/{chat_id}/messages/{message['id']}"
    vote = api.client.post(f"{url}/votes", json={"score": 1})
    assert (vote.status_code, vote.content, vote.headers["content-length"]) == (200, b"", "0")
    assert api.message(chat_id, message["id"])["score"] == 1
    for bad in ({"score": 5}, {"score": -2}):
        response = api.client.post(f"{url}/votes", json=bad)
        assert (response.status_code, response.content) == (500, b"")
    assert api.client.post(f"{url}/votes", json={}).status_code == 422
    # Votes are only for assistant messages; the chat id in the URL is not checked.
    prompt_id = message["parent_id"]
    assert (
        api.client.post(f"/chats/x/messages/{prompt_id}/votes", json={"score": 1}).status_code
        == 500
    )
    assert (
        api.client.post(f"/chats/x/messages/{message['id']}/votes", json={"score": -1}).status_code
        == 200
    )

    report = api.client.post(f"{url}/reports", json={"report_type": "spam", "reason": "ads"})
    assert (report.status_code, report.content) == (200, b"")
    reports = api.message(chat_id, message["id"])["reports"]
    assert [(list(r), r["report_type"], r["reason"]) for r in reports] == [
        (["id", "report_type", "reason"], "spam", "ads")
    ]
    bad_type = api.client.post(f"{url}/reports", json={"report_type": "rude", "reason": "x"})
    assert bad_type.status_code == 422
    assert bad_type.json()["detail"][0] == {
        "loc": ["body", "report_type"],
        "msg": "value is not a valid enumeration member; permitted: 'spam', 'offensive', 'feedback'",
        "type": "type_error.enum",
        "ctx": {"enum_values": ["spam", "offensive", "feedback"]},
    }

    evaluation = api.client.post(f"{url}/message_evals", json={"inferior_message_ids": ["a"]})
    assert (evaluation.status_code, evaluation.content) == (200, b"")
    unknown = api.client.post(
        "/chats/x/messages/nope/message_evals", json={"inferior_message_ids": []}
    )
    assert (unknown.status_code, unknown.content) == (500, b"")


def test_other_users_cannot_vote(server: LocalServer, api: Api) -> None:
    chat_id, message = api.pending_message()
    other = Api(server)
    try:
        url = f"/chats/{chat_id}/messages/{message['id']}/votes"
        assert other.client.post(url, json={"score": 1}).status_code == 500
    finally:
        other.close()


def test_model_configs_match_golden_01_30(make_server) -> None:
    server = make_server(allowed_models=("_lorem", "echo"), model_aliases={"my-model": "echo"})
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        response = client.get("/configs/model_configs")  # no auth needed
    assert response.status_code == 200
    configs = response.json()
    assert [c["name"] for c in configs] == ["_lorem", "echo", "my-model"]
    recorded = golden_body("01_full_flow.txt", 30)
    lorem_entry = recorded[: recorded.index(b',{"name":"distilgpt2"')]
    assert response.content.startswith(lorem_entry)  # `_lorem` and its presets, byte for byte
    presets = json.loads(recorded)[0]["parameter_configs"]
    assert all(c["parameter_configs"] == presets for c in configs)


def test_default_model_configs_are_golden_01_30_and_echo(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        response = client.get("/configs/model_configs")
    recorded = golden_body("01_full_flow.txt", 30)
    # The real server's 25 model configs byte for byte, then the local `echo`.
    assert response.content.startswith(recorded[:-1] + b',{"name":"echo","description":""')
    assert [c["name"] for c in response.json()][-1] == "echo"


def test_builtin_plugins_and_plugin_config(make_server) -> None:
    manifest = {"schema_version": "v1", "name_for_model": "demo"}
    server = make_server(plugin_manifests={"http://plugins.test/ai-plugin.json": manifest})
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        assert client.get("/configs/builtin_plugins").json() == []
        found = client.post(
            "/configs/plugin_config", json={"url": "http://plugins.test/ai-plugin.json"}
        )
        assert found.json() == {
            "url": "http://plugins.test/ai-plugin.json",
            "enabled": True,
            "plugin_config": manifest,
            "trusted": False,
        }
        missing = client.post("/configs/plugin_config", json={"url": "http://elsewhere/x.json"})
        assert (missing.status_code, missing.json()) == (404, {"detail": "Plugin not found"})
        assert client.post("/configs/plugin_config", json={}).status_code == 422


def test_unknown_routes_and_methods(api: Api) -> None:
    assert api.client.get("/nope").content == b'{"detail":"Not Found"}'
    wrong_method = api.client.patch("/chats")
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"detail": "Method Not Allowed"},
    )
    assert api.client.head("/chats").status_code == 405  # FastAPI routes do not add HEAD


def test_public_names_are_sorted_and_importable() -> None:
    import openassistant_server as server

    assert server.__all__ == sorted(server.__all__)
    assert all(hasattr(server, name) for name in server.__all__)
