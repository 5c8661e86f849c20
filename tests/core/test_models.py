"""Value objects from the server's JSON (docs/protocol.md 2.4, 4) and SamplingParameters."""

from __future__ import annotations

import contextlib
import copy
import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import (
    DEFAULT_MODEL,
    ChatInfo,
    ChatPage,
    InvalidResponseError,
    Message,
    ModelConfig,
    ModelInfo,
    Preset,
    SamplingParameters,
    TokenPair,
    WorkParameters,
)
from openassistant_sdk._sampling import PRESETS
from openassistant_sdk._values import parse_list

from . import golden

# --- golden bodies ---------------------------------------------------------------------------


def test_token_pair_from_the_debug_login() -> None:
    data = golden.json_body(golden.FULL_FLOW, 1)
    pair = TokenPair.from_json(data)
    assert pair.access_token == data["access_token"]["access_token"]
    assert pair.refresh_token == data["refresh_token"]["access_token"]
    assert pair.access_token.startswith("eyJ")


def test_token_pair_repr_hides_the_tokens() -> None:
    pair = TokenPair.from_json(golden.json_body(golden.FULL_FLOW, 1))
    assert pair.refresh_token is not None
    for text in (repr(pair), str(pair)):
        assert pair.access_token not in text
        assert pair.refresh_token not in text
        assert "eyJ" not in text


def test_token_pair_from_a_flat_answer() -> None:
    pair = TokenPair.from_json({"access_token": "abc", "token_type": "bearer"})
    assert (pair.access_token, pair.refresh_token) == ("abc", None)


def test_chat_from_create_chat() -> None:
    data = golden.json_body(golden.FULL_FLOW, 4)
    chat = ChatInfo.from_json(data)
    assert chat.id == data["id"]
    assert chat.title is None
    assert chat.hidden is False
    assert chat.allow_data_use is True
    assert chat.active_thread_tail_message_id is None
    assert chat.messages == ()
    assert chat.created_at is not None
    assert chat.modified_at is not None
    assert chat.created_at <= chat.modified_at


def test_chat_with_messages_from_get_chat() -> None:
    data = golden.json_body(golden.FULL_FLOW, 25)
    chat = ChatInfo.from_json(data)
    assert chat.title == "Hello, who are you?"
    assert len(chat.messages) == 6
    assert sorted(m.role for m in chat.messages) == ["assistant"] * 3 + ["prompter"] * 3
    assert {m.chat_id for m in chat.messages} == {chat.id}
    ids = {m.id for m in chat.messages}
    roots = [m for m in chat.messages if m.parent_id is None]
    assert len(roots) == 1
    assert roots[0].role == "prompter"
    assert all(m.parent_id in ids for m in chat.messages if m is not roots[0])
    assert all(m.state == "complete" for m in chat.messages if m.role == "assistant")


def test_chat_page_from_list_chats() -> None:
    data = golden.json_body(golden.FULL_FLOW, 13)
    page = ChatPage.from_json(data)
    assert len(page) == 3
    assert [c.id for c in page] == [c["id"] for c in data["chats"]]
    assert page.next is None
    assert page.prev is None
    assert page.chats[1].title == "Hello, who are you?"


def test_chat_page_cursors() -> None:
    page = ChatPage.from_json({"chats": [], "next": "YQ==", "prev": "Yg=="})
    assert (page.next, page.prev, len(page), list(page)) == ("YQ==", "Yg==", 0, [])


def test_prompter_message() -> None:
    data = golden.json_body(golden.FULL_FLOW, 7)
    message = Message.from_json(data)
    assert message.role == "prompter"
    assert message.state == "manual"
    assert message.parent_id is None
    assert message.content == "Hello, who are you?"
    assert message.work_parameters is None
    assert message.is_finished


def test_pending_assistant_message() -> None:
    data = golden.json_body(golden.FULL_FLOW, 8)
    message = Message.from_json(data)
    assert message.role == "assistant"
    assert message.state == "pending"
    assert message.content is None
    assert not message.is_finished
    assert message.parent_id == golden.json_body(golden.FULL_FLOW, 7)["id"]
    work = message.work_parameters
    assert work is not None
    assert work.seed == 1007384498193820715
    assert work.model_config.model_id == "_lorem"
    assert (work.model_config.max_input_length, work.model_config.max_total_length) == (128, 256)
    assert work.model_config.quantized is False
    assert work.sampling_parameters == SamplingParameters(
        top_k=50, top_p=0.95, temperature=0.75, repetition_penalty=1.2, max_new_tokens=20
    )
    assert work.do_sample is True
    assert work.plugins == ()
    assert work.plugin_max_depth == 4
    assert work.system_prompt is None


def test_complete_assistant_message() -> None:
    message = Message.from_json(golden.json_body(golden.FULL_FLOW, 11))
    assert message.state == "complete"
    assert message.content is not None
    assert message.content.startswith("Est neque tempora")
    assert message.is_finished


@pytest.mark.parametrize(
    ("number", "state", "finished"),
    [(10, "cancelled", False), (13, "timeout", False), (19, "aborted_by_worker", True)],
)
def test_dead_assistant_messages(number: int, state: str, finished: bool) -> None:
    message = Message.from_json(golden.json_body(golden.PINGS, number))
    assert message.state == state
    assert message.content is None
    # Cancelled and timed-out messages are not finished: their stream shows `pending` (5.3).
    assert message.is_finished is finished


def test_seed_above_two_to_the_63() -> None:
    message = Message.from_json(golden.json_body(golden.PINGS, 13))
    assert message.work_parameters is not None
    assert message.work_parameters.seed == 12708532953114415730
    assert message.work_parameters.seed > 2**63


def test_model_configs() -> None:
    configs = parse_list(golden.json_body(golden.FULL_FLOW, 30), ModelConfig.from_json, "models")
    assert len(configs) == 25
    names = [c.name for c in configs]
    assert names[0] == "_lorem"
    assert DEFAULT_MODEL in names
    for config in configs:
        assert [p.name for p in config.presets] == list(PRESETS)
        for preset in config.presets:
            # The server's presets are exactly the ones the SDK knows by name (4.2).
            assert preset == PRESETS[preset.name]
            assert preset.sampling_parameters == SamplingParameters.preset(preset.name)
            assert config.preset(preset.name) is preset


def test_model_config_preset_unknown_name() -> None:
    config = ModelConfig.from_json(golden.json_body(golden.FULL_FLOW, 30)[0])
    with pytest.raises(ValueError, match="no preset 'k51'"):
        config.preset("k51")


def test_model_config_without_presets() -> None:
    config = ModelConfig.from_json({"name": "m"})
    assert (config.name, config.description, config.presets) == ("m", "", ())


# --- timestamps ------------------------------------------------------------------------------


def test_server_timestamps_are_timezone_aware_utc() -> None:
    message = Message.from_json(golden.json_body(golden.FULL_FLOW, 7))
    assert message.created_at == datetime(2026, 11, 25, 12, 5, 14, 793202, tzinfo=timezone.utc)
    assert message.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-08-01T12:00:00", datetime(2023, 8, 1, 12, tzinfo=timezone.utc)),
        ("2023-08-01T12:00:00.123456", datetime(2023, 8, 1, 12, 0, 0, 123456, timezone.utc)),
        ("2023-08-01T12:00:00Z", datetime(2023, 8, 1, 12, tzinfo=timezone.utc)),
        ("2023-08-01T14:00:00+02:00", datetime(2023, 8, 1, 12, tzinfo=timezone.utc)),
    ],
)
def test_timestamps(text: str, expected: datetime) -> None:
    chat = ChatInfo.from_json({"id": "c", "created_at": text, "modified_at": None})
    assert chat.created_at == expected
    assert chat.created_at is not None
    assert chat.created_at.tzinfo is not None
    assert chat.modified_at is None


# --- tolerance and strictness ----------------------------------------------------------------

MINIMAL_MESSAGE: dict[str, Any] = {
    "id": "m",
    "chat_id": "c",
    "role": "assistant",
    "state": "pending",
}


def test_unknown_fields_are_ignored() -> None:
    data = golden.json_body(golden.FULL_FLOW, 11)
    extended = copy.deepcopy(data)
    extended["brand_new"] = {"x": 1}
    extended["work_parameters"]["model_config"]["gpu"] = "a100"
    extended["work_parameters"]["sampling_parameters"]["min_p"] = 0.1
    assert Message.from_json(extended) == Message.from_json(data)
    chat = golden.json_body(golden.FULL_FLOW, 4)
    assert ChatInfo.from_json({**chat, "owner": "me"}) == ChatInfo.from_json(chat)


def test_missing_optional_fields_default() -> None:
    message = Message.from_json(MINIMAL_MESSAGE)
    assert message.parent_id is None
    assert message.content is None
    assert message.created_at is None
    assert message.score == 0
    assert message.work_parameters is None
    assert message.used_plugin is None
    chat = ChatInfo.from_json({"id": "c"})
    assert chat == ChatInfo(id="c")
    assert (chat.hidden, chat.allow_data_use, chat.messages) == (False, True, ())


def test_the_caller_s_json_is_not_changed() -> None:
    data = golden.json_body(golden.FULL_FLOW, 25)
    before = copy.deepcopy(data)
    ChatInfo.from_json(data)
    assert data == before


def test_unknown_roles_and_states_are_kept() -> None:
    message = Message.from_json({**MINIMAL_MESSAGE, "role": "system", "state": "paused"})
    assert (message.role, message.state) == ("system", "paused")
    assert not message.is_finished


def _with(path: str, value: object) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(golden.json_body(golden.FULL_FLOW, 11))
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("id", 5),
        ("id", KeyError),
        ("chat_id", None),
        ("parent_id", 5),
        ("role", KeyError),
        ("state", 1),
        ("content", ["a"]),
        ("created_at", "yesterday"),
        ("created_at", 1690000000),
        ("score", "1"),
        ("score", True),
        ("work_parameters", "x"),
        ("work_parameters.model_config", KeyError),
        ("work_parameters.model_config.model_id", 1),
        ("work_parameters.model_config.max_total_length", "256"),
        ("work_parameters.seed", 1.5),
        ("work_parameters.seed", "123"),
        ("work_parameters.sampling_parameters", "k50"),
        ("work_parameters.sampling_parameters.top_k", "50"),
        ("work_parameters.system_prompt", 1),
        ("work_parameters.plugins", 5),
    ],
)
def test_wrong_types_raise_invalid_response_error(path: str, value: object) -> None:
    with pytest.raises(InvalidResponseError):
        Message.from_json(_with(path, value))


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (Message.from_json, None),
        (Message.from_json, []),
        (Message.from_json, "m"),
        (ChatInfo.from_json, {"id": 1}),
        (ChatInfo.from_json, {"id": "c", "messages": "none"}),
        (ChatInfo.from_json, {"id": "c", "messages": [1]}),
        (ChatInfo.from_json, {"id": "c", "title": 5}),
        (ChatInfo.from_json, {"id": "c", "created_at": "soon"}),
        (ChatPage.from_json, {"chats": {"c": {"id": "c"}}}),
        (ChatPage.from_json, {"chats": [], "next": 1}),
        (ChatPage.from_json, []),
        (ModelConfig.from_json, {"name": None}),
        (ModelConfig.from_json, {"name": "m", "parameter_configs": "k50"}),
        (ModelConfig.from_json, {"name": "m", "parameter_configs": [{"name": 1}]}),
        (Preset.from_json, {"name": "k50", "sampling_parameters": None}),
        (Preset.from_json, {"name": "k50", "sampling_parameters": {"top_p": "high"}}),
        (TokenPair.from_json, {"access_token": 5}),
        (TokenPair.from_json, {"access_token": {"access_token": None}}),
        (TokenPair.from_json, "token"),
    ],
)
def test_other_wrong_shapes_raise_invalid_response_error(parse: Any, data: object) -> None:
    with pytest.raises(InvalidResponseError):
        parse(data)


def _deep(depth: int, *, as_object: bool = False) -> object:
    """A list (or object) nested ``depth`` deep, built in a loop: repr() of it recurses."""
    value: object = []
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


@pytest.mark.parametrize("as_object", [False, True], ids=["list", "object"])
@pytest.mark.parametrize(
    "path",
    [
        "id",
        "chat_id",
        "parent_id",
        "role",
        "state",
        "content",
        "created_at",
        "score",
        "work_parameters.model_config.model_id",
        "work_parameters.model_config.max_total_length",
        "work_parameters.seed",
        "work_parameters.system_prompt",
    ],
)
def test_a_deeply_nested_value_in_a_field_is_an_invalid_response_error(
    path: str, as_object: bool
) -> None:
    # The error message shows the wrong value: never by a repr that recurses past the limit.
    with pytest.raises(InvalidResponseError, match=path.rsplit(".", 1)[-1]):
        Message.from_json(_with(path, _deep(100_000, as_object=as_object)))


@pytest.mark.parametrize(
    ("parse", "data"),
    [
        (ChatInfo.from_json, {"id": "c", "title": _deep(100_000)}),
        (ChatPage.from_json, {"chats": [], "next": _deep(100_000, as_object=True)}),
        (ModelConfig.from_json, {"name": _deep(100_000)}),
        (Preset.from_json, {"name": "k50", "description": _deep(100_000)}),
    ],
)
def test_deeply_nested_values_in_other_models_are_invalid_response_errors(
    parse: Any, data: object
) -> None:
    with pytest.raises(InvalidResponseError):
        parse(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
_FIELDS = ["id", "chat_id", "parent_id", "role", "state", "content", "created_at", "score",
           "work_parameters", "used_plugin", "title", "messages", "chats", "next", "name",
           "parameter_configs", "sampling_parameters", "model_config", "model_id", "plugins"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    parse=st.sampled_from(
        [Message.from_json, ChatInfo.from_json, ChatPage.from_json, ModelConfig.from_json]
    ),
    data=json_values | st.dictionaries(st.sampled_from(_FIELDS), json_values, max_size=8),
)
def test_from_json_raises_nothing_but_invalid_response_error(parse: Any, data: object) -> None:
    with contextlib.suppress(InvalidResponseError):
        parse(data)


@pytest.mark.parametrize("data", [{"a": 1}, "[]", None, 5])
def test_parse_list_needs_a_list(data: object) -> None:
    with pytest.raises(InvalidResponseError, match="list"):
        parse_list(data, ModelConfig.from_json, "model configs")


def test_models_are_frozen() -> None:
    message = Message.from_json(MINIMAL_MESSAGE)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.content = "changed"  # type: ignore[misc]


# --- SamplingParameters ----------------------------------------------------------------------

PRESET_VALUES = {
    # name: (top_k, top_p, typical_p, temperature, repetition_penalty), docs/protocol.md 4.2
    "k50": (50, 0.95, None, 0.75, 1.2),
    "k50-Creative": (50, 0.95, None, 0.85, 1.2),
    "k50-Precise": (50, 0.95, None, 0.1, 1.2),
    "k50-Original": (50, 0.95, None, 0.9, 1.2),
    "k50-Plugins": (50, None, None, 0.35, 1.1111111111111112),
    "nucleus9": (None, 0.9, None, 0.8, 1.2),
    "typical2": (None, None, 0.2, 0.8, 1.2),
    "typical3": (None, None, 0.3, 0.8, 1.2),
}


@pytest.mark.parametrize("name", list(PRESET_VALUES))
def test_presets_have_the_server_s_values(name: str) -> None:
    preset = SamplingParameters.preset(name)
    top_k, top_p, typical_p, temperature, repetition_penalty = PRESET_VALUES[name]
    assert preset == SamplingParameters(
        top_k=top_k,
        top_p=top_p,
        typical_p=typical_p,
        temperature=temperature,
        repetition_penalty=repetition_penalty,
        max_new_tokens=1024,
    )
    assert preset.to_json()["max_new_tokens"] == 1024


def test_the_plugins_preset_is_the_seed_s_defaults() -> None:
    # docs/protocol.md 7: gpt4free's sampling defaults are exactly k50-Plugins.
    assert SamplingParameters.preset("k50-Plugins").to_json() == {
        "top_k": 50,
        "top_p": None,
        "typical_p": None,
        "temperature": 0.35,
        "repetition_penalty": 1.1111111111111112,
        "max_new_tokens": 1024,
    }


def test_presets_are_in_the_server_s_order() -> None:
    assert list(PRESETS) == list(PRESET_VALUES)


@pytest.mark.parametrize("name", ["K50", "k51", "", "k50 "])
def test_unknown_preset(name: str) -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        SamplingParameters.preset(name)


def test_defaults_are_all_none_and_max_new_tokens_is_omitted() -> None:
    assert SamplingParameters().to_json() == {
        "top_k": None,
        "top_p": None,
        "typical_p": None,
        "temperature": None,
        "repetition_penalty": None,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("top_k", 1),
        ("top_k", 2000),
        ("top_p", 1),
        ("top_p", 1.0),
        ("top_p", 1e-9),
        ("typical_p", 0.5),
        ("typical_p", 1.0),
        ("temperature", 1e-9),
        ("temperature", 2),
        ("temperature", 100.0),
        ("repetition_penalty", 1e-9),
        ("repetition_penalty", 3.0),
        ("max_new_tokens", 1),
        ("max_new_tokens", 100_000),
    ],
)
def test_values_at_and_inside_the_bounds_are_accepted(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {field: value}
    params = SamplingParameters(**kwargs)
    assert getattr(params, field) == value
    assert params.to_json()[field] == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("top_k", 0),
        ("top_k", -1),
        ("top_k", 50.0),
        ("top_k", True),
        ("top_k", "50"),
        ("top_p", 0),
        ("top_p", 0.0),
        ("top_p", -0.1),
        ("top_p", 1.0000001),
        ("top_p", True),
        ("typical_p", 0),
        ("typical_p", 1.5),
        ("temperature", 0),
        ("temperature", -0.5),
        ("temperature", False),
        ("temperature", "0.7"),
        ("repetition_penalty", 0),
        ("repetition_penalty", -1.2),
        ("max_new_tokens", 0),
        ("max_new_tokens", 1.5),
        ("max_new_tokens", 1024.0),
        ("max_new_tokens", True),
        ("top_p", math.nan),
        ("typical_p", math.nan),
        ("temperature", math.nan),
        ("temperature", math.inf),
        ("repetition_penalty", math.inf),
        ("repetition_penalty", -math.inf),
        ("top_p", math.inf),
    ],
)
def test_out_of_range_or_wrong_type_values_are_rejected(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field):
        SamplingParameters(**kwargs)


def test_replace_validates_again() -> None:
    k50 = SamplingParameters.preset("k50")
    assert k50.replace(temperature=0.2).temperature == 0.2
    assert k50.replace(temperature=0.2).top_k == 50
    with pytest.raises(ValueError, match="temperature"):
        k50.replace(temperature=0)


def test_sampling_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        SamplingParameters(50)  # type: ignore[call-arg]


def test_from_json_does_not_validate_what_the_server_stored() -> None:
    stored = {"top_k": 0, "top_p": 1.5, "temperature": 0, "max_new_tokens": None}
    params = SamplingParameters.from_json(stored)
    assert (params.top_k, params.top_p, params.temperature, params.max_new_tokens) == (
        0,
        1.5,
        0,
        None,
    )
    assert params.typical_p is None


positive = st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False)
probability = st.floats(min_value=1e-9, max_value=1.0, allow_nan=False)
valid_parameters = st.builds(
    SamplingParameters,
    top_k=st.none() | st.integers(1, 10_000),
    top_p=st.none() | probability,
    typical_p=st.none() | probability,
    temperature=st.none() | positive,
    repetition_penalty=st.none() | positive,
    max_new_tokens=st.none() | st.integers(1, 100_000),
)


@settings(max_examples=150, deadline=None)
@given(valid_parameters)
def test_to_json_round_trips_and_never_sends_a_null_max_new_tokens(
    params: SamplingParameters,
) -> None:
    body = params.to_json()
    assert body.get("max_new_tokens", 1) is not None
    assert {"top_k", "top_p", "typical_p", "temperature", "repetition_penalty"} <= set(body)
    assert SamplingParameters.from_json(body) == params


@settings(max_examples=150, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_top_p_accepts_exactly_the_interval_zero_one(value: float) -> None:
    if 0 < value <= 1:
        assert SamplingParameters(top_p=value).top_p == value
    else:
        with pytest.raises(ValueError, match="top_p"):
            SamplingParameters(top_p=value)


# --- to_dict, to_json and Message.text -------------------------------------------------------


GOLDEN_VALUES = [
    pytest.param(ChatInfo.from_json, golden.FULL_FLOW, 4, id="chat-created"),
    pytest.param(ChatInfo.from_json, golden.FULL_FLOW, 25, id="chat-with-messages"),
    pytest.param(ChatPage.from_json, golden.FULL_FLOW, 13, id="chat-page"),
    pytest.param(Message.from_json, golden.FULL_FLOW, 7, id="prompter-message"),
    pytest.param(Message.from_json, golden.FULL_FLOW, 8, id="pending-message"),
    pytest.param(Message.from_json, golden.FULL_FLOW, 11, id="complete-message"),
    pytest.param(Message.from_json, golden.PINGS, 13, id="timeout-message-big-seed"),
]


@pytest.mark.parametrize(("parse", "name", "number"), GOLDEN_VALUES)
def test_to_json_round_trips_through_json_text(parse: Any, name: str, number: int) -> None:
    value = parse(golden.json_body(name, number))
    data = value.to_json()
    assert parse(json.loads(json.dumps(data))) == value
    assert parse(data) == value


def test_model_configs_round_trip_in_the_server_s_shape() -> None:
    for obj in golden.json_body(golden.FULL_FLOW, 30):
        config = ModelConfig.from_json(obj)
        data = config.to_json()
        assert set(data) == {"name", "description", "parameter_configs"}
        assert ModelConfig.from_json(json.loads(json.dumps(data))) == config
        assert [p["name"] for p in config.to_dict()["presets"]] == [p.name for p in config.presets]


def test_to_json_keeps_the_server_s_field_names_and_values() -> None:
    obj = golden.json_body(golden.FULL_FLOW, 8)
    data = Message.from_json(obj).to_json()
    for key in ("id", "chat_id", "parent_id", "role", "state", "content", "score"):
        assert data[key] == obj[key]
    assert data["work_parameters"]["seed"] == obj["work_parameters"]["seed"]
    assert data["work_parameters"]["model_config"]["model_id"] == "_lorem"
    # The server's naive UTC timestamp, made explicit.
    assert data["created_at"] == obj["created_at"] + "+00:00"


def test_to_dict_has_python_values() -> None:
    message = Message.from_json(golden.json_body(golden.FULL_FLOW, 8))
    data = message.to_dict()
    assert data["created_at"] == message.created_at
    assert isinstance(data["created_at"], datetime)
    assert data["work_parameters"]["sampling_parameters"] == {
        "top_k": 50,
        "top_p": 0.95,
        "typical_p": None,
        "temperature": 0.75,
        "repetition_penalty": 1.2,
        "max_new_tokens": 20,
    }
    assert data["work_parameters"]["plugins"] == []
    chat = ChatInfo.from_json(golden.json_body(golden.FULL_FLOW, 25)).to_dict()
    assert [m["id"] for m in chat["messages"]] == [
        m.id for m in ChatInfo.from_json(golden.json_body(golden.FULL_FLOW, 25)).messages
    ]
    assert ChatPage.from_json({"chats": [{"id": "c"}]}).to_dict()["chats"][0]["id"] == "c"


def test_to_dict_and_to_json_return_new_dicts() -> None:
    plugin = {"name": "search", "enabled": True}
    message = Message.from_json({**golden.json_body(golden.FULL_FLOW, 11), "used_plugin": plugin})
    for data in (message.to_dict(), message.to_json()):
        assert data["used_plugin"] == plugin
        data["used_plugin"]["name"] = "changed"
        data["content"] = "changed"
    assert message.used_plugin == {"name": "search", "enabled": True}
    assert message.content != "changed"


def test_sampling_parameters_to_dict_has_all_six_fields() -> None:
    assert SamplingParameters(top_k=5).to_dict() == {
        "top_k": 5,
        "top_p": None,
        "typical_p": None,
        "temperature": None,
        "repetition_penalty": None,
        "max_new_tokens": None,
    }
    preset = PRESETS["k50"]
    assert Preset.from_json(preset.to_json()) == preset
    assert preset.to_dict()["sampling_parameters"]["max_new_tokens"] == 1024


def test_the_token_pair_offers_no_dict_of_its_secrets() -> None:
    assert not hasattr(TokenPair, "to_dict")
    assert not hasattr(TokenPair, "to_json")


timestamps = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)
texts = st.text(max_size=10)
messages = st.builds(
    Message,
    id=texts,
    chat_id=texts,
    parent_id=st.none() | texts,
    role=st.sampled_from(["prompter", "assistant"]),
    state=st.sampled_from(["manual", "pending", "complete", "timeout"]),
    content=st.none() | texts,
    created_at=timestamps,
    score=st.integers(-1, 1),
    work_parameters=st.none()
    | st.builds(
        WorkParameters,
        model_config=st.builds(
            ModelInfo,
            model_id=texts,
            max_input_length=st.none() | st.integers(0, 10_000),
            max_total_length=st.none() | st.integers(0, 10_000),
            quantized=st.booleans(),
        ),
        sampling_parameters=valid_parameters,
        seed=st.none() | st.integers(0, 2**64),
        do_sample=st.booleans(),
        system_prompt=st.none() | texts,
        plugins=st.lists(st.dictionaries(texts, texts, max_size=2), max_size=2).map(tuple),
        plugin_max_depth=st.none() | st.integers(0, 9),
    ),
    used_plugin=st.none() | st.dictionaries(texts, st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(message=messages)
def test_any_message_round_trips_through_to_json(message: Message) -> None:
    assert Message.from_json(json.loads(json.dumps(message.to_json()))) == message


@settings(max_examples=100, deadline=None)
@given(
    chats=st.lists(
        st.builds(
            ChatInfo,
            id=texts,
            title=st.none() | texts,
            created_at=timestamps,
            modified_at=timestamps,
            hidden=st.booleans(),
            allow_data_use=st.booleans(),
            active_thread_tail_message_id=st.none() | texts,
            # from_json sorts messages by time: give them distinct, increasing times.
            messages=st.lists(messages, max_size=3).map(
                lambda ms: tuple(
                    attrs.evolve(m, created_at=datetime(2026, 1, 1 + i, tzinfo=timezone.utc))
                    for i, m in enumerate(ms)
                )
            ),
        ),
        max_size=3,
    ).map(tuple),
    cursor=st.none() | texts,
)
def test_any_chat_page_round_trips_through_to_json(
    chats: tuple[ChatInfo, ...], cursor: str | None
) -> None:
    page = ChatPage(chats=chats, next=cursor, prev=cursor)
    assert ChatPage.from_json(json.loads(json.dumps(page.to_json()))) == page


@pytest.mark.parametrize(
    ("number", "text"),
    [(7, "Hello, who are you?"), (8, "")],
    ids=["prompter", "pending-assistant"],
)
def test_message_text_is_always_a_string(number: int, text: str) -> None:
    message = Message.from_json(golden.json_body(golden.FULL_FLOW, number))
    assert message.text == text
    assert message.text == (message.content or "")
    complete = Message.from_json(golden.json_body(golden.FULL_FLOW, 11))
    assert complete.text is complete.content
