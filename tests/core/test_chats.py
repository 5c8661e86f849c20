"""A client's chats with no I/O: creating, deleting now or later, settling, paging.

Each test plays the facade's driver: it performs the flows' actions by hand, answering every
request with a canned response, and checks what the flows ask for and what they decide.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from openassistant_sdk import (
    APIConnectionError,
    ChatInfo,
    ChatPage,
    CleanupWarning,
    InvalidResponseError,
    NotFoundError,
    SamplingParameters,
    ServiceUnavailableError,
)
from openassistant_sdk._actions import Call, Cleanup, Finished, PendingDeletion, Sleep
from openassistant_sdk._arguments import reply_flow
from openassistant_sdk._chats import (
    SETTLE_INTERVAL,
    SETTLE_POLL,
    CreateFlow,
    DeleteFlow,
    Janitor,
    Leftovers,
    Paging,
    chat_cleanup,
    orphaned,
    warn_left,
)
from openassistant_sdk._config import NOT_GIVEN, resolve
from openassistant_sdk._exceptions import OpenAssistantError
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._requests import InferenceRoutes
from openassistant_sdk._turns import Thread
from tests.core.clock import Clock

ROUTES = InferenceRoutes()
JSON = "application/json"


def message(state: str, mid: str = "a1") -> bytes:
    data = {"id": mid, "chat_id": "c1", "parent_id": "p1", "role": "assistant", "state": state}
    return json.dumps(data).encode()


def not_found() -> NotFoundError:
    return NotFoundError("gone", status_code=404, body=None)


def flow_for(chat: str | None = None, *, generating: bool = False) -> ReplyFlow:
    flow = ReplyFlow(ROUTES, None, "Hi", model="m", sampling=SamplingParameters())
    flow.chat_id = chat
    if generating:
        flow.start()
        flow.receive_response(200, JSON, json.dumps({"id": chat, "messages": []}).encode())
        assert isinstance(flow.next_action(), Call)
        flow.receive_response(
            200, JSON, message("complete", "p1").replace(b"assistant", b"prompter")
        )
        assert isinstance(flow.next_action(), Call)
        flow.receive_response(200, JSON, message("pending"))
    return flow


# -- creating ------------------------------------------------------------------------------------


def test_a_chat_is_created_shielded_with_the_calls_options() -> None:
    creating = CreateFlow(ROUTES)
    action = creating.next_action()
    assert isinstance(action, Call)
    assert (action.spec.method, action.spec.path, action.shield) == ("POST", "/chats", True)
    assert creating.cleanup() == Cleanup(drain=False)  # interrupted before: nothing to delete
    creating.receive_response(201, JSON, b'{"id": "c1", "messages": []}')
    assert isinstance(creating.next_action(), Finished)
    assert creating.chat == ChatInfo(id="c1")
    assert creating.cleanup() == Cleanup(drain=False, delete="c1")  # interrupted after


def test_a_failed_creation_raises_and_leaves_nothing() -> None:
    creating = CreateFlow(ROUTES)
    creating.next_action()
    error = ServiceUnavailableError("busy", status_code=503, body=None)
    with pytest.raises(ServiceUnavailableError):
        creating.receive_failure(error)
    assert creating.cleanup() == Cleanup(drain=False)
    with pytest.raises(RuntimeError, match="not created"):
        _ = creating.chat


def test_a_creation_answered_with_no_json_is_an_invalid_response() -> None:
    creating = CreateFlow(ROUTES)
    creating.next_action()
    with pytest.raises(InvalidResponseError):
        creating.receive_response(200, "text/html", b"<html>")


# -- deleting ------------------------------------------------------------------------------------


def test_a_deletion_sends_one_delete_and_keeps_a_real_failure() -> None:
    deleting = DeleteFlow(ROUTES, "c1")
    action = deleting.next_action()
    assert isinstance(action, Call)
    assert (action.spec.method, action.spec.path) == ("DELETE", "/chats/c1")
    deleting.receive_failure(APIConnectionError("reset"))
    assert isinstance(deleting.next_action(), Finished)
    assert isinstance(deleting.error, APIConnectionError)


def test_a_chat_gone_already_is_deleted() -> None:
    deleting = DeleteFlow(ROUTES, "c1")
    deleting.next_action()
    deleting.receive_failure(not_found())
    assert deleting.error is None
    ok = DeleteFlow(ROUTES, "c2")
    ok.next_action()
    ok.receive_response(204, "", b"")
    assert ok.error is None


def test_a_chat_waits_for_the_last_reply_that_may_be_generating() -> None:
    assert chat_cleanup("c1", []) == Cleanup(drain=False, delete="c1")
    assert chat_cleanup("c1", [flow_for("c1")]) == Cleanup(drain=False, delete="c1")
    cleanup = chat_cleanup("c1", [flow_for("c1"), flow_for("c1", generating=True)])
    assert cleanup == Cleanup(drain=False, defer=PendingDeletion("c1", "a1"))


# -- the janitor and settling --------------------------------------------------------------------


def test_a_deferred_chat_waits_and_is_looked_at_once_a_second_at_most() -> None:
    clock = Clock()
    janitor = Janitor(ROUTES, clock)
    janitor.keep(Cleanup(drain=False, delete="now"))  # not kept: the caller deletes it
    assert not janitor.due()
    janitor.keep(Cleanup(drain=False, defer=PendingDeletion("c1", "a1")))
    assert janitor.due()
    janitor.settle(0.0)
    assert not janitor.due()  # not while settling
    janitor.settled()
    assert not janitor.due()
    clock.now += SETTLE_INTERVAL
    assert janitor.due()
    assert janitor.abandon() == ["c1"]
    assert not janitor.due()


def test_settling_deletes_a_finished_chat_and_keeps_a_generating_one() -> None:
    janitor = Janitor(ROUTES, Clock())
    janitor.keep(Cleanup(drain=False, defer=PendingDeletion("c1", "a1")))
    janitor.keep(Cleanup(drain=False, defer=PendingDeletion("c2", "a2")))
    settling = janitor.settle(0.0)
    look = settling.next_action()
    assert isinstance(look, Call)
    assert look.spec.path == "/chats/c1/messages/a1"
    settling.receive_response(200, JSON, message("complete"))
    delete = settling.next_action()
    assert isinstance(delete, Call)
    assert (delete.spec.method, delete.spec.path) == ("DELETE", "/chats/c1")
    settling.receive_response(204, "", b"")
    look = settling.next_action()
    assert isinstance(look, Call)
    assert look.spec.path == "/chats/c2/messages/a2"
    settling.receive_response(200, JSON, message("in_progress", "a2"))
    assert isinstance(settling.next_action(), Finished)  # no time to wait
    assert list(janitor.waiting) == ["c2"]
    assert settling.failures == []


def test_settling_polls_until_its_time_is_up() -> None:
    clock = Clock()
    janitor = Janitor(ROUTES, clock)
    janitor.keep(Cleanup(drain=False, defer=PendingDeletion("c1")))  # no message: the chat
    settling = janitor.settle(1.0)
    look = settling.next_action()
    assert isinstance(look, Call)
    assert look.spec.path == "/chats/c1"
    pending = {"id": "c1", "messages": [json.loads(message("pending"))]}
    settling.receive_response(200, JSON, json.dumps(pending).encode())
    assert settling.next_action() == Sleep(SETTLE_POLL)
    clock.now += 0.9
    look = settling.next_action()
    settling.receive_failure(APIConnectionError("reset"))  # not known yet: looked at again
    assert settling.next_action() == Sleep(pytest.approx(0.1))
    clock.now += 0.1
    assert isinstance(settling.next_action(), Call)  # a last look, after the last sleep
    settling.receive_response(200, JSON, json.dumps(pending).encode())
    assert isinstance(settling.next_action(), Finished)
    assert list(janitor.waiting) == ["c1"]


def test_a_chat_gone_is_deleted_again_harmlessly_and_a_failed_delete_is_reported() -> None:
    janitor = Janitor(ROUTES, Clock())
    janitor.keep(Cleanup(drain=False, defer=PendingDeletion("c1", "a1")))
    settling = janitor.settle(0.0)
    settling.next_action()
    settling.receive_failure(not_found())
    delete = settling.next_action()
    assert isinstance(delete, Call)
    assert delete.spec.method == "DELETE"
    error = ServiceUnavailableError("busy", status_code=503, body=None)
    settling.receive_failure(error)
    assert isinstance(settling.next_action(), Finished)
    assert settling.failures == [("c1", error)]
    assert janitor.waiting == {}


def test_a_settling_refuses_an_answer_it_did_not_ask_for() -> None:
    settling = Janitor(ROUTES, Clock()).settle(0.0)
    with pytest.raises(RuntimeError, match="did not ask"):
        settling.receive_response(200, JSON, b"{}")


# -- what abandoned replies leave, and warnings ---------------------------------------------------


def test_an_abandoned_reply_is_queued_before_the_warning() -> None:
    flow = flow_for("c1")
    queue: list[Leftovers] = []
    leftovers = Leftovers(flow)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `-W error` and many pytest set-ups do
        with pytest.raises(ResourceWarning, match="garbage-collected"):
            orphaned(queue, leftovers)
    assert queue == [leftovers]
    orphaned(queue, Leftovers(flow_for(None)))  # holds nothing: not queued
    assert queue == [leftovers]


def test_a_chat_left_is_named_in_a_cleanup_warning() -> None:
    with pytest.warns(CleanupWarning, match="could not delete chat c1: busy"):
        warn_left("c1", OpenAssistantError("busy"))


# -- paging --------------------------------------------------------------------------------------


def test_paging_follows_cursors_each_chat_once_and_stops_at_a_repeated_cursor() -> None:
    paging = Paging()
    assert (paging.after, paging.done) == (None, False)
    first = paging.take(
        ChatPage(chats=(ChatInfo(id="a"), ChatInfo(id="b"), ChatInfo(id="a")), next="b")
    )
    assert [c.id for c in first] == ["a", "b"]
    assert (paging.after, paging.done) == ("b", False)
    second = paging.take(ChatPage(chats=(ChatInfo(id="b"), ChatInfo(id="c")), next="b"))
    assert [c.id for c in second] == ["c"]
    assert paging.done
    last = Paging()
    last.take(ChatPage(chats=(ChatInfo(id="a"),), next=None))
    assert last.done
    empty = Paging()
    empty.take(ChatPage(chats=(), next="x"))
    assert empty.done


# -- a call's arguments --------------------------------------------------------------------------


def options(**kwargs: Any) -> Any:
    return resolve(env={}, base_url="http://127.0.0.1:1", token="t", **kwargs)[0]


def test_a_calls_arguments_override_the_clients_options() -> None:
    arguments = {
        "model": "mine",
        "sampling": None,
        "temperature": 0.5,
        "top_k": NOT_GIVEN,
        "system_prompt": "be brief",
        "stall_timeout": 5.0,
        "stream_timeout": NOT_GIVEN,
        "timeout": 3.0,
        "extra_headers": {"x-a": "1"},
    }
    flow = reply_flow(options(), ROUTES, Thread("c1"), "Hi", arguments, reads_bounded=False)
    assert (flow.model, flow.sampling.temperature) == ("mine", 0.5)
    assert flow.extra == {"system_prompt": "be brief", "user_profile": None, "user_response_instructions": None}  # fmt: skip
    assert (flow.settings.stall_timeout, flow.settings.reads_bounded) == (5.0, False)
    assert flow.options is not None
    assert flow.options.timeout == 3.0


def test_left_out_arguments_take_the_clients_options() -> None:
    client = options(model="theirs", stall_timeout=7.0)
    flow = reply_flow(client, ROUTES, None, "Hi", {})
    assert (flow.model, flow.sampling, flow.settings.stall_timeout) == (
        "theirs",
        client.sampling,
        7.0,
    )
    assert flow.options is None
    assert flow.thread is None


def test_content_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="content must be a string, not int"):
        reply_flow(options(), ROUTES, None, 42, {})
