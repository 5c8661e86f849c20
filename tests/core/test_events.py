"""event_from_json: one JSON event object becomes one typed event (docs/protocol.md 3.2)."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from openassistant_sdk import (
    ErrorEvent,
    InvalidResponseError,
    Message,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    StreamError,
    TokenEvent,
    UnknownEvent,
)
from openassistant_sdk._events import TERMINAL_EVENTS, event_from_json

from . import golden

MESSAGE = {
    "id": "06b06cef-ad07-778b-8000-17a30b0be991",
    "parent_id": "06b06cef-acb0-7d84-8000-3f6bd7edf23e",
    "content": "Hello!",
    "chat_id": "06b06cef-ac37-7284-8000-7d9898a26b74",
    "created_at": "2026-11-25T12:05:14.814350",
    "role": "assistant",
    "state": "complete",
    "score": 0,
    "reports": [],
    "work_parameters": None,
}


def test_token() -> None:
    assert event_from_json({"event_type": "token", "text": "Hi"}) == TokenEvent(text="Hi")


def test_pending_keeps_the_one_based_queue_position() -> None:
    event = event_from_json({"event_type": "pending", "queue_position": 1, "queue_size": 3})
    assert event == PendingEvent(queue_position=1, queue_size=3)


def test_message_carries_the_final_message() -> None:
    event = event_from_json({"event_type": "message", "message": MESSAGE})
    assert isinstance(event, MessageEvent)
    assert event.message == Message.from_json(MESSAGE)
    assert event.message.content == "Hello!"


def test_error_with_its_message() -> None:
    message = {**MESSAGE, "state": "timeout", "content": None}
    event = event_from_json({"event_type": "error", "error": "Timeout", "message": message})
    assert isinstance(event, ErrorEvent)
    assert event.error == "Timeout"
    assert event.message is not None
    assert event.message.state == "timeout"


@pytest.mark.parametrize("extra", [{"message": None}, {}])
def test_error_without_a_message(extra: dict[str, Any]) -> None:
    event = event_from_json({"event_type": "error", "error": "boom", **extra})
    assert event == ErrorEvent(error="boom", message=None)


def test_error_with_a_null_error_text_is_empty() -> None:
    assert event_from_json({"event_type": "error", "error": None}) == ErrorEvent("", None)


def test_plugin_intermediate_fields() -> None:
    event = event_from_json(
        {
            "event_type": "plugin_intermediate",
            "current_plugin_thought": "t",
            "current_plugin_action_taken": "a",
            "current_plugin_action_input": "i",
            "current_plugin_action_response": "r",
            "message": None,
        }
    )
    assert event == PluginIntermediateEvent(
        current_plugin_thought="t",
        current_plugin_action_taken="a",
        current_plugin_action_input="i",
        current_plugin_action_response="r",
    )


def test_plugin_intermediate_null_fields_are_empty_strings() -> None:
    event = event_from_json({"event_type": "plugin_intermediate", "current_plugin_thought": None})
    assert event == PluginIntermediateEvent()


def test_unknown_fields_are_ignored() -> None:
    event = event_from_json({"event_type": "token", "text": "x", "logprob": -0.5})
    assert event == TokenEvent("x")


@pytest.mark.parametrize("kind", ["safe_prompt", "tool_call", ""])
def test_unknown_event_type_is_kept_for_forward_compatibility(kind: str) -> None:
    data = {"event_type": kind, "anything": [1, 2]}
    assert event_from_json(data) == UnknownEvent(event_type=kind, data=data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param([], id="list"),
        pytest.param("token", id="string"),
        pytest.param(None, id="null"),
        pytest.param({"text": "x"}, id="no-event-type"),
        pytest.param({"event_type": None}, id="event-type-null"),
        pytest.param({"event_type": 1}, id="event-type-int"),
        pytest.param({"event_type": "token"}, id="token-no-text"),
        pytest.param({"event_type": "token", "text": 1}, id="token-text-int"),
        pytest.param({"event_type": "token", "text": ["a"]}, id="token-text-list"),
        pytest.param({"event_type": "pending", "queue_position": 1}, id="pending-no-size"),
        pytest.param(
            {"event_type": "pending", "queue_position": 1.0, "queue_size": 1}, id="pending-float"
        ),
        pytest.param(
            {"event_type": "pending", "queue_position": False, "queue_size": 1}, id="pending-bool"
        ),
        pytest.param({"event_type": "message"}, id="message-missing"),
        pytest.param({"event_type": "message", "message": None}, id="message-null"),
        pytest.param(
            {"event_type": "message", "message": {**MESSAGE, "role": None}}, id="message-no-role"
        ),
        pytest.param({"event_type": "error", "error": 1}, id="error-int"),
        pytest.param({"event_type": "error", "error": "x", "message": []}, id="error-message-list"),
        pytest.param(
            {"event_type": "plugin_intermediate", "current_plugin_action_taken": 1},
            id="plugin-int",
        ),
    ],
)
def test_malformed_event_objects_raise_stream_error(data: object) -> None:
    with pytest.raises(StreamError):
        event_from_json(data)


def test_a_malformed_message_keeps_the_parse_error_as_cause() -> None:
    with pytest.raises(StreamError, match="malformed message") as info:
        event_from_json({"event_type": "message", "message": {**MESSAGE, "id": 5}})
    assert isinstance(info.value.__cause__, InvalidResponseError)


def test_stream_error_is_an_invalid_response_error() -> None:
    with pytest.raises(InvalidResponseError):
        event_from_json({"event_type": "token"})


@pytest.mark.parametrize(
    "event",
    [
        TokenEvent("x"),
        PendingEvent(1, 2),
        PluginIntermediateEvent(),
        MessageEvent(Message.from_json(MESSAGE)),
        ErrorEvent("x"),
        UnknownEvent("x", {}),
    ],
    ids=lambda e: type(e).__name__,
)
def test_events_are_frozen(event: Any) -> None:
    field = attrs.fields(type(event))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(event, field, None)


def test_terminal_events_are_message_and_error() -> None:
    assert set(TERMINAL_EVENTS) == {MessageEvent, ErrorEvent}


def test_golden_error_events_parse() -> None:
    for name, number, error, state in [
        (golden.PINGS, 12, "Timeout", "timeout"),
        (golden.PINGS, 18, "Aborted due to worker error.", "aborted_by_worker"),
    ]:
        body = golden.body(name, number)
        last = body.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        event = event_from_json(json.loads(last.removeprefix(b"data: ")))
        assert isinstance(event, ErrorEvent)
        assert event.error == error
        assert event.message is not None
        assert event.message.state == state


# --- to_dict and to_json ---------------------------------------------------------------------

EVENT_OBJECTS = [
    pytest.param({"event_type": "token", "text": "Hi"}, id="token"),
    pytest.param({"event_type": "pending", "queue_position": 2, "queue_size": 5}, id="pending"),
    pytest.param({"event_type": "message", "message": MESSAGE}, id="message"),
    pytest.param({"event_type": "error", "error": "Timeout", "message": MESSAGE}, id="error"),
    pytest.param({"event_type": "error", "error": "Timeout", "message": None}, id="error-bare"),
    pytest.param(
        {
            "event_type": "plugin_intermediate",
            "current_plugin_thought": "t",
            "current_plugin_action_taken": "a",
            "current_plugin_action_input": "i",
            "current_plugin_action_response": "r",
        },
        id="plugin",
    ),
    pytest.param({"event_type": "safe_prompt", "safe_prompt": "be nice"}, id="unknown"),
]


@pytest.mark.parametrize("obj", EVENT_OBJECTS)
def test_to_json_is_the_server_s_event_object_and_round_trips(obj: dict[str, Any]) -> None:
    event = event_from_json(obj)
    data = event.to_json()
    assert data["event_type"] == obj["event_type"]
    assert event_from_json(json.loads(json.dumps(data))) == event
    plain = event.to_dict()
    assert plain["event_type"] == obj["event_type"]
    assert set(plain) == set(data)


def test_the_keys_of_simple_events_are_the_server_s() -> None:
    assert TokenEvent("Hi").to_json() == {"event_type": "token", "text": "Hi"}
    assert PendingEvent(1, 3).to_dict() == {
        "event_type": "pending",
        "queue_position": 1,
        "queue_size": 3,
    }


def test_a_message_event_holds_the_message_s_dict() -> None:
    event = event_from_json({"event_type": "message", "message": MESSAGE})
    assert isinstance(event, MessageEvent)
    assert event.to_dict()["message"] == event.message.to_dict()
    assert event.to_json()["message"] == event.message.to_json()
    assert event.to_json()["message"]["created_at"] == MESSAGE["created_at"] + "+00:00"


def test_every_event_of_a_recorded_stream_round_trips() -> None:
    body = golden.body(golden.PINGS, 18)
    objs = [json.loads(line[6:]) for line in body.split(b"\r\n") if line.startswith(b"data: ")]
    assert len(objs) > 10
    for obj in objs:
        event = event_from_json(obj)
        assert event_from_json(event.to_json()) == event


def test_an_unknown_event_s_dict_is_a_copy_of_its_data() -> None:
    data = {"event_type": "safe_prompt", "safe_prompt": "be nice"}
    event = event_from_json(data)
    assert isinstance(event, UnknownEvent)
    copied = event.to_dict()
    assert copied == data
    copied["safe_prompt"] = "changed"
    assert event.data["safe_prompt"] == "be nice"
