"""Request builders for both APIs: the exact requests of docs/protocol.md 1.2, 1.3, 2.2 and 2.3."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlencode

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import RequestSpec, SamplingParameters
from openassistant_sdk._requests import InferenceRoutes
from openassistant_sdk._routes import WebsiteRoutes, routes_for

from . import golden

CHAT = "06b06cef-ac37-7284-8000-7d9898a26b74"
PROMPTER = "06b06cef-acb0-7d84-8000-3f6bd7edf23e"
ASSISTANT = "06b06cf0-312a-7e2d-8000-30992ca2b9ec"
K50 = SamplingParameters.preset("k50")

inference = InferenceRoutes()
website = WebsiteRoutes()


def target(spec: RequestSpec) -> str:
    """The request target as it goes on the wire: path and query."""
    return spec.path + ("?" + urlencode(spec.params) if spec.params else "")


def test_routes_for() -> None:
    assert isinstance(routes_for("website"), WebsiteRoutes)
    assert isinstance(routes_for("inference"), InferenceRoutes)
    assert routes_for("website").api == "website"
    assert routes_for("inference").api == "inference"
    with pytest.raises(ValueError, match="website"):
        routes_for("graphql")  # type: ignore[arg-type]


def test_request_spec_is_frozen() -> None:
    spec = inference.get_chat(CHAT)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        spec.path = "/"  # type: ignore[misc]


# --- the inference server, against the recorded requests ------------------------------------


def test_inference_create_chat_sends_an_empty_object() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 4)
    spec = inference.create_chat()
    assert (spec.method, target(spec)) == (recorded.method, recorded.target) == ("POST", "/chats")
    assert spec.has_body
    assert spec.json == recorded.request_json() == {}
    assert spec.operation == "create_chat"
    assert spec.authenticated


def test_inference_prompter_message_matches_the_recording() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 7)
    spec = inference.prompter_message(CHAT, None, "Hello, who are you?")
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert (
        spec.json
        == recorded.request_json()
        == {
            "parent_id": None,
            "content": "Hello, who are you?",
        }
    )


def test_inference_prompter_message_with_a_parent() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 19)
    sent = recorded.request_json()
    spec = inference.prompter_message(CHAT, sent["parent_id"], sent["content"])
    assert target(spec) == recorded.target
    assert spec.json == sent


def test_inference_assistant_message_matches_the_recording() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 8)
    sampling = K50.replace(max_new_tokens=20)
    spec = inference.assistant_message(CHAT, PROMPTER, "_lorem", sampling)
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert spec.json == recorded.request_json()
    assert spec.operation == "assistant_message"


def test_assistant_message_without_max_new_tokens_omits_it() -> None:
    spec = inference.assistant_message(CHAT, PROMPTER, "m", SamplingParameters())
    # The server answers 422 to "max_new_tokens": null (docs/protocol.md 4.1, golden 02 #23).
    assert spec.json["sampling_parameters"] == {
        "top_k": None,
        "top_p": None,
        "typical_p": None,
        "temperature": None,
        "repetition_penalty": None,
    }


def test_assistant_message_optional_fields_are_sent_only_when_set() -> None:
    spec = inference.assistant_message(
        CHAT,
        PROMPTER,
        "m",
        K50,
        system_prompt="Be brief",
        user_profile="",
        user_response_instructions="Answer in French",
        plugins=[{"url": "https://example.org/ai-plugin.json", "enabled": True}],
    )
    assert spec.json == {
        "parent_id": PROMPTER,
        "model_config_name": "m",
        "sampling_parameters": K50.to_json(),
        "plugins": [{"url": "https://example.org/ai-plugin.json", "enabled": True}],
        "system_prompt": "Be brief",
        "user_profile": "",
        "user_response_instructions": "Answer in French",
    }


def test_inference_events_matches_the_recording() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 9)
    message_id = recorded.target.split("/")[4]
    spec = inference.events(CHAT, message_id)
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert not spec.has_body
    assert spec.stream
    assert ("Accept", "text/event-stream") in spec.headers


def test_inference_get_message_matches_the_recording() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 11)
    message_id = recorded.target.rsplit("/", 1)[1]
    spec = inference.get_message(CHAT, message_id)
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert not spec.has_body
    assert not spec.stream


def test_inference_list_get_update_vote_delete_match_the_recordings() -> None:
    cases: list[tuple[int, RequestSpec]] = [
        (13, inference.list_chats()),
        (14, inference.get_chat(CHAT)),
        (26, inference.update_chat(CHAT, {"title": "renamed"})),
        (27, inference.vote(CHAT, ASSISTANT, 1)),
        (28, inference.delete_chat(CHAT)),
        (30, inference.models()),
    ]
    for number, spec in cases:
        recorded = golden.exchange(golden.FULL_FLOW, number)
        assert (spec.method, target(spec)) == (recorded.method, recorded.target), number
        if recorded.request_body:
            assert spec.json == recorded.request_json(), number
        else:
            assert not spec.has_body, number


def test_inference_models_need_no_auth() -> None:
    assert not inference.models().authenticated


def test_inference_debug_login_matches_the_recording() -> None:
    recorded = golden.exchange(golden.FULL_FLOW, 1)
    spec = inference.debug_login("alice")
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert not spec.authenticated
    assert not spec.has_body


def test_inference_refresh_sends_the_raw_token_in_a_refresh_header() -> None:
    recorded = golden.exchange(golden.ERRORS, 14)
    token = recorded.request_headers["refresh"]
    spec = inference.refresh(token)
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert dict(spec.headers) == {"Refresh": token}
    assert not spec.authenticated


def test_inference_trusted_login_has_no_body() -> None:
    recorded = golden.exchange(golden.ERRORS, 19)
    spec = inference.trusted_login()
    assert (spec.method, target(spec)) == (recorded.method, recorded.target)
    assert recorded.request_body == b""
    assert not spec.has_body


def test_inference_list_chats_parameters() -> None:
    spec = inference.list_chats(limit=5, after="YQ==", include_hidden=True)
    assert spec.params == (("include_hidden", "true"), ("limit", "5"), ("after", "YQ=="))
    assert inference.list_chats(before="Yg==").params == (("before", "Yg=="),)
    assert inference.list_chats(limit=1).params == (("limit", "1"),)
    assert inference.list_chats(limit=100).params == (("limit", "100"),)


def test_update_chat_sends_only_non_null_fields() -> None:
    spec = inference.update_chat(CHAT, {"title": None, "hidden": True, "allow_data_use": False})
    assert spec.json == {"hidden": True, "allow_data_use": False}
    empty = inference.update_chat(CHAT, {})
    assert empty.has_body  # the server requires a body; {} is fine (2.2)
    assert empty.json == {}


def test_update_chat_accepts_a_title_of_100_characters() -> None:
    assert inference.update_chat(CHAT, {"title": "t" * 100}).json == {"title": "t" * 100}


# --- the website ------------------------------------------------------------------------------


def test_website_routes() -> None:
    cases: list[tuple[RequestSpec, str, str, Any]] = [
        (website.create_chat(), "POST", "/api/chat", None),
        (website.list_chats(), "GET", "/api/chat", None),
        (website.get_chat(CHAT), "GET", f"/api/chat?chat_id={CHAT}", None),
        (website.delete_chat(CHAT), "DELETE", f"/api/chat?chat_id={CHAT}", None),
        (
            website.update_chat(CHAT, {"title": "renamed", "hidden": None}),
            "PUT",
            "/api/chat",
            {"chat_id": CHAT, "title": "renamed"},
        ),
        (
            website.prompter_message(CHAT, None, "Hello"),
            "POST",
            "/api/chat/prompter_message",
            {"chat_id": CHAT, "parent_id": None, "content": "Hello"},
        ),
        (
            website.get_message(CHAT, ASSISTANT),
            "GET",
            f"/api/chat/message?chat_id={CHAT}&message_id={ASSISTANT}",
            None,
        ),
        (
            website.events(CHAT, ASSISTANT),
            "GET",
            f"/api/chat/events?chat_id={CHAT}&message_id={ASSISTANT}",
            None,
        ),
        (
            website.vote(CHAT, ASSISTANT, -1),
            "POST",
            "/api/chat/vote",
            {"chat_id": CHAT, "message_id": ASSISTANT, "score": -1},
        ),
        (website.models(), "GET", "/api/chat/models", None),
    ]
    for spec, method, wire_target, body in cases:
        assert spec.api == "website"
        assert (spec.method, target(spec)) == (method, wire_target), spec.operation
        if body is None:
            assert not spec.has_body, spec.operation  # e.g. create chat: no body (1.2)
        else:
            assert spec.json == body, spec.operation


def test_website_assistant_message_matches_the_documented_example() -> None:
    # docs/protocol.md 1.3; the whole body minus chat_id is forwarded upstream.
    spec = website.assistant_message(
        CHAT,
        PROMPTER,
        "OA_SFT_Llama_30B_6",
        SamplingParameters(
            top_k=50, top_p=0.95, temperature=0.75, repetition_penalty=1.2, max_new_tokens=1024
        ),
        user_profile="",
        user_response_instructions="",
    )
    assert (spec.method, target(spec)) == ("POST", "/api/chat/assistant_message")
    assert spec.json == {
        "chat_id": CHAT,
        "parent_id": PROMPTER,
        "model_config_name": "OA_SFT_Llama_30B_6",
        "sampling_parameters": {
            "top_k": 50,
            "top_p": 0.95,
            "typical_p": None,
            "temperature": 0.75,
            "repetition_penalty": 1.2,
            "max_new_tokens": 1024,
        },
        "plugins": [],
        "user_profile": "",
        "user_response_instructions": "",
    }
    without_chat = {k: v for k, v in spec.json.items() if k != "chat_id"}
    upstream = inference.assistant_message(
        CHAT, PROMPTER, "OA_SFT_Llama_30B_6", SamplingParameters.preset("k50"),
        user_profile="", user_response_instructions="",
    )  # fmt: skip
    assert without_chat == upstream.json


def test_website_events_is_a_stream() -> None:
    spec = website.events(CHAT, ASSISTANT)
    assert spec.stream
    assert ("Accept", "text/event-stream") in spec.headers


def test_website_list_chats_cursors() -> None:
    assert website.list_chats(after="YQ==", include_hidden=True).params == (
        ("include_hidden", "true"),
        ("after", "YQ=="),
    )


def test_both_apis_offer_the_same_chat_calls() -> None:
    chat_calls = {
        "create_chat", "list_chats", "get_chat", "update_chat", "delete_chat",
        "prompter_message", "assistant_message", "get_message", "events", "vote", "models",
    }  # fmt: skip
    for routes in (inference, website):
        assert chat_calls <= {n for n in dir(routes) if not n.startswith("_")}
        for name in chat_calls:
            assert getattr(routes, name).__name__ == name


# --- validation -----------------------------------------------------------------------------

BAD_IDS = ["", "a/b", "/", "a?b", "a#b", None, 5]

ID_BUILDERS = [
    ("get_chat", lambda r, i: r.get_chat(i)),
    ("delete_chat", lambda r, i: r.delete_chat(i)),
    ("update_chat", lambda r, i: r.update_chat(i, {"title": "t"})),
    ("prompter_message", lambda r, i: r.prompter_message(i, None, "Hi")),
    ("assistant_message chat", lambda r, i: r.assistant_message(i, PROMPTER, "m", K50)),
    ("assistant_message parent", lambda r, i: r.assistant_message(CHAT, i, "m", K50)),
    ("get_message chat", lambda r, i: r.get_message(i, ASSISTANT)),
    ("get_message message", lambda r, i: r.get_message(CHAT, i)),
    ("events chat", lambda r, i: r.events(i, ASSISTANT)),
    ("events message", lambda r, i: r.events(CHAT, i)),
    ("vote chat", lambda r, i: r.vote(i, ASSISTANT, 1)),
    ("vote message", lambda r, i: r.vote(CHAT, i, 1)),
]


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize(("name", "build"), ID_BUILDERS, ids=[n for n, _ in ID_BUILDERS])
@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_bad_ids_are_rejected(routes: Any, name: str, build: Any, bad: object) -> None:
    with pytest.raises(ValueError, match="must be a non-empty id"):
        build(routes, bad)


@pytest.mark.parametrize("bad", [".", "..", "a%2Fb", "%2e%2e", "%41"], ids=repr)
def test_ids_that_would_change_the_inference_path_are_rejected(bad: str) -> None:
    # DELETE "/chats/.." goes to "/" once the client removes dot segments (httpx does) and
    # "/chats/." to "/chats"; the server routes on the percent-decoded path, so "a%2Fb" is
    # two segments and "%41" deletes chat "A".
    with pytest.raises(ValueError, match="must be a non-empty id"):
        inference.delete_chat(bad)


@pytest.mark.parametrize("bad", [".", "..", "a%2Fb", "a b", "%41"], ids=repr)
def test_website_ids_go_into_the_query_unchanged(bad: str) -> None:
    spec = website.get_message(bad, bad)
    assert spec.path == "/api/chat/message"
    assert spec.params == (("chat_id", bad), ("message_id", bad))


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize("score", [2, -2, True, False, 1.0, "1", None])
def test_bad_scores_are_rejected(routes: Any, score: object) -> None:
    with pytest.raises(ValueError, match="score"):
        routes.vote(CHAT, ASSISTANT, score)


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize("limit", [0, 101, -1, True, 5.0, "5"])
def test_bad_limits_are_rejected(routes: Any, limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        routes.list_chats(limit=limit)


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
def test_after_and_before_together_are_rejected(routes: Any) -> None:
    # The server answers 400 "Cannot specify both after and before." (golden 02 #44).
    with pytest.raises(ValueError, match="after or before"):
        routes.list_chats(after="YQ==", before="YQ==")


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"name": "x"}, "cannot update"),
        ({"messages": []}, "cannot update"),
        ({"title": "t" * 101}, "100"),
        ({"title": 5}, "title"),
    ],
)
def test_bad_chat_updates_are_rejected(routes: Any, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        routes.update_chat(CHAT, changes)


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize("model", ["", None, 5])
def test_bad_model_names_are_rejected(routes: Any, model: object) -> None:
    with pytest.raises(ValueError, match="model"):
        routes.assistant_message(CHAT, PROMPTER, model, K50)


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize("content", [None, 5, b"Hi"])
def test_non_string_content_is_rejected(routes: Any, content: object) -> None:
    with pytest.raises(ValueError, match="content"):
        routes.prompter_message(CHAT, None, content)


SURROGATE = "abcd\u00e9\ud800-more"  # a lone surrogate at index 5: not UTF-8

SURROGATE_BUILDERS = [
    ("message content", lambda r, t: r.prompter_message(CHAT, None, t)),
    ("title", lambda r, t: r.update_chat(CHAT, {"title": t})),
    ("active_thread_tail_message_id", lambda r, t: r.update_chat(CHAT, {"active_thread_tail_message_id": t})),
    ("system_prompt", lambda r, t: r.assistant_message(CHAT, PROMPTER, "m", K50, system_prompt=t)),
    ("user_profile", lambda r, t: r.assistant_message(CHAT, PROMPTER, "m", K50, user_profile=t)),
    ("user_response_instructions", lambda r, t: r.assistant_message(CHAT, PROMPTER, "m", K50, user_response_instructions=t)),
    ("model", lambda r, t: r.assistant_message(CHAT, PROMPTER, t, K50)),
    ("chat_id", lambda r, t: r.get_chat(t)),
    ("message_id", lambda r, t: r.events(CHAT, t)),
    ("parent_id", lambda r, t: r.assistant_message(CHAT, t, "m", K50)),
]  # fmt: skip


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize(
    ("name", "build"), SURROGATE_BUILDERS, ids=[n for n, _ in SURROGATE_BUILDERS]
)
def test_text_with_a_lone_surrogate_is_rejected_before_any_request(
    routes: Any, name: str, build: Any
) -> None:
    # httpx would raise UnicodeEncodeError while sending, after the call's earlier requests.
    with pytest.raises(ValueError, match=rf"^{name} holds a lone surrogate '\\ud800' at index 5"):
        build(routes, SURROGATE)
    assert build(routes, "caf\u00e9\U0001f600") is not None  # other text, a pair included


def test_debug_login_user_name_with_a_lone_surrogate_is_rejected() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        inference.debug_login("al\udcffice")


@pytest.mark.parametrize("routes", [inference, website], ids=["inference", "website"])
@pytest.mark.parametrize(
    ("plugins", "match"),
    [
        ([{"name": "\udc80"}], "lone surrogate"),
        ([{"url": float("nan")}], "JSON-serialisable"),
        ([{"when": object()}], "JSON-serialisable"),
    ],
)
def test_plugins_the_client_cannot_send_are_rejected(
    routes: Any, plugins: list[Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        routes.assistant_message(CHAT, PROMPTER, "m", K50, plugins=plugins)


@pytest.mark.parametrize("username", ["", None])
def test_debug_login_needs_a_user_name(username: Any) -> None:
    with pytest.raises(ValueError, match="user name"):
        inference.debug_login(username)


# --- property: ids never leave their route --------------------------------------------------

ROUTE_TEMPLATES = [
    (lambda c, m: inference.get_chat(c), ["", "chats", "{c}"]),
    (lambda c, m: inference.delete_chat(c), ["", "chats", "{c}"]),
    (lambda c, m: inference.update_chat(c, {}), ["", "chats", "{c}"]),
    (lambda c, m: inference.prompter_message(c, None, "x"), ["", "chats", "{c}", "prompter_message"]),
    (lambda c, m: inference.assistant_message(c, m, "x", K50), ["", "chats", "{c}", "assistant_message"]),
    (lambda c, m: inference.get_message(c, m), ["", "chats", "{c}", "messages", "{m}"]),
    (lambda c, m: inference.events(c, m), ["", "chats", "{c}", "messages", "{m}", "events"]),
    (lambda c, m: inference.vote(c, m, 0), ["", "chats", "{c}", "messages", "{m}", "votes"]),
]  # fmt: skip

ids = st.one_of(
    st.text(max_size=12),
    st.lists(st.sampled_from([".", "..", "/", "%", "2F", "2e", "a", "?", "#", "%2F"])).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(chat_id=ids, message_id=ids, route=st.sampled_from(range(len(ROUTE_TEMPLATES))))
def test_ids_never_produce_a_path_outside_the_route(
    chat_id: str, message_id: str, route: int
) -> None:
    build, template = ROUTE_TEMPLATES[route]
    try:
        spec = build(chat_id, message_id)
    except ValueError:
        return
    segments = spec.path.split("/")
    # Clients remove dot segments (RFC 3986 5.2.4) and the server routes on the
    # percent-decoded path: both must leave exactly the route's segments, ids unchanged.
    assert not {".", ".."} & set(segments), spec.path
    expected = [s.format(c=chat_id, m=message_id) for s in template]
    assert unquote(spec.path).split("/") == expected, spec.path
