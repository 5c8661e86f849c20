"""`emulate_delete_loss`: the real server's lost message after a delete mid-generation.

On the real server, deleting a chat whose reply is still `pending` or `in_progress` loses the
next message any user queues: it stays `pending` forever (docs/protocol.md 10.14).
"""

from __future__ import annotations

from openassistant_sdk.testing import LocalServer

from .helpers import Api, events_of, joined, read_stream

#: Replies slow enough to delete one mid-generation (echo: one token per word).
SLOW = {"token_delay": 0.05}
LONG = " ".join(f"w{i}" for i in range(200))


def _delete_mid_generation(server: LocalServer) -> None:
    """User A's reply is `in_progress` when A deletes the chat."""
    alice = Api(server)
    try:
        chat_id, reply = alice.pending_message(LONG)
        assert alice.wait_state(chat_id, reply["id"], {"in_progress"})["state"] == "in_progress"
        assert alice.client.delete(f"/chats/{chat_id}").status_code == 200
    finally:
        alice.close()


def _next_reply(server: LocalServer, seconds: float = 1.5) -> tuple[dict, list[dict]]:
    """User B queues a reply and reads its stream for `seconds`; returns its state and events."""
    bob = Api(server)
    try:
        chat_id, reply = bob.pending_message("hello bob")
        _, chunks = read_stream(bob.client, bob.events_url(chat_id, reply["id"]), seconds=seconds)
        return bob.message(chat_id, reply["id"]), events_of(joined(chunks))
    finally:
        bob.close()


def test_a_delete_mid_generation_loses_the_next_users_message(make_server) -> None:
    server = make_server(emulate_delete_loss=True, **SLOW)
    _delete_mid_generation(server)
    assert server.unsafe_deletes() == 1
    assert server.state()["delete_loss"] == {
        "emulated": True,
        "unsafe_deletes": 1,
        "armed": 1,
        "lost": 0,
    }
    message, events = _next_reply(server)
    assert message["state"] == "pending"
    assert events
    assert {e["event_type"] for e in events} == {"pending"}
    assert server.lost_messages() == 1
    assert server.state()["delete_loss"]["armed"] == 0
    # One loss per unsafe delete: the message after it is served again.
    message, events = _next_reply(server, seconds=10)
    assert message["state"] == "complete"
    # A reply that finished before its stream opened is answered 204, with no events.
    assert not events or events[-1]["event_type"] == "message"
    assert server.lost_messages() == 1


def test_a_pending_message_deleted_before_any_worker_took_it_counts_too(make_server) -> None:
    server = make_server(emulate_delete_loss=True, **SLOW)
    alice = Api(server)
    server.pause_workers()
    try:
        chat_id, _ = alice.pending_message("wait for me")
        assert alice.client.delete(f"/chats/{chat_id}").status_code == 200
    finally:
        server.resume_workers()
        alice.close()
    message, _ = _next_reply(server)
    assert message["state"] == "pending"
    assert (server.unsafe_deletes(), server.lost_messages()) == (1, 1)


def test_no_loss_when_the_reply_finished_before_the_delete(make_server) -> None:
    server = make_server(emulate_delete_loss=True, token_delay=0.002)
    alice = Api(server)
    try:
        chat_id, reply = alice.pending_message("short")
        assert alice.wait_state(chat_id, reply["id"], {"complete"})["state"] == "complete"
        assert alice.client.delete(f"/chats/{chat_id}").status_code == 200
    finally:
        alice.close()
    message, events = _next_reply(server, seconds=10)
    assert message["state"] == "complete"
    # A reply that finished before its stream opened is answered 204, with no events.
    assert not events or events[-1]["event_type"] == "message"
    assert (server.unsafe_deletes(), server.lost_messages()) == (0, 0)


def test_no_loss_with_the_mode_off_but_the_unsafe_delete_is_counted(make_server) -> None:
    server = make_server(**SLOW)
    _delete_mid_generation(server)
    message, events = _next_reply(server, seconds=10)
    assert message["state"] == "complete"
    # A reply that finished before its stream opened is answered 204, with no events.
    assert not events or events[-1]["event_type"] == "message"
    assert (server.unsafe_deletes(), server.lost_messages()) == (1, 0)
    assert server.state()["delete_loss"]["emulated"] is False
