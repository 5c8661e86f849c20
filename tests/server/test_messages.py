"""Prompter and assistant messages: every rule and status of 5.2, cancellation, limits."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from openassistant_sdk.testing import LocalServer
from openassistant_server import RateLimit

from .helpers import (
    MESSAGE_READ_KEYS,
    WORK_PARAMETER_KEYS,
    Api,
    golden_body,
    http_request,
    raw_exchange,
)

UNKNOWN_ID = "c61883e7-ef89-4c60-a9c5-e15fb25be353"
K50 = {
    "top_k": 50,
    "top_p": 0.95,
    "typical_p": None,
    "temperature": 0.75,
    "repetition_penalty": 1.2,
}


@pytest.fixture
def paused(server: LocalServer) -> Iterator[None]:
    """Keep the shared server's workers from taking messages during the test."""
    server.pause_workers()
    try:
        yield
    finally:
        server.resume_workers()


def test_prompter_message_shape_as_golden_01_7(api: Api) -> None:
    chat_id = api.new_chat()
    response = api.client.post(
        f"/chats/{chat_id}/prompter_message",
        json={"parent_id": None, "content": "Hello, who are you?"},
    )
    assert response.status_code == 200
    message = response.json()
    assert list(message) == MESSAGE_READ_KEYS
    recorded = golden_body("01_full_flow.txt", 7)
    # Identical apart from the id, chat id and timestamp.
    tail = recorded[recorded.index(b',"role"') :]
    assert response.content.endswith(tail)
    assert response.content.startswith(b'{"id":"')
    assert (
        b'"parent_id":null,"content":"Hello, who are you?","chat_id":"' + chat_id.encode()
        in response.content
    )


def test_prompter_message_parent_rules(server: LocalServer, api: Api, paused: None) -> None:
    chat_id = api.new_chat()
    first = api.prompt(chat_id, "Hi")
    url = f"/chats/{chat_id}/prompter_message"

    def post(parent_id: str | None) -> tuple[int, bytes]:
        response = api.client.post(url, json={"parent_id": parent_id, "content": "x"})
        return response.status_code, response.content

    assert post(UNKNOWN_ID) == (400, b'{"detail":"Parent message not found"}')
    assert post(None) == (400, b'{"detail":"Trying to add first message to non-empty chat"}')
    assert post(first["id"]) == (400, b'{"detail":"Parent message is not an assistant message"}')
    pending = api.assist(chat_id, first["id"]).json()
    assert post(pending["id"]) == (400, b'{"detail":"Parent message is not complete"}')
    unknown_chat = api.client.post(
        f"/chats/{UNKNOWN_ID}/prompter_message", json={"parent_id": None, "content": "x"}
    )
    assert (unknown_chat.status_code, unknown_chat.content) == (500, b"")
    missing = api.client.post(url, json={"parent_id": None})
    assert missing.json()["detail"] == [
        {"loc": ["body", "content"], "msg": "field required", "type": "value_error.missing"}
    ]


def test_prompter_message_cannot_use_another_users_reply(server: LocalServer, api: Api) -> None:
    chat_id, reply = api.pending_message()
    api.wait_state(chat_id, reply["id"], {"complete"})
    other = Api(server)
    try:
        own_chat = other.new_chat()
        response = other.client.post(
            f"/chats/{own_chat}/prompter_message", json={"parent_id": reply["id"], "content": "x"}
        )
        assert response.content == b'{"detail":"Parent message not found"}'
        # ... and cannot build on another user's prompt either (golden 02 #50).
        stolen = other.assist(chat_id, reply["parent_id"])
        assert (stolen.status_code, stolen.content) == (400, b'{"detail":"Message not found"}')
    finally:
        other.close()


def test_limits_on_length_and_message_count(make_server) -> None:
    server = make_server(message_max_length=5, chat_max_messages=2, workers=0)
    api = Api(server)
    try:
        chat_id = api.new_chat()
        url = f"/chats/{chat_id}/prompter_message"
        long = api.client.post(url, json={"parent_id": None, "content": "too long"})
        assert (long.status_code, long.json()) == (
            413,
            {"detail": "Message content exceeds max length"},
        )
        first = api.prompt(chat_id, "hi")
        assert api.assist(chat_id, first["id"]).status_code == 200
        full = api.assist(chat_id, first["id"])
        assert (full.status_code, full.json()) == (
            413,
            {"detail": "Maximum number of messages reached for this chat"},
        )
    finally:
        api.close()


def test_assistant_message_shape(api: Api, paused: None) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hello")
    response = api.assist(chat_id, prompt["id"], "_lorem", **K50, max_new_tokens=20)
    assert response.status_code == 200
    message = response.json()
    assert list(message) == MESSAGE_READ_KEYS
    assert (message["role"], message["state"], message["content"]) == ("assistant", "pending", None)
    params = message["work_parameters"]
    assert list(params) == WORK_PARAMETER_KEYS
    seed = params.pop("seed")
    assert isinstance(seed, int)
    assert 0 <= seed < 2**64
    assert params == {
        "model_config": {
            "model_id": "_lorem",
            "max_input_length": 128,
            "max_total_length": 256,
            "quantized": False,
        },
        "sampling_parameters": {**K50, "max_new_tokens": 20},
        "do_sample": True,
        "system_prompt": None,
        "user_profile": None,
        "user_response_instructions": None,
        "plugins": [],
        "plugin_max_depth": 4,
    }
    recorded = golden_body("01_full_flow.txt", 8)
    assert response.content[response.content.index(b',"role"') :] == (
        recorded[recorded.index(b',"role"') :].replace(b"1007384498193820715", str(seed).encode())
    )


def test_assistant_message_defaults_and_coercion(api: Api, paused: None) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hello")
    defaults = api.assist(chat_id, prompt["id"], "_lorem").json()
    assert defaults["work_parameters"]["sampling_parameters"] == {
        "top_k": None,
        "top_p": None,
        "typical_p": None,
        "temperature": None,
        "repetition_penalty": None,
        "max_new_tokens": 1024,
    }
    coerced = api.client.post(
        f"/chats/{chat_id}/assistant_message",
        json={
            "parent_id": prompt["id"],
            "model_config_name": "_lorem",
            "sampling_parameters": {"top_k": "50", "temperature": 1, "max_new_tokens": 7.9},
            "system_prompt": 42,
            "plugins": [{"url": "http://x"}],
            "unknown": {"ignored": True},
        },
    )
    assert coerced.status_code == 200
    assert (
        b'"sampling_parameters":{"top_k":50,"top_p":null,"typical_p":null,"temperature":1.0'
        in coerced.content
    )
    params = coerced.json()["work_parameters"]
    assert params["sampling_parameters"]["max_new_tokens"] == 7
    assert params["system_prompt"] == "42"
    assert params["plugins"] == [
        {"url": "http://x", "enabled": True, "plugin_config": None, "trusted": False}
    ]


@pytest.mark.parametrize(
    ("number", "body"),
    [
        (23, {"max_new_tokens": None}),
        (25, {"temperature": "hot", "max_new_tokens": 20}),
    ],
)
def test_assistant_message_validation_bytes_as_golden_02(
    api: Api, number: int, body: dict[str, object]
) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hi")
    response = api.assist(chat_id, prompt["id"], "_lorem", **{**K50, **body})
    assert response.status_code == 422
    assert response.content == golden_body("02_errors.txt", number)


def test_assistant_message_errors_as_golden_02(api: Api) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hi")
    url = f"/chats/{chat_id}/assistant_message"
    unknown_model = api.assist(chat_id, prompt["id"], "no-such-model")
    # The recorded body, its detail extended with the names that would have worked.
    recorded = json.loads(golden_body("02_errors.txt", 24))["detail"]
    listed = [c["name"] for c in api.client.get("/configs/model_configs").json()]
    assert unknown_model.status_code == 422
    assert unknown_model.json() == {"detail": f"{recorded}; available models: {','.join(listed)}"}
    assert (listed[0], listed[15], listed[-1]) == ("_lorem", "OA_SFT_Llama_30B_6", "echo")
    empty = api.client.post(url, json={})
    assert (empty.status_code, empty.content) == (422, golden_body("02_errors.txt", 26))
    malformed = api.client.post(
        url, content=b'{"parent_id": ', headers={"Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.content) == (422, golden_body("02_errors.txt", 27))
    unknown_parent = api.assist(chat_id, UNKNOWN_ID)
    assert (unknown_parent.status_code, unknown_parent.content) == (500, b"")
    assert unknown_parent.headers["content-length"] == "0"
    reply = api.assist(chat_id, prompt["id"]).json()
    assistant_parent = api.assist(chat_id, reply["id"])
    assert (assistant_parent.status_code, assistant_parent.content) == (500, b"")


def test_malformed_json_is_rejected_before_auth(server: LocalServer) -> None:
    data, closed = raw_exchange(
        server.port,
        http_request(
            "POST",
            "/chats/x/assistant_message",
            {"Content-Type": "application/json"},
            b'{"parent_id": ',
        ),
        wait=0.3,
    )
    assert data.startswith(b"HTTP/1.1 422 ")
    assert not closed


def test_the_url_chat_id_is_ignored_as_golden_02_54(api: Api) -> None:
    chat_1 = api.new_chat()
    prompt = api.prompt(chat_1, "Hi")
    chat_2 = api.new_chat()
    response = api.client.post(
        f"/chats/{chat_2}/assistant_message",
        json={"parent_id": prompt["id"], "model_config_name": "echo", "unknown_field": 1},
    )
    assert response.status_code == 200
    assert response.json()["chat_id"] == chat_1


def test_an_upstream_model_outside_allowed_models_is_a_422(make_server) -> None:
    server = make_server(allowed_models=("_lorem", "echo"))
    api = Api(server)
    try:
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Hi")
        not_allowed = api.assist(chat_id, prompt["id"], "OA_SFT_Llama_30B_6")
        assert (not_allowed.status_code, not_allowed.json()) == (
            422,
            {"detail": "Model OA_SFT_Llama_30B_6 not in allowed models: _lorem,echo"},
        )
    finally:
        api.close()


def test_the_default_model_is_served_with_upstream_model_config(server: LocalServer) -> None:
    api = Api(server)
    try:
        chat_id, reply = api.pending_message("Hi", model="OA_SFT_Llama_30B_6")
        assert reply["work_parameters"]["model_config"]["model_id"] == (
            "OpenAssistant/oasst-sft-6-llama-30b"
        )
        done = api.wait_state(chat_id, reply["id"], {"complete"})
        assert len(done["content"].split()) >= 4  # lorem-style text
    finally:
        api.close()


def test_model_aliases_use_upstream_model_configs(make_server) -> None:
    server = make_server(model_aliases={"OA_SFT_Llama_30B_6": "echo"})
    api = Api(server)
    try:
        chat_id, reply = api.pending_message("say this back", model="OA_SFT_Llama_30B_6")
        assert reply["work_parameters"]["model_config"] == {
            "model_id": "OpenAssistant/oasst-sft-6-llama-30b",
            "max_input_length": 1024,
            "max_total_length": 1792,
            "quantized": False,
        }
        done = api.wait_state(chat_id, reply["id"], {"complete"})
        assert done["content"] == "say this back"
    finally:
        api.close()


def test_cancellation_side_effects_as_golden_06(
    server: LocalServer, api: Api, paused: None
) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hi")
    d1 = api.assist(chat_id, prompt["id"], "_lorem", max_new_tokens=20).json()
    d2 = api.assist(chat_id, prompt["id"], "_lorem", max_new_tokens=20).json()
    # Drafts on the same parent do not cancel each other.
    assert api.message(chat_id, d1["id"])["state"] == "pending"
    # A failed (500) assistant_message still cancels the user's pending messages.
    failed = api.assist(chat_id, UNKNOWN_ID)
    assert failed.status_code == 500
    assert api.message(chat_id, d1["id"])["state"] == "cancelled"
    assert api.message(chat_id, d2["id"])["state"] == "cancelled"
    # Another user's pending messages are untouched.
    other = Api(server)
    try:
        other_chat, other_reply = other.pending_message()
        api.assist(chat_id, UNKNOWN_ID)
        assert other.message(other_chat, other_reply["id"])["state"] == "pending"
    finally:
        other.close()
    # A request rejected before the handler (422) cancels nothing.
    d3 = api.assist(chat_id, prompt["id"]).json()
    api.assist(chat_id, UNKNOWN_ID, "no-such-model")
    assert api.message(chat_id, d3["id"])["state"] == "pending"


def test_rate_limit_gives_the_unhandled_500(make_server) -> None:
    server = make_server(rate_limit=RateLimit(times=3, seconds=60), workers=0)
    api = Api(server)
    try:
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Hi")
        assert [api.assist(chat_id, prompt["id"]).status_code for _ in range(3)] == [200] * 3
        body = b'{"parent_id": "' + prompt["id"].encode() + b'", "model_config_name": "echo"}'
        request = http_request(
            "POST",
            f"/chats/{chat_id}/assistant_message",
            {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
            body,
        )
        data, closed = raw_exchange(server.port, request)
        assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert data.endswith(
            b"content-length: 21\r\ncontent-type: text/plain; charset=utf-8\r\n\r\nInternal Server Error"
        )
        assert b"connection: close" not in data.lower()
        assert closed
        # The limit is on assistant_message only (golden 03 #26-#27).
        assert api.prompt(api.new_chat(), "still fine")["state"] == "manual"

        # Requests rejected with 422 count too (golden 03 #51).
        other = Api(server)
        try:
            other_chat = other.new_chat()
            other_prompt = other.prompt(other_chat, "Hi")
            for _ in range(3):
                assert (
                    other.assist(other_chat, other_prompt["id"], max_new_tokens=None).status_code
                    == 422
                )
            assert other.assist(other_chat, other_prompt["id"]).status_code == 500
        finally:
            other.close()
    finally:
        api.close()


def test_rate_limit_window_and_switch(make_server) -> None:
    limited = make_server(rate_limit=RateLimit(times=1, seconds=0.3), workers=0)
    api = Api(limited)
    try:
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Hi")
        assert api.assist(chat_id, prompt["id"]).status_code == 200
        assert api.assist(chat_id, prompt["id"]).status_code == 500
        import time

        time.sleep(0.35)
        assert api.assist(chat_id, prompt["id"]).status_code == 200  # a new window
    finally:
        api.close()
    unlimited = make_server(rate_limit=None, workers=0, work_queue_max_size=None)
    api = Api(unlimited)
    try:
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Hi")
        assert {api.assist(chat_id, prompt["id"]).status_code for _ in range(25)} == {200}
    finally:
        api.close()


def test_full_work_queue_answers_503_after_storing_the_message(make_server) -> None:
    server = make_server(workers=0, work_queue_max_size=2)
    api = Api(server)
    try:
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Hi")
        assert api.assist(chat_id, prompt["id"]).status_code == 200
        assert api.assist(chat_id, prompt["id"]).status_code == 200
        busy = api.assist(chat_id, prompt["id"])
        assert (busy.status_code, busy.content) == (
            503,
            b'{"detail":"The server is currently busy. Please try again later."}',
        )
        # Upstream commits the message before it tries to enqueue it (5.1).
        messages = api.client.get(f"/chats/{chat_id}").json()["messages"]
        assert [m["state"] for m in messages] == ["manual", "pending", "pending", "pending"]
        # Other model configs have their own queue.
        assert api.assist(chat_id, prompt["id"], "_lorem").status_code == 200
    finally:
        api.close()
