"""ReplyTracker and recovery: the joined tokens equal Message.content (docs/design.md, decision 5)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import (
    ErrorEvent,
    Message,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    TokenEvent,
    UnknownEvent,
)
from openassistant_sdk._reply import ReplyTracker, failure_text, recovery_step


def message(content: str | None = "Hello world", state: str = "complete") -> Message:
    return Message.from_json(
        {"id": "m", "chat_id": "c", "role": "assistant", "state": state, "content": content}
    )


def delivered(*texts: str) -> ReplyTracker:
    tracker = ReplyTracker()
    for text in texts:
        assert tracker.accept(TokenEvent(text)) == [TokenEvent(text)]
    return tracker


def test_tokens_pass_through_and_are_counted() -> None:
    tracker = delivered("Hel", "lo")
    assert tracker.delivered == 5
    assert not tracker.finished


def test_other_events_pass_through() -> None:
    tracker = ReplyTracker()
    assert tracker.accept(PendingEvent(1, 2)) == [PendingEvent(1, 2)]
    assert not tracker.finished


def test_a_message_event_finishes_the_reply() -> None:
    tracker = delivered("Hello world")
    event = MessageEvent(message())
    assert tracker.accept(event) == [event]
    assert tracker.finished
    assert tracker.final == message()


def test_an_error_event_finishes_the_reply() -> None:
    tracker = delivered("Hel")
    event = ErrorEvent("Aborted due to worker error.", message(None, "aborted_by_worker"))
    assert tracker.accept(event) == [event]
    assert tracker.finished
    assert tracker.error is event
    assert tracker.final is None


@pytest.mark.parametrize(
    ("texts", "content", "rest"),
    [
        ((), "Hello world", "Hello world"),
        (("Hel",), "Hello world", "lo world"),
        (("Hello", " world"), "Hello world", ""),
        (("caf", "\u00e9 "), "caf\u00e9 \U0001f600!", "\U0001f600!"),
    ],
)
def test_remainder_is_what_follows_the_delivered_prefix(
    texts: tuple[str, ...], content: str, rest: str
) -> None:
    assert delivered(*texts).remainder(message(content)) == rest


@pytest.mark.parametrize(
    ("texts", "content"),
    [
        (("Hola",), "Hello world"),  # different text
        ((" Hello",), "Hello world"),  # the worker stripped the leading space (3.2)
        (("Hello world and more",), "Hello world"),  # longer than the final text
        (("x",), ""),
        (("x",), None),
    ],
)
def test_a_mismatch_gives_nothing_more(texts: tuple[str, ...], content: str | None) -> None:
    assert delivered(*texts).remainder(message(content)) == ""


def test_recovery_hides_tokens_and_emits_the_rest_before_the_message() -> None:
    tracker = delivered("Hel")
    tracker.recovering = True
    assert tracker.accept(TokenEvent("lo")) == []  # cannot be ordered with what was lost
    final = message("Hello world")
    out = tracker.accept(MessageEvent(final))
    assert out == [TokenEvent("lo world"), MessageEvent(final)]
    assert tracker.delivered == len("Hello world")


def test_recovery_from_a_fetched_message() -> None:
    tracker = delivered("Hello")
    tracker.recovering = True
    final = message("Hello world")
    assert tracker.finish(final) == [TokenEvent(" world"), MessageEvent(final)]
    assert tracker.final is final


def test_recovery_with_nothing_missing_emits_only_the_message() -> None:
    tracker = delivered("Hello world")
    tracker.recovering = True
    assert tracker.finish(message()) == [MessageEvent(message())]


def test_without_recovery_finish_adds_no_text() -> None:
    tracker = delivered("Hel")
    assert tracker.finish(message()) == [MessageEvent(message())]


@settings(max_examples=150, deadline=None)
@given(
    content=st.text(max_size=40),
    cut=st.integers(0, 40),
    pieces=st.lists(st.integers(1, 8), max_size=10),
)
def test_delivered_tokens_plus_the_recovered_rest_equal_the_content(
    content: str, cut: int, pieces: list[int]
) -> None:
    prefix = content[: min(cut, len(content))]
    tokens: list[str] = []
    start = 0
    for size in pieces:
        if start >= len(prefix):
            break
        tokens.append(prefix[start : start + size])
        start += size
    tokens.append(prefix[start:])
    tracker = delivered(*tokens)
    tracker.recovering = True
    out = tracker.finish(message(content))
    emitted = "".join(e.text for e in out if isinstance(e, TokenEvent))
    assert "".join(tokens) + emitted == content
    assert tracker.delivered == len(content)


@pytest.mark.parametrize(
    ("state", "step"),
    [
        ("complete", "done"),
        ("pending", "wait"),
        ("in_progress", "wait"),
        ("aborted_by_worker", "failed"),
        ("cancelled", "failed"),
        ("timeout", "failed"),
        ("manual", "failed"),
        ("something_new", "failed"),
    ],
)
def test_recovery_step_for_every_state(state: str, step: str) -> None:
    assert recovery_step(message(None, state)) == step


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ("timeout", "Timeout"),
        ("aborted_by_worker", "Aborted due to worker error."),
        ("cancelled", "cancelled"),
        ("manual", "manual"),
    ],
)
def test_failure_text(state: str, text: Any) -> None:
    assert text in failure_text(message(None, state))


_EVENTS = st.one_of(
    st.builds(TokenEvent, st.text(max_size=6)),
    st.builds(PendingEvent, st.integers(1, 3), st.integers(1, 3)),
    st.just(MessageEvent(message("Hello world"))),
    st.just(ErrorEvent("Timeout", None)),
    st.just(PluginIntermediateEvent(current_plugin_thought="look it up")),
    st.just(UnknownEvent("heartbeat", {"event_type": "heartbeat"})),
)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(_EVENTS, max_size=12), recovering=st.booleans())
def test_accept_all_is_accept_one_by_one_up_to_the_terminal_event(
    events: list[Any], recovering: bool
) -> None:
    one_by_one = ReplyTracker()
    one_by_one.recovering = recovering
    expected: list[Any] = []
    progress = False
    for event in events:
        # Pings never get here; pending and unknown events do not count as progress.
        progress = progress or not isinstance(event, (PendingEvent, UnknownEvent))
        expected += one_by_one.accept(event)
        if one_by_one.finished:
            break
    batched = ReplyTracker()
    batched.recovering = recovering
    out: list[Any] = []
    assert batched.accept_all(events, out) == (progress, one_by_one.finished)
    assert out == expected
    assert batched.delivered == one_by_one.delivered
    # The same CRC: what a recovery would still owe is the same.
    assert batched.remainder(message("Hello world")) == one_by_one.remainder(message("Hello world"))
