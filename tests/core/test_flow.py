"""ReplyFlow, the reply protocol with no I/O: driven here by canned answers, bytes and a clock.

Each test plays the facade: it performs the flow's actions by hand, answering every request
with a canned response and every read with a list of bytes, and checks what the flow asks
for next and what the user gets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from openassistant_sdk import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    ErrorEvent,
    InvalidResponseError,
    MessageEvent,
    OpenAssistantError,
    PendingEvent,
    SamplingParameters,
    ServiceUnavailableError,
    StreamError,
    TokenEvent,
)
from openassistant_sdk._actions import (
    Call,
    Cleanup,
    CloseStream,
    Finished,
    OpenStream,
    PendingDeletion,
    Read,
    Sleep,
    State,
)
from openassistant_sdk._config import NOT_GIVEN
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._reply import PENDING_CHECK, RECOVERY_POLL, ReplySettings
from openassistant_sdk._requests import InferenceRoutes
from openassistant_sdk._routes import WebsiteRoutes
from openassistant_sdk._turns import Thread, merge_sampling, sampling_overrides
from tests.core.clock import Clock

SSE = "text/event-stream; charset=utf-8"
JSON = "application/json"


def message(
    mid: str = "a1", state: str = "pending", content: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": mid, "chat_id": "c1", "parent_id": "p1", "role": "assistant", "state": state, "content": content, **extra}  # fmt: skip


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\r\n\r\n"


def token(text: str) -> bytes:
    return event({"event_type": "token", "text": text})


def final(content: str) -> bytes:
    return event({"event_type": "message", "message": message(state="complete", content=content)})


PENDING = event({"event_type": "pending", "queue_position": 1, "queue_size": 1})


def make(thread: Thread | None = None, clock: Clock | None = None, **settings: Any) -> ReplyFlow:
    settings.setdefault("stall_timeout", 60.0)
    return ReplyFlow(
        InferenceRoutes(),
        thread,
        "Hello",
        model="_lorem",
        sampling=SamplingParameters.preset("k50"),
        settings=ReplySettings(**settings),
        clock=clock or Clock(),
    )


def answer(flow: ReplyFlow, obj: object, status: int = 200) -> None:
    action = flow.next_action()
    assert isinstance(action, Call), action
    flow.receive_response(status, JSON, body(obj))


def start_streaming(flow: ReplyFlow) -> OpenStream:
    """Play the requests up to an open event stream; return the open action."""
    flow.start()
    if flow.thread is None:
        answer(flow, {"id": "c1"})
    action = flow.next_action()
    assert isinstance(action, Call)
    assert action.spec.operation == "prompter_message"
    flow.receive_response(200, JSON, body({**message("p1", "manual", "Hello"), "role": "prompter"}))
    action = flow.next_action()
    assert isinstance(action, Call)
    assert action.spec.operation == "assistant_message"
    flow.receive_response(200, JSON, body(message()))
    opening = flow.next_action()
    assert isinstance(opening, OpenStream)
    assert flow.stream_opened(200, SSE) is True
    assert flow.state is State.STREAMING
    return opening


def events(flow: ReplyFlow) -> list[Any]:
    out = list(flow.events)
    flow.events.clear()
    return out


# -- the plain path ------------------------------------------------------------------------------


def test_a_one_shot_reply_creates_its_chat_shielded_and_owns_it() -> None:
    flow = make()
    flow.start()
    create = flow.next_action()
    assert create == Call(InferenceRoutes().create_chat(), shield=True)
    assert flow.state is State.CREATING_CHAT
    flow.receive_response(201, JSON, body({"id": "c1"}))
    assert flow.chat_id == "c1"
    prompt = flow.next_action()
    assert isinstance(prompt, Call)
    assert prompt.spec.path == "/chats/c1/prompter_message"
    assert prompt.spec.json["parent_id"] is None
    assert not prompt.shield


def test_tokens_then_the_final_event_finish_the_reply() -> None:
    flow = make()
    opening = start_streaming(flow)
    assert opening.spec.path == "/chats/c1/messages/a1/events"
    assert opening.read_timeout == 60.0
    assert flow.next_action() == Read(None, False)  # the transport times the reads
    flow.receive_data(token("Hel") + token("lo"))
    assert events(flow) == [TokenEvent("Hel"), TokenEvent("lo")]
    assert flow.generating
    flow.receive_data(final("Hello"))
    assert [type(e) for e in events(flow)] == [MessageEvent]
    assert flow.done
    assert not flow.generating
    assert flow.final is not None
    assert flow.final.content == "Hello"
    assert flow.next_action() == Finished()
    assert flow.cleanup(None) == Cleanup(drain=True, delete="c1")
    assert flow.cleanup(None).delete is None, "the chat is handed out once"


def test_a_chat_reply_follows_its_thread_and_moves_its_tail() -> None:
    thread = Thread("c1", tail="t0", started=True)
    flow = make(thread)
    flow.start()
    prompt = flow.next_action()
    assert isinstance(prompt, Call)
    assert prompt.spec.json["parent_id"] == "t0"
    flow.receive_response(200, JSON, body({**message("p1", "manual", "Hello"), "role": "prompter"}))
    reply = flow.next_action()
    assert isinstance(reply, Call)
    assert reply.spec.json["parent_id"] == "p1"
    assert reply.spec.json["model_config_name"] == "_lorem"
    flow.receive_response(200, JSON, body(message()))
    assert isinstance(flow.next_action(), OpenStream)
    flow.stream_opened(200, "")
    flow.receive_data(final("Hi"))
    assert thread.tail == "a1"
    assert flow.cleanup(None).delete is None, "a chat's reply does not own the chat"


def test_a_chat_whose_first_reply_failed_takes_no_other() -> None:
    thread = Thread("c1", tail=None, started=True)
    with pytest.raises(OpenAssistantError, match="no complete reply to continue from"):
        make(thread).start()
    Thread("c1").check_continuable()  # a new chat takes its first prompt


def test_an_error_event_ends_the_reply_without_moving_the_tail() -> None:
    thread = Thread("c1")
    flow = make(thread)
    start_streaming(flow)
    failed = message(state="aborted_by_worker")
    flow.receive_data(event({"event_type": "error", "error": "boom", "message": failed}))
    assert events(flow) == [
        ErrorEvent("boom", flow.tracker.error.message if flow.tracker.error else None)
    ]
    assert flow.done
    assert thread.tail is None
    assert thread.started


def test_extra_fields_reach_the_assistant_message() -> None:
    flow = ReplyFlow(
        WebsiteRoutes(), Thread("c1"), "Hi", model="m", sampling=SamplingParameters(),
        extra={"system_prompt": "Be brief", "user_profile": None},
    )  # fmt: skip
    flow.start()
    flow.next_action()
    flow.receive_response(200, JSON, body({**message("p1", "manual", "Hi"), "role": "prompter"}))
    reply = flow.next_action()
    assert isinstance(reply, Call)
    assert reply.spec.json["system_prompt"] == "Be brief"
    assert "user_profile" not in reply.spec.json


def test_the_flow_refuses_answers_it_did_not_ask_for() -> None:
    flow = make()
    with pytest.raises(RuntimeError, match="did not ask"):
        flow.receive_response(200, JSON, b"{}")
    flow.start()
    flow.start()  # starting twice changes nothing
    assert isinstance(flow.next_action(), Call)
    with pytest.raises(RuntimeError, match="waits for an answer"):
        flow.next_action()


def test_a_body_that_is_not_json_is_an_sdk_error() -> None:
    flow = make()
    flow.start()
    flow.next_action()
    with pytest.raises(
        InvalidResponseError, match=r"POST /chats answered 200 with a body that is not JSON"
    ):
        flow.receive_response(200, "text/html", b"<html>")


def test_deeply_nested_json_is_an_sdk_error() -> None:
    flow = make()
    flow.start()
    flow.next_action()
    with pytest.raises(InvalidResponseError, match="nested too deeply"):
        flow.receive_response(200, JSON, b"[" * 100_000)


# -- the stream's answer -------------------------------------------------------------------------


def test_an_answer_that_is_not_an_event_stream_is_a_stream_error() -> None:
    flow = make()
    flow.start()
    answer(flow, {"id": "c1"})
    answer(flow, {**message("p1", "manual", "Hello"), "role": "prompter"})
    answer(flow, message())
    flow.next_action()
    with pytest.raises(StreamError, match="expected an event stream, got 'text/html'"):
        flow.stream_opened(200, "text/html; charset=utf-8")


def test_a_204_means_finished_the_message_is_fetched() -> None:
    flow = make(recover=False)  # the server's own answer: fetched even with recovery off
    flow.start()
    answer(flow, {"id": "c1"})
    answer(flow, {**message("p1", "manual", "Hello"), "role": "prompter"})
    answer(flow, message())
    flow.next_action()
    assert flow.stream_opened(204, "") is False
    fetch = flow.next_action()
    assert isinstance(fetch, Call)
    assert fetch.spec.path == "/chats/c1/messages/a1"
    flow.receive_response(200, JSON, body(message(state="complete", content="All of it")))
    assert events(flow)[0] == TokenEvent("All of it")
    assert flow.done


# -- recovery ------------------------------------------------------------------------------------


def test_a_stream_that_ends_early_is_recovered_from_the_message() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_data(token("Hel"))
    events(flow)
    flow.receive_end()
    assert flow.next_action() == CloseStream()
    answer(flow, message(state="in_progress"))
    assert flow.next_action() == Sleep(RECOVERY_POLL[0])
    reopen = flow.next_action()
    assert isinstance(reopen, OpenStream)
    assert flow.state is State.RECOVERING
    assert flow.stream_opened(200, SSE)
    flow.receive_data(token("ignored") + final("Hello"))  # tokens after a break are hidden
    assert events(flow) == [TokenEvent("lo"), MessageEvent(flow.final)]  # type: ignore[arg-type]


def test_a_204_while_recovering_fetches_again_at_once() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_broken(APIConnectionError("reset", failure="read"))
    assert flow.next_action() == CloseStream()
    answer(flow, message(state="pending"))
    assert isinstance(flow.next_action(), Sleep)
    assert isinstance(flow.next_action(), OpenStream)
    assert flow.stream_opened(204, "") is False
    answer(flow, message(state="complete", content="Done"))
    assert events(flow)[0] == TokenEvent("Done")


def test_the_waits_between_fetches_grow_and_the_attempts_are_limited() -> None:
    flow = make(max_recoveries=len(RECOVERY_POLL) + 1)
    start_streaming(flow)
    flow.receive_end()
    flow.next_action()
    waits = []
    for _ in range(len(RECOVERY_POLL) + 1):
        answer(flow, message(state="in_progress"))
        sleep = flow.next_action()
        assert isinstance(sleep, Sleep)
        waits.append(sleep.seconds)
        flow.next_action()
        flow.stream_opened(204, "")
    assert waits == [*RECOVERY_POLL, RECOVERY_POLL[-1]]
    with pytest.raises(
        StreamError, match=r"could not be recovered after 5 attempts: the stream ended"
    ):
        answer(flow, message(state="in_progress"))


def test_a_message_that_failed_meanwhile_ends_with_its_error() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_end()
    flow.next_action()
    answer(flow, message(state="aborted_by_worker"))
    (error,) = events(flow)
    assert isinstance(error, ErrorEvent)
    assert error.error == "Aborted due to worker error."
    assert flow.done


def test_with_recovery_off_a_break_is_raised() -> None:
    flow = make(recover=False)
    start_streaming(flow)
    flow.receive_data(token("x"))
    error = APIConnectionError("reset", failure="read")
    with pytest.raises(APIConnectionError) as raised:
        flow.receive_broken(error)
    assert raised.value is error
    flow = make(recover=False)
    start_streaming(flow)
    flow.receive_data(token("x"))
    with pytest.raises(StreamError, match="recovery is off"):
        flow.receive_end()


def test_an_empty_stream_is_the_websites_finished_answer() -> None:
    flow = make(recover=False)
    start_streaming(flow)
    flow.receive_end()  # no bytes at all
    assert flow.next_action() == CloseStream()
    answer(flow, message(state="complete", content="Hi"))
    assert flow.done


def test_a_failed_fetch_while_recovering_is_raised() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_end()
    flow.next_action()
    flow.next_action()
    error = BadRequestError("gone", status_code=400)
    with pytest.raises(BadRequestError):
        flow.receive_failure(error)


# -- time limits ---------------------------------------------------------------------------------


def test_a_stall_looks_at_the_message_and_takes_the_final_text() -> None:
    clock = Clock()
    flow = make(clock=clock, stall_timeout=5.0)
    start_streaming(flow)
    flow.receive_data(token("He"))
    events(flow)
    clock.now += 6
    flow.receive_data(PENDING)  # pending does not count as progress
    assert flow.next_action() == CloseStream()
    assert flow.state is State.EXPIRING
    answer(flow, message(state="complete", content="Hello"))
    assert [e for e in events(flow) if isinstance(e, TokenEvent)] == [TokenEvent("llo")]
    assert flow.done


def test_a_stall_with_an_unfinished_message_is_a_timeout() -> None:
    clock = Clock()
    flow = make(clock=clock, stall_timeout=5.0)
    start_streaming(flow)
    flow.receive_timeout()
    assert flow.next_action() == CloseStream()
    with pytest.raises(
        APITimeoutError, match=r"no reply within stall_timeout; the message is 'pending'$"
    ):
        answer(flow, message(state="pending"))


def test_a_read_timed_out_by_the_transport_is_a_stall_not_a_broken_stream() -> None:
    flow = make(recover=False)  # a broken stream would raise at once
    start_streaming(flow)
    flow.receive_broken(APITimeoutError("read timed out", failure="timeout"))
    assert flow.next_action() == CloseStream()
    assert flow.state is State.EXPIRING
    with pytest.raises(APITimeoutError, match=r"no reply within stall_timeout"):
        answer(flow, message(state="pending"))


def test_a_stall_whose_look_fails_is_a_timeout_too() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_timeout()
    flow.next_action()
    flow.next_action()
    with pytest.raises(APITimeoutError, match=r"no reply within stall_timeout$"):
        flow.receive_failure(APIConnectionError("refused", failure="connect"))


def test_a_cancelled_message_says_why_in_the_timeout() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_timeout()
    flow.next_action()
    with pytest.raises(APITimeoutError, match=r"'cancelled' \(cancelled: a newer"):
        answer(flow, message(state="cancelled"))


def test_the_total_limit_times_every_read_and_names_itself() -> None:
    clock = Clock()
    flow = make(clock=clock, stall_timeout=None, stream_timeout=10.0)
    opening = start_streaming(flow)
    assert opening.read_timeout == 10.0
    clock.now += 4
    assert flow.next_action() == Read(6.0, True)
    flow.receive_data(token("a"))
    clock.now += 7
    assert flow.next_action() == Read(0.001, True)  # never zero: a read must be tried
    flow.receive_data(token("b"))  # progress, but past the deadline
    assert flow.next_action() == CloseStream()
    flow.next_action()
    with pytest.raises(APITimeoutError, match="no reply within stream_timeout"):
        flow.receive_response(200, JSON, body(message(state="in_progress")))


def test_a_recovery_past_the_deadline_expires() -> None:
    clock = Clock()
    flow = make(clock=clock, stream_timeout=1.0)
    start_streaming(flow)
    flow.receive_end()
    flow.next_action()
    clock.now += 2
    with pytest.raises(APITimeoutError, match="stream_timeout"):
        answer(flow, message(state="in_progress"))


def test_no_limits_means_untimed_reads_without_a_timeout() -> None:
    flow = make(stall_timeout=None)
    opening = start_streaming(flow)
    assert opening.read_timeout is None
    flow = make(stall_timeout=None, reads_bounded=False)
    start_streaming(flow)
    assert flow.next_action() == Read(None, True)


def test_a_message_that_died_in_the_queue_is_noticed_while_pending() -> None:
    clock = Clock()
    flow = make(clock=clock, stall_timeout=None)
    start_streaming(flow)
    flow.receive_data(PENDING)
    assert flow.next_action() == Read(None, False), "no look before the check interval"
    clock.now += PENDING_CHECK + 1
    flow.receive_data(PENDING)
    check = flow.next_action()
    assert isinstance(check, Call)
    assert flow.state is State.CHECKING
    answer_obj = message(state="pending")
    flow.receive_response(200, JSON, body(answer_obj))
    assert flow.state is State.STREAMING  # still queued: keep reading
    clock.now += 1
    flow.receive_data(PENDING)
    assert flow.next_action() == Read(None, False), "the next look waits a whole interval"
    clock.now += PENDING_CHECK
    flow.receive_data(PENDING)
    flow.next_action()
    flow.receive_failure(APIConnectionError("refused", failure="connect"))
    assert flow.state is State.STREAMING  # a failed look changes nothing
    clock.now += PENDING_CHECK + 1
    flow.receive_data(PENDING)
    flow.next_action()
    events(flow)
    flow.receive_response(200, JSON, body(message(state="cancelled")))
    (error,) = events(flow)
    assert isinstance(error, ErrorEvent)
    assert flow.next_action() == CloseStream()
    assert flow.next_action() == Finished()


def test_pending_events_reach_the_user() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_data(PENDING)
    assert events(flow) == [PendingEvent(queue_position=1, queue_size=1)]


# -- what a reply leaves -------------------------------------------------------------------------


def test_a_reply_stopped_while_generating_defers_its_chats_deletion() -> None:
    flow = make()
    start_streaming(flow)
    flow.receive_data(token("Hel"))
    assert flow.pending_deletion() == PendingDeletion("c1", "a1")
    # Never a DELETE while the message may be generating: the server would lose the next
    # message anyone queues.
    assert flow.cleanup(KeyboardInterrupt()) == Cleanup(
        drain=False, defer=PendingDeletion("c1", "a1")
    )


def test_a_reply_stopped_before_its_assistant_message_deletes_at_once() -> None:
    flow = make()
    flow.start()
    answer(flow, {"id": "c1"})
    assert flow.pending_deletion() is None
    assert flow.cleanup(KeyboardInterrupt()) == Cleanup(drain=False, delete="c1")


def test_a_reply_whose_assistant_message_was_lost_defers_by_the_whole_chat() -> None:
    flow = make()
    flow.start()
    answer(flow, {"id": "c1"})
    answer(flow, {**message("p1", "manual", "Hello"), "role": "prompter"})
    flow.next_action()
    with pytest.raises(APITimeoutError):
        flow.receive_failure(APITimeoutError("slow", failure="timeout"))
    assert flow.cleanup(None) == Cleanup(drain=False, defer=PendingDeletion("c1", None))


def test_a_chats_reply_hands_out_no_chat_but_says_it_is_generating() -> None:
    flow = make(Thread("c9"))
    flow.start()
    flow.receive_response(200, JSON, body({**message("p1", "manual", "Hello"), "role": "prompter"}))
    flow.next_action()
    flow.receive_response(200, JSON, body(message()))
    assert flow.cleanup(None) == Cleanup(drain=False)
    assert flow.pending_deletion() == PendingDeletion("c9", "a1")


@pytest.mark.parametrize(
    ("error", "generating"),
    [
        (ServiceUnavailableError("full", status_code=503), True),  # stored before the 503
        (BadRequestError("no", status_code=400), False),
        (APIConnectionError("refused", failure="connect"), False),  # never sent
        (APITimeoutError("slow", failure="timeout"), True),  # sent; the answer was lost
    ],
)
def test_a_failed_assistant_message_may_still_be_generating(
    error: OpenAssistantError, generating: bool
) -> None:
    flow = make()
    flow.start()
    answer(flow, {"id": "c1"})
    assert not flow.generating
    answer(flow, {**message("p1", "manual", "Hello"), "role": "prompter"})
    flow.next_action()
    assert flow.generating  # from the moment the assistant message may be sent
    with pytest.raises(type(error)):
        flow.receive_failure(error)
    assert flow.generating is generating


def test_a_pending_deletion_checks_the_message_or_the_whole_chat() -> None:
    routes = InferenceRoutes()
    known = PendingDeletion("c1", "a1")
    assert known.check(routes).path == "/chats/c1/messages/a1"
    assert not known.finished(message(state="in_progress"))
    assert known.finished(message(state="complete", content="x"))
    unknown = PendingDeletion("c1")
    assert unknown.check(routes).path == "/chats/c1"
    assert not unknown.finished({"id": "c1", "messages": [message(state="pending")]})
    assert unknown.finished({"id": "c1", "messages": [message(state="timeout")]})


def test_sampling_overrides_keep_only_what_was_given() -> None:
    given = sampling_overrides(top_k=5, top_p=NOT_GIVEN, temperature=None, content="x")
    assert given == {"top_k": 5, "temperature": None}
    base = SamplingParameters.preset("k50")
    merged = merge_sampling(base, given)
    assert merged.top_k == 5
    assert merged.temperature is None
    assert merge_sampling(base, {}) is base
    with pytest.raises(ValueError, match="sampling must be a SamplingParameters"):
        merge_sampling({"top_k": 5}, {})
