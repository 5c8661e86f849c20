"""EventDecoder: bytes in any chunking become the server's typed events (docs/protocol.md 3).

The golden streams were recorded from the real server; the WHATWG cases come from the HTML
standard's "event stream interpretation" examples.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openassistant_sdk import (
    ErrorEvent,
    EventDecoder,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    StreamError,
    TokenEvent,
    UnknownEvent,
)
from openassistant_sdk._events import Event

from . import golden

BOM = b"\xef\xbb\xbf"

GOLDEN_STREAMS = [
    pytest.param(golden.FULL_FLOW, 9, id="01#9-idle-worker"),
    pytest.param(golden.FULL_FLOW, 21, id="01#21-pending-then-tokens"),
    pytest.param(golden.FULL_FLOW, 24, id="01#24-late-burst"),
    pytest.param(golden.PINGS, 6, id="04#6-pending-and-pings"),
    pytest.param(golden.PINGS, 12, id="04#12-timeout"),
    pytest.param(golden.PINGS, 18, id="04#18-worker-abort"),
]


# --- helpers --------------------------------------------------------------------------------


def render(obj: dict[str, Any], *, ensure_ascii: bool = True, end: bytes = b"\r\n") -> bytes:
    """One event as the server writes it: pydantic v1 JSON with ", " and ": " (3.1, 10.9)."""
    text = json.dumps(obj, separators=(", ", ": "), ensure_ascii=ensure_ascii)
    return b"data: " + text.encode("utf-8") + end + end


def token(text: str, **kwargs: Any) -> bytes:
    return render({"event_type": "token", "text": text}, **kwargs)


def pending(position: int = 1, size: int = 1) -> bytes:
    return render({"event_type": "pending", "queue_position": position, "queue_size": size})


PLUGIN = render(
    {
        "event_type": "plugin_intermediate",
        "current_plugin_thought": "look it up",
        "current_plugin_action_taken": "search",
        "current_plugin_action_input": "weather",
        "current_plugin_action_response": "sunny",
        "message": None,
    }
)
PING_COMMENT = b": ping - 2026-11-25 12:25:08.871820\r\n\r\n"
PING_EVENT = b"event: ping\r\ndata: 2026-11-25 12:25:08.871820\r\n\r\n"


def decode(chunks: list[bytes], **kwargs: Any) -> list[Event]:
    decoder = EventDecoder(**kwargs)
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.flush()
    return events


def split(data: bytes, *positions: int) -> list[bytes]:
    bounds = [0, *sorted(positions), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def summary(event: Event) -> tuple[Any, ...]:
    if isinstance(event, TokenEvent):
        return ("token", event.text)
    if isinstance(event, PendingEvent):
        return ("pending", event.queue_position, event.queue_size)
    if isinstance(event, MessageEvent):
        m = event.message
        return ("message", m.id, m.state, m.content)
    if isinstance(event, ErrorEvent):
        assert event.message is not None
        return ("error", event.error, event.message.id, event.message.state)
    raise AssertionError(f"unexpected event {event!r}")


def oracle(body: bytes) -> list[tuple[Any, ...]]:
    """The recorded events, read independently of the decoder: one `data: ` line each."""
    out: list[tuple[Any, ...]] = []
    for line in body.split(b"\r\n"):
        if not line.startswith(b"data: "):
            continue
        obj = json.loads(line[6:])
        kind = obj["event_type"]
        if kind == "token":
            out.append(("token", obj["text"]))
        elif kind == "pending":
            out.append(("pending", obj["queue_position"], obj["queue_size"]))
        elif kind == "message":
            m = obj["message"]
            out.append(("message", m["id"], m["state"], m["content"]))
        else:
            assert kind == "error"
            m = obj["message"]
            out.append(("error", obj["error"], m["id"], m["state"]))
    return out


# --- the golden streams ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "number"), GOLDEN_STREAMS)
def test_golden_stream_decodes_to_the_recorded_events(name: str, number: int) -> None:
    body = golden.body(name, number)
    decoder = EventDecoder()
    events = decoder.feed(body)
    assert [summary(e) for e in events] == oracle(body)
    assert not decoder.has_partial_event
    assert decoder.flush() == []


def test_golden_idle_worker_stream_is_tokens_then_the_complete_message() -> None:
    events = decode([golden.body(golden.FULL_FLOW, 9)])
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) == 41
    assert tokens[:3] == ["Est ", "neque ", "tempora "]
    assert not any(isinstance(e, PendingEvent) for e in events)  # idle worker (10.7)
    final = events[-1]
    assert isinstance(final, MessageEvent)
    assert final.message.state == "complete"
    assert final.message.content == "".join(tokens)


def test_golden_busy_worker_stream_skips_the_ping_comment() -> None:
    body = golden.body(golden.FULL_FLOW, 21)
    assert b": ping - " in body
    kinds = [type(e) for e in decode([body])]
    first_token = kinds.index(TokenEvent)
    assert first_token > 0
    assert set(kinds[:first_token]) == {PendingEvent}
    assert set(kinds[first_token:-1]) == {TokenEvent}
    assert kinds[-1] is MessageEvent


def test_golden_pending_stream_without_worker_has_only_pending_events() -> None:
    events = decode([golden.body(golden.PINGS, 6)])
    assert len(events) == 35
    assert set(events) == {PendingEvent(queue_position=1, queue_size=1)}


def test_golden_timeout_stream_ends_with_the_timeout_error() -> None:
    events = decode([golden.body(golden.PINGS, 12)])
    assert all(isinstance(e, PendingEvent) for e in events[:-1])
    final = events[-1]
    assert isinstance(final, ErrorEvent)
    assert final.error == "Timeout"
    assert final.message is not None
    assert final.message.state == "timeout"
    assert final.message.content is None


def test_golden_worker_abort_stream_ends_with_the_abort_error() -> None:
    events = decode([golden.body(golden.PINGS, 18)])
    assert [e.text for e in events[:-1] if isinstance(e, TokenEvent)][:2] == ["Dolore ", "quiquia "]
    final = events[-1]
    assert isinstance(final, ErrorEvent)
    assert final.error == "Aborted due to worker error."
    assert final.message is not None
    assert final.message.state == "aborted_by_worker"


@pytest.mark.parametrize(("name", "number"), GOLDEN_STREAMS)
def test_golden_stream_split_at_every_byte_position(name: str, number: int) -> None:
    body = golden.body(name, number)
    whole = decode([body])
    for position in range(len(body) + 1):
        assert decode(split(body, position)) == whole, f"split at byte {position}"


@pytest.mark.parametrize(("name", "number"), GOLDEN_STREAMS)
def test_golden_stream_fed_byte_by_byte(name: str, number: int) -> None:
    body = golden.body(name, number)
    assert decode(bytewise(body)) == decode([body])


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
@pytest.mark.parametrize(("name", "number"), GOLDEN_STREAMS)
def test_golden_stream_with_other_line_endings(name: str, number: int, ending: bytes) -> None:
    body = golden.body(name, number)
    converted = body.replace(b"\r\n", ending)
    assert decode([converted]) == decode([body])
    assert decode(bytewise(converted)) == decode([body])


@pytest.mark.parametrize(("name", "number"), GOLDEN_STREAMS)
def test_golden_stream_with_mixed_line_endings(name: str, number: int) -> None:
    body = golden.body(name, number)
    rng = random.Random(number)
    lines = body.split(b"\r\n")
    mixed = b""
    for line in lines[:-1]:
        # A CR then an LF would be one line end: never follow a CR with a lone LF.
        choices = (
            [b"\r", b"\r\n"] if mixed.endswith(b"\r") and not line else [b"\r", b"\n", b"\r\n"]
        )
        mixed += line + rng.choice(choices)
    assert decode([mixed]) == decode([body])
    assert decode(bytewise(mixed)) == decode([body])


# --- line endings across chunks --------------------------------------------------------------


def test_cr_at_a_chunk_end_followed_by_lf_is_one_line_end() -> None:
    # Were the LF a second line end, the first data line would be dispatched on its own and
    # would not be JSON.
    first = b'data: {"event_type": "token",\r'
    second = b'\ndata: "text": "x"}\r\n\r\n'
    assert decode([first, second]) == [TokenEvent("x")]
    assert decode([first, b"", second]) == [TokenEvent("x")]


def test_cr_then_lf_in_the_next_chunk_between_events() -> None:
    stream = token("a") + token("b")
    cr = stream.index(b"\r")
    chunks = [stream[: cr + 1], stream[cr + 1 :]]
    assert chunks[1].startswith(b"\n")
    assert decode(chunks) == [TokenEvent("a"), TokenEvent("b")]


def test_two_crs_are_two_line_ends() -> None:
    assert decode([b'data: {"event_type": "token", "text": "x"}\r\r']) == [TokenEvent("x")]


@pytest.mark.parametrize(
    "separator",
    ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"],
    ids=repr,
)
def test_only_cr_and_lf_end_lines(separator: str) -> None:
    # str.splitlines() would split on these (docs/protocol.md 3.1); an event stream must not, or
    # the comment below would turn into a data line.
    hidden = f": comment{separator}data: ".encode() + b'{"event_type": "token", "text": "no"}'
    assert decode([hidden + b"\r\n\r\n" + token("x")]) == [TokenEvent("x")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"], ids=repr)
def test_unicode_line_separators_stay_inside_token_text(separator: str) -> None:
    text = f"a{separator}b"
    assert decode([token(text, ensure_ascii=False)]) == [TokenEvent(text)]


# --- byte order mark -------------------------------------------------------------------------


def test_bom_at_the_start_is_skipped() -> None:
    assert decode([BOM + token("x")]) == [TokenEvent("x")]


def test_bom_split_at_every_position_and_byte_by_byte() -> None:
    stream = BOM + token("x") + token("y")
    expected = [TokenEvent("x"), TokenEvent("y")]
    for position in range(len(stream) + 1):
        assert decode(split(stream, position)) == expected, f"split at byte {position}"
    for a in range(1, 4):
        for b in range(a, 5):
            assert decode(split(stream, a, b)) == expected, f"split at bytes {a} and {b}"
    assert decode(bytewise(stream)) == expected


def test_bom_is_only_skipped_at_the_start() -> None:
    # WHATWG: a BOM later on is part of the line, here of an unknown field name.
    assert decode([token("x") + BOM + token("y")]) == [TokenEvent("x")]


def test_a_short_first_chunk_that_is_not_a_bom_is_kept() -> None:
    stream = token("x")
    assert decode([stream[:1], stream[1:2], stream[2:]]) == [TokenEvent("x")]


# --- comments, pings and WHATWG examples -----------------------------------------------------


def test_comments_and_ping_events_are_skipped() -> None:
    stream = (
        PING_COMMENT
        + token("a")
        + b":\r\n\r\n"
        + PING_EVENT
        + b"event:ping\ndata:2026-11-25\n\n"
        + token("b")
    )
    assert decode([stream]) == [TokenEvent("a"), TokenEvent("b")]


def test_a_comment_inside_an_event_does_not_end_it() -> None:
    stream = b'data: {"event_type": "token",\r\n: ping - now\r\ndata: "text": "x"}\r\n\r\n'
    assert decode([stream]) == [TokenEvent("x")]


def test_the_event_name_is_reset_after_a_ping() -> None:
    assert decode([PING_EVENT + token("x")]) == [TokenEvent("x")]
    assert decode([b"event: ping\r\n\r\n" + token("x")]) == [TokenEvent("x")]


def test_event_names_are_case_sensitive() -> None:
    # Only "ping" is skipped; another name does not hide the server's event.
    assert decode([b"event: Ping\r\n" + token("x")]) == [TokenEvent("x")]
    assert decode([b"event: message\r\n" + token("x")]) == [TokenEvent("x")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    stream = (
        b'data: {"event_type": "pending",\ndata: "queue_position": 2,\ndata: "queue_size": 5}\n\n'
    )
    assert decode([stream]) == [PendingEvent(queue_position=2, queue_size=5)]


def test_multi_line_data_is_not_concatenated_without_the_newline() -> None:
    # Joined with "\n" the string literal holds a raw newline: not JSON.
    stream = b'data: {"event_type": "token", "te\ndata: xt": "x"}\n\n'
    with pytest.raises(StreamError):
        decode([stream])


def test_field_without_space_after_colon() -> None:
    assert decode([b'data:{"event_type": "token", "text": "x"}\n\n']) == [TokenEvent("x")]


def test_only_one_space_after_the_colon_is_removed() -> None:
    stream = b'data:  {"event_type": "token", "text": " x"}\n\n'
    assert decode([stream]) == [TokenEvent(" x")]


def test_whatwg_two_identical_events() -> None:
    stream = (
        b'data:{"event_type": "token", "text": "t"}\n\ndata: {"event_type": "token", "text": "t"}\n'
    )
    # The second event is not ended by a blank line yet.
    decoder = EventDecoder()
    assert decoder.feed(stream) == [TokenEvent("t")]
    assert decoder.feed(b"\n") == [TokenEvent("t")]


def test_unknown_fields_and_id_and_retry_are_ignored() -> None:
    stream = (
        b"id: 1\r\nretry: 10000\r\nfoo: bar\r\nfoo\r\n"
        b'data: {"event_type": "token", "text": "x"}\r\n'
        b"id\r\nretry: soon\r\n\r\n"
    )
    assert decode([stream]) == [TokenEvent("x")]


def test_field_names_are_case_sensitive() -> None:
    assert decode([b'Data: {"event_type": "token", "text": "x"}\n\n']) == []


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode([b"\r\n\r\n\n\n\r\r" + token("x") + b"\r\n\r\n"]) == [TokenEvent("x")]


def test_whatwg_data_without_colon_is_an_empty_data_field() -> None:
    # WHATWG: "data" with no colon is the field "data" with an empty value, exactly like
    # "data:". Its first block dispatches an event with empty data, the second one with a
    # single newline; neither is JSON, so both are malformed (docs/design.md, decision 4).
    with_colon = EventDecoder(on_malformed="skip")
    assert with_colon.feed(b"data:\n\ndata:\ndata:\n\n") == []
    assert with_colon.skipped == 2
    without_colon = EventDecoder(on_malformed="skip")
    assert without_colon.feed(b"data\n\ndata\ndata\n\ndata:") == []
    assert without_colon.skipped == 2


def test_a_data_line_without_colon_contributes_an_empty_line() -> None:
    stream = b'data\ndata: {"event_type": "token", "text": "x"}\n\n'
    assert decode([stream]) == [TokenEvent("x")]


# --- flush and partial events ----------------------------------------------------------------


def test_flush_discards_an_event_not_ended_by_a_blank_line() -> None:
    decoder = EventDecoder()
    assert decoder.feed(token("a") + b'data: {"event_type": "token", "text": "b"}\r\n') == [
        TokenEvent("a")
    ]
    assert decoder.has_partial_event
    assert decoder.flush() == []
    assert not decoder.has_partial_event


def test_flush_discards_an_unfinished_line() -> None:
    decoder = EventDecoder()
    assert decoder.feed(b'data: {"event_type": "token", "text": "b"}') == []
    assert decoder.has_partial_event
    assert decoder.flush() == []
    assert not decoder.has_partial_event


def test_has_partial_event_is_false_between_events() -> None:
    decoder = EventDecoder()
    assert not decoder.has_partial_event
    decoder.feed(token("a"))
    assert not decoder.has_partial_event
    decoder.feed(b"data")
    assert decoder.has_partial_event


def test_an_empty_stream_decodes_to_nothing() -> None:
    decoder = EventDecoder()
    assert decoder.feed(b"") == []
    assert decoder.flush() == []


# --- plugin steps ----------------------------------------------------------------------------


def test_the_empty_token_after_a_plugin_step_is_dropped() -> None:
    events = decode([token("a") + PLUGIN + token("") + token("b")])
    assert events == [
        TokenEvent("a"),
        PluginIntermediateEvent(
            current_plugin_thought="look it up",
            current_plugin_action_taken="search",
            current_plugin_action_input="weather",
            current_plugin_action_response="sunny",
        ),
        TokenEvent("b"),
    ]


def test_the_empty_token_after_a_plugin_step_is_dropped_in_any_json_layout() -> None:
    compact = b'data: {"text":"","event_type":"token"}\r\n\r\n'
    assert [type(e) for e in decode([PLUGIN + compact + token("b")])] == [
        PluginIntermediateEvent,
        TokenEvent,
    ]


def test_a_non_empty_token_after_a_plugin_step_is_kept() -> None:
    assert decode([PLUGIN + token("x")])[1:] == [TokenEvent("x")]


def test_an_empty_token_elsewhere_is_kept() -> None:
    assert decode([token("a") + token("")]) == [TokenEvent("a"), TokenEvent("")]
    assert decode([PLUGIN + pending() + token("")])[1:] == [PendingEvent(1, 1), TokenEvent("")]


# --- token text ------------------------------------------------------------------------------

TRICKY_TEXTS = [
    'say "hi"',
    "back\\slash",
    "\\n is not a newline",
    "line\nbreak\r\n",
    "tab\tand\x00nul",
    "caf\u00e9 \u4e2d\u6587",
    "emoji \U0001f600",
    "\u2028\u2029",
    '"}',
    "",
    " ",
    "</script>",
]


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["ascii-escapes", "raw-utf8"])
@pytest.mark.parametrize("text", TRICKY_TEXTS, ids=repr)
def test_token_text_decodes_exactly_like_json_loads(text: str, ensure_ascii: bool) -> None:
    line = token(text, ensure_ascii=ensure_ascii)
    expected = json.loads(line[6:].strip())["text"]
    assert decode([line]) == [TokenEvent(expected)]
    assert expected == text


@pytest.mark.parametrize(
    "payload",
    [
        b'{"event_type": "token", "text": "\\u00e9\\ud83d\\ude00"}',
        b'{"event_type": "token", "text": "\\/\\b\\f"}',
        b'{"text": "x", "event_type": "token"}',
        b'{"event_type":"token","text":"x"}',
        b'{"event_type": "token", "text": "x", "extra": 1}',
        b' {"event_type": "token", "text": "x"} ',
    ],
)
def test_token_payloads_in_other_layouts_decode_like_json_loads(payload: bytes) -> None:
    assert decode([b"data: " + payload + b"\n\n"]) == [TokenEvent(json.loads(payload)["text"])]


# --- malformed data --------------------------------------------------------------------------

MALFORMED = [
    pytest.param(b"data: hello", id="not-json"),
    pytest.param(b'data: {"event_type": "token", "text": "a', id="truncated-json"),
    pytest.param(b"data: [1, 2]", id="json-list"),
    pytest.param(b'data: "token"', id="json-string"),
    pytest.param(b"data: null", id="json-null"),
    pytest.param(b"data:", id="empty"),
    pytest.param(b'data: {"text": "x"}', id="no-event-type"),
    pytest.param(b'data: {"event_type": 5}', id="event-type-not-string"),
    pytest.param(b'data: {"event_type": "token", "text": 5}', id="token-text-int"),
    pytest.param(b'data: {"event_type": "token", "text": null}', id="token-text-null"),
    pytest.param(b'data: {"event_type": "token"}', id="token-text-missing"),
    pytest.param(
        b'data: {"event_type": "pending", "queue_position": "1", "queue_size": 1}',
        id="pending-str",
    ),
    pytest.param(
        b'data: {"event_type": "pending", "queue_position": true, "queue_size": 1}',
        id="pending-bool",
    ),
    pytest.param(b'data: {"event_type": "pending", "queue_size": 1}', id="pending-missing"),
    pytest.param(b'data: {"event_type": "error", "error": 5}', id="error-not-string"),
    pytest.param(
        b'data: {"event_type": "plugin_intermediate", "current_plugin_thought": 5}',
        id="plugin-field-int",
    ),
    pytest.param(b'data: {"event_type": "message"}', id="message-missing"),
    pytest.param(b'data: {"event_type": "message", "message": "done"}', id="message-not-object"),
    pytest.param(
        b'data: {"event_type": "message", "message": {"id": 5, "chat_id": "c", "role": "assistant", "state": "complete"}}',
        id="message-id-int",
    ),
    pytest.param(
        b'data: {"event_type": "message", "message": {"id": "m", "chat_id": "c", "role": "assistant", "state": "complete", "created_at": "yesterday"}}',
        id="message-bad-timestamp",
    ),
    pytest.param(
        b'data: {"event_type": "message", "message": {"id": "m", "chat_id": "c", "role": "assistant", "state": "complete", "work_parameters": {"model_config": {"model_id": "x"}, "plugins": 5}}}',
        id="message-plugins-int",
    ),
    pytest.param(
        b'data: {"event_type": "error", "error": "x", "message": {"id": "m"}}',
        id="error-message-incomplete",
    ),
    pytest.param(b'data: {"event_type": "token", "text": "\xff"}', id="invalid-utf8"),
    pytest.param(b'data: {"event_type": "token", "text": "\\"\xc3"}', id="invalid-utf8-escaped"),
    pytest.param(b'data: {"event_type": "\xfe", "text": "x"}', id="invalid-utf8-type"),
    pytest.param(b"data: " + b"[" * 100_000, id="deeply-nested"),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_event_raises_after_the_events_before_it(bad: bytes) -> None:
    decoder = EventDecoder()
    assert decoder.feed(token("a") + bad + b"\r\n\r\n" + token("b")) == [TokenEvent("a")]
    with pytest.raises(StreamError):
        decoder.feed(token("c"))
    with pytest.raises(StreamError):  # the stream stays broken
        decoder.flush()


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_event_is_raised_by_flush(bad: bytes) -> None:
    decoder = EventDecoder()
    assert decoder.feed(token("a") + bad + b"\r\n\r\n") == [TokenEvent("a")]
    with pytest.raises(StreamError):
        decoder.flush()


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_event_is_skipped_and_counted(bad: bytes) -> None:
    decoder = EventDecoder(on_malformed="skip")
    events = decoder.feed(token("a") + bad + b"\r\n\r\n" + token("b") + bad + b"\r\n\r\n")
    assert events == [TokenEvent("a"), TokenEvent("b")]
    assert decoder.skipped == 2
    assert decoder.flush() == []


def test_a_chunk_that_starts_with_a_malformed_event_raises() -> None:
    # EventDecoder.feed documents: raised when it "is the first thing this chunk completes".
    decoder = EventDecoder()
    with pytest.raises(StreamError):
        decoder.feed(b"data: not json\r\n\r\n")


def test_a_malformed_ping_event_is_still_skipped() -> None:
    # Before sse-starlette 1.4 the ping's data was a timestamp, not JSON (3.1).
    decoder = EventDecoder()
    assert decoder.feed(b"event: ping\ndata: {not json\n\n" + token("a")) == [TokenEvent("a")]


def test_unknown_event_type_is_an_unknown_event() -> None:
    obj = {"event_type": "safe_prompt", "safe_prompt": "be nice", "message": None}
    assert decode([render(obj) + token("a")]) == [
        UnknownEvent(event_type="safe_prompt", data=obj),
        TokenEvent("a"),
    ]


# --- size limit ------------------------------------------------------------------------------


def test_an_oversized_line_in_one_chunk_raises() -> None:
    decoder = EventDecoder(max_event_size=64)
    assert decoder.feed(token("a") + token("x" * 100)) == [TokenEvent("a")]
    with pytest.raises(StreamError, match="64"):
        decoder.flush()


def test_an_oversized_line_across_chunks_returns_the_events_before_it_first() -> None:
    decoder = EventDecoder(max_event_size=64)
    assert decoder.feed(token("a") + b"data: " + b"x" * 100) == [TokenEvent("a")]
    with pytest.raises(StreamError, match="64"):
        decoder.feed(b"\r\n\r\n")


def test_an_oversized_line_without_line_end_raises() -> None:
    decoder = EventDecoder(max_event_size=64)
    decoder.feed(b"data: " + b"x" * 40)
    with pytest.raises(StreamError, match="64"):
        decoder.feed(b"x" * 40)


def test_an_oversized_event_of_many_short_lines_is_malformed() -> None:
    decoder = EventDecoder(max_event_size=64, on_malformed="skip")
    stream = b"data: x\n" * 20 + b"\n" + token("a")
    assert decoder.feed(stream) == [TokenEvent("a")]
    assert decoder.skipped == 1


def test_an_oversized_line_is_skipped_and_the_stream_continues() -> None:
    decoder = EventDecoder(max_event_size=64, on_malformed="skip")
    assert decoder.feed(token("a") + b"data: " + b"x" * 100) == [TokenEvent("a")]
    assert decoder.feed(b"x" * 100) == []
    assert decoder.feed(b"xx\r\n\r\n" + token("b")) == [TokenEvent("b")]
    assert decoder.skipped == 1


def test_the_event_after_a_skipped_oversized_line_survives_a_split_inside_it() -> None:
    decoder = EventDecoder(max_event_size=64, on_malformed="skip")
    assert decoder.feed(b"data: " + b"x" * 100) == []
    assert decoder.feed(b"xx\r\n\r\n" + token("b")[:20]) == []
    assert decoder.feed(token("b")[20:]) == [TokenEvent("b")]
    assert decoder.skipped == 1


def test_skipping_an_oversized_line_at_every_split_gives_the_same_events() -> None:
    stream = token("a") + token("x" * 100) + token("b") + token("c")
    expected = [TokenEvent("a"), TokenEvent("b"), TokenEvent("c")]
    for position in range(len(stream) + 1):
        decoder = EventDecoder(max_event_size=64, on_malformed="skip")
        events = [e for chunk in split(stream, position) for e in decoder.feed(chunk)]
        assert events == expected, f"split at byte {position}"
        assert decoder.skipped == 1, f"split at byte {position}"


def test_a_line_of_exactly_max_event_size_is_accepted() -> None:
    line = token("x" * 64)
    size = len(line.split(b"\r\n")[0])
    decoder = EventDecoder(max_event_size=size)
    assert decoder.feed(line[:10]) + decoder.feed(line[10:]) == [TokenEvent("x" * 64)]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b": " + b"c" * 100, id="comment"),
        pytest.param(b"event: " + b"e" * 100, id="event-name"),
        pytest.param(b"foo: " + b"f" * 100, id="unknown-field"),
        pytest.param(b"data: " + b"d" * 100, id="data"),
    ],
)
def test_an_oversized_line_of_any_kind_fails_alike_in_one_chunk_or_split(line: bytes) -> None:
    # Every line counts, not only data lines, and whether the bytes arrive whole or in
    # pieces does not matter: the same events, then the same error.
    stream = token("a") + line + b"\r\n\r\n" + token("b")
    expected = _decode_all([stream], "raise", max_event_size=64)
    assert expected == ([TokenEvent("a")], 0, "an event-stream line is longer than 64 bytes")
    for position in range(len(stream) + 1):
        assert _decode_all(split(stream, position), "raise", max_event_size=64) == expected
    assert _decode_all(bytewise(stream), "raise", max_event_size=64) == expected


def _fed_until_error(decoder: EventDecoder, chunks: list[bytes]) -> tuple[int, str]:
    """Feed chunks until the decoder raises; return how many bytes it took, and the error."""
    fed = 0
    for chunk in chunks:
        fed += len(chunk)
        try:
            decoder.feed(chunk)
        except StreamError as err:
            return fed, str(err)
    raise AssertionError("no StreamError")


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 4096])
def test_an_event_that_never_ends_raises_once_its_data_passes_the_limit(chunk_size: int) -> None:
    # Many short data lines and no blank line: the error comes as the data passes the limit,
    # not when (never) the event ends.
    line = b"data: x\n"
    stream = line * 2000
    chunks = [stream[i : i + chunk_size] for i in range(0, len(stream), chunk_size)]
    fed, error = _fed_until_error(EventDecoder(max_event_size=1024), chunks)
    assert error == "an event is larger than 1024 bytes"
    # Each line adds 2 bytes ("x" and its joining newline): the 513th passes the limit.
    assert fed < 513 * len(line) + chunk_size


def test_a_line_that_never_ends_raises_once_it_passes_the_limit() -> None:
    fed, error = _fed_until_error(EventDecoder(max_event_size=1024), [b": no line end "] * 2000)
    assert error == "an event-stream line is longer than 1024 bytes"
    assert fed <= 1024 + 14


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param(b"data: x\n", id="data-lines"),
        pytest.param(b"data\r\n", id="empty-data-lines"),
        pytest.param(b"data: " + b"y" * 50 + b"\r", id="longer-data-lines"),
        pytest.param(b"z" * 97, id="one-line"),
    ],
)
def test_skipping_a_stream_that_never_ends_an_event_keeps_memory_bounded(unit: bytes) -> None:
    # Under "skip" the decoder goes on reading; what it holds must stay near the limit,
    # however much arrives (before, an event's data lines piled up until it ended).
    decoder = EventDecoder(max_event_size=16 * 1024, on_malformed="skip")
    chunk = unit * (4096 // len(unit) + 1)
    tracemalloc.start()
    try:
        for _ in range(1000):  # about 4 MiB
            assert decoder.feed(chunk) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024
    assert decoder.skipped == 1
    assert decoder.feed(b"\n\n" + token("after")) == [TokenEvent("after")]


def test_a_skipped_oversized_event_is_counted_once_and_skipped_to_its_end() -> None:
    decoder = EventDecoder(max_event_size=64, on_malformed="skip")
    stream = b"event: x\n" + b"data: 0123456789\n" * 10 + b": " + b"c" * 100 + b"\n"
    assert decoder.feed(stream + b"data: tail\n\n" + token("a")) == [TokenEvent("a")]
    assert decoder.skipped == 1


def test_an_event_of_exactly_max_event_size_is_accepted() -> None:
    # Its data lines joined with a newline (JSON whitespace here) are exactly the limit.
    def event(text: str) -> bytes:
        return b'data: {"event_type": "token",\ndata: "text": "' + text.encode() + b'"}\n\n'

    head = b'{"event_type": "token",\n"text": "'
    text = "x" * (64 - len(head) - 2)
    assert len(head) + len(text) + 2 == 64
    assert decode([event(text)], max_event_size=64) == [TokenEvent(text)]
    decoder = EventDecoder(max_event_size=64, on_malformed="skip")
    assert decoder.feed(event(text + "x") + token("a")) == [TokenEvent("a")]
    assert decoder.skipped == 1


# --- constructor -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_malformed": "ignore"}, "on_malformed"),
        ({"on_malformed": None}, "on_malformed"),
        ({"max_event_size": 0}, "max_event_size"),
        ({"max_event_size": 63}, "max_event_size"),
        ({"max_event_size": -1}, "max_event_size"),
    ],
)
def test_invalid_constructor_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EventDecoder(**kwargs)


def test_the_default_policy_raises_and_skipped_starts_at_zero() -> None:
    decoder = EventDecoder()
    assert decoder.skipped == 0
    with pytest.raises(StreamError):  # nothing came before it: raised at once
        decoder.feed(b"data: nope\n\n")
    with pytest.raises(StreamError):  # and again by every later call
        decoder.flush()


# --- properties ------------------------------------------------------------------------------

FRAGMENTS = [
    b"data: ",
    b"data:",
    b"data",
    b"event: ping",
    b": ping",
    b"id: 1",
    b"\r",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b'"event_type": ',
    b'"token"',
    b'"pending"',
    b'"message"',
    b'"error"',
    b'"text": ',
    b'"\\u00e9"',
    b'"\\"',
    b"\xff",
    b"\xc3",
    b", ",
    b"null",
    b"1",
    b'{"event_type": "token", "text": "',
    b'"}',
]

chunkings = st.lists(st.integers(min_value=0, max_value=4096), max_size=12)
garbage = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=6)), max_size=60).map(
        b"".join
    ),
)


def _outcome(data: bytes, positions: list[int], policy: str) -> tuple[list[Event], bool, int]:
    decoder = EventDecoder(on_malformed=policy)  # type: ignore[arg-type]
    events: list[Event] = []
    try:
        for chunk in split(data, *(p % (len(data) + 1) for p in positions)):
            events += decoder.feed(chunk)
        events += decoder.flush()
    except StreamError:
        return events, True, decoder.skipped
    return events, False, decoder.skipped


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=garbage, positions=chunkings, policy=st.sampled_from(["raise", "skip"]))
def test_any_bytes_in_any_chunking_raise_nothing_but_stream_error(
    data: bytes, positions: list[int], policy: str
) -> None:
    events, _, _ = _outcome(data, positions, policy)
    assert all(isinstance(e, Event) for e in events)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=garbage, positions=chunkings, policy=st.sampled_from(["raise", "skip"]))
def test_any_bytes_decode_the_same_in_any_chunking(
    data: bytes, positions: list[int], policy: str
) -> None:
    assert _outcome(data, positions, policy) == _outcome(data, [], policy)


item = st.one_of(
    st.tuples(st.just("token"), st.text(max_size=12)),
    st.tuples(st.just("token"), st.sampled_from(['"', "\\", "\n", "\r\n", "\u2028", "\\u", "é"])),
    st.tuples(st.just("pending"), st.integers(0, 9), st.integers(0, 9)),
    st.just(("comment",)),
    st.just(("ping",)),
    st.just(("plugin",)),
)


def _render_stream(
    items: list[tuple[Any, ...]], endings: list[bytes], ensure_ascii: bool
) -> tuple[bytes, list[Event]]:
    out = b""
    expected: list[Event] = []
    after_plugin = False
    for index, it in enumerate(items):
        end = endings[index % len(endings)]
        kind = it[0]
        if kind == "token":
            out += token(it[1], ensure_ascii=ensure_ascii, end=end)
            if it[1] or not after_plugin:
                expected.append(TokenEvent(it[1]))
        elif kind == "pending":
            out += render(
                {"event_type": "pending", "queue_position": it[1], "queue_size": it[2]}, end=end
            )
            expected.append(PendingEvent(it[1], it[2]))
        elif kind == "comment":
            out += b": ping - 2026-11-25 12:25:08" + end + end
        elif kind == "ping":
            out += b"event: ping" + end + b"data: 2026-11-25 12:25:08" + end + end
        else:
            out += PLUGIN.replace(b"\r\n", end)
            expected.append(decode([PLUGIN])[0])
        if kind != "comment" and kind != "ping":
            after_plugin = kind == "plugin"
    return out, expected


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(item, max_size=25),
    endings=st.lists(st.sampled_from([b"\r\n", b"\n", b"\r"]), min_size=1, max_size=4),
    ensure_ascii=st.booleans(),
    positions=chunkings,
)
def test_any_chunking_of_a_rendered_stream_yields_exactly_its_events(
    items: list[tuple[Any, ...]], endings: list[bytes], ensure_ascii: bool, positions: list[int]
) -> None:
    stream, expected = _render_stream(items, endings, ensure_ascii)
    chunks = split(stream, *(p % (len(stream) + 1) for p in positions))
    assert decode(chunks) == expected


# --- one event per chunk, as the server writes them -----------------------------------------

_PIECES = st.one_of(
    st.builds(token, st.text(max_size=8)),
    st.builds(pending, st.integers(1, 3), st.integers(1, 3)),
    st.sampled_from(
        [
            b"data: not json\r\n\r\n",
            b"data: {}\r\n\r\n",
            b"data: \r\n\r\n",
            b": ping - 2026-11-25 12:05:38.098779\r\n\r\n",
            b"event: ping\r\n",
            b'data: {"event_type": "token",\r\ndata:  "text": "a"}\r\n\r\n',
            b'data: {"event_type": "token", "text": "\x01"}\r\n\r\n',
            b'data: {"event_type": "token", "text": "a"}\n\n',
            b'data: {"event_type": "token", "text": "b"}\r\n',
            b"\r\n",
            b"\r",
            b"\xef\xbb\xbf",
            b'data: {"event_type": "plugin_intermediate"}\r\n\r\n',
        ]
    ),
)


def _decode_all(
    chunks: list[bytes], policy: str, **kwargs: Any
) -> tuple[list[Event], int, str | None]:
    decoder = EventDecoder(on_malformed=policy, **kwargs)  # type: ignore[arg-type]
    events: list[Event] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.flush()
    except StreamError as err:
        return events, decoder.skipped, str(err)
    return events, decoder.skipped, None


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=10), policy=st.sampled_from(["raise", "skip"]))
def test_one_event_per_chunk_decodes_as_the_whole_stream(pieces: list[bytes], policy: str) -> None:
    whole = _decode_all([b"".join(pieces)], policy)
    assert _decode_all([p for p in pieces if p], policy) == whole


# --- memory bounds, in any chunking -------------------------------------------------------------


def _repeat(line: bytes, n: int, k: int) -> bytes:
    return (line + b"x" * n + b"\n") * k


_BOUNDED_PIECES = st.one_of(
    st.builds(token, st.text(max_size=40)),
    st.builds(_repeat, st.sampled_from([b": ", b"event: ", b"foo: ", b"data: "]), st.integers(0, 150), st.integers(1, 3)),
    st.builds(_repeat, st.just(b"data: "), st.integers(0, 20), st.integers(1, 40)),
    st.sampled_from([b"\n", b"\r\n", b"\r", b"data\n", b"event: ping\n", b"\xef\xbb\xbf"]),
)  # fmt: skip


def _held(decoder: EventDecoder) -> int:
    """The bytes of an unfinished line and of an unfinished event's data the decoder holds."""
    return sum(map(len, decoder._parts)) + sum(len(d) + 1 for d in decoder._data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(_BOUNDED_PIECES, max_size=14),
    positions=chunkings,
    bytewise_too=st.booleans(),
    policy=st.sampled_from(["raise", "skip"]),
    limit=st.integers(64, 200),
)
def test_oversized_lines_and_events_decode_the_same_in_any_chunking(
    pieces: list[bytes], positions: list[int], bytewise_too: bool, policy: str, limit: int
) -> None:
    # The same events, the same count of skipped ones and the same error, whatever the
    # chunking; and the decoder never holds more than about twice the limit.
    stream = b"".join(pieces)
    whole = _decode_all([stream], policy, max_event_size=limit)
    chunkings_ = [split(stream, *(p % (len(stream) + 1) for p in positions))]
    if bytewise_too:
        chunkings_.append(bytewise(stream))
    for chunks in chunkings_:
        assert _decode_all(chunks, policy, max_event_size=limit) == whole
        decoder = EventDecoder(on_malformed=policy, max_event_size=limit)  # type: ignore[arg-type]
        with contextlib.suppress(StreamError):
            for chunk in chunks:
                decoder.feed(chunk)
                assert _held(decoder) <= 2 * limit + 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(item, min_size=1, max_size=25),
    endings=st.lists(st.sampled_from([b"\r\n", b"\n", b"\r"]), min_size=1, max_size=4),
    positions=chunkings,
)
def test_a_stream_within_the_limit_decodes_its_events_in_any_chunking(
    items: list[tuple[Any, ...]], endings: list[bytes], positions: list[int]
) -> None:
    # The limit set to the longest line of the stream: nothing in it is too large.
    stream, expected = _render_stream(items, endings, ensure_ascii=False)
    longest = max(
        len(line) for line in stream.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    )
    limit = max(64, longest)
    chunks = split(stream, *(p % (len(stream) + 1) for p in positions))
    assert decode(chunks, max_event_size=limit) == expected
    assert decode(bytewise(stream), max_event_size=limit) == expected
