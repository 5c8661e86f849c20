"""The events stream: framing, pending, pings, tokens, terminal events (3, 10)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from typing import Any

import httpx

from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault
from openassistant_server._data import LOREM_WORDS

from .helpers import (
    MESSAGE_READ_KEYS,
    Api,
    RawStream,
    events_of,
    http_request,
    joined,
    raw_exchange,
    read_stream,
)

PING_RE = re.compile(rb"^: ping - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\r\n\r\n$")
SSE_HEAD = re.compile(
    rb"^HTTP/1\.1 200 OK\r\n"
    rb"date: [^\r]+\r\n"
    rb"server: uvicorn\r\n"
    rb"cache-control: no-cache\r\n"
    rb"connection: keep-alive\r\n"
    rb"x-accel-buffering: no\r\n"
    rb"content-type: text/event-stream; charset=utf-8\r\n"
    # httptools (used for the recording) writes this name in lower case, h11 in title case.
    rb"(?i:transfer-encoding): chunked\r\n\r\n$"
)


def open_raw(server: LocalServer, api: Api, chat_id: str, message_id: str) -> RawStream:
    request = http_request(
        "GET",
        api.events_url(chat_id, message_id),
        {"Authorization": f"Bearer {api.token}", "Accept": "text/event-stream"},
    )
    return RawStream(server.port, request)


def test_stream_wire_format_as_golden_01_9(make_server) -> None:
    server = make_server(token_delay=0.1, pending_interval=1.0)
    api = Api(server)
    try:
        server.pause_workers()
        chat_id, reply = api.pending_message("one two three four five six")
        stream = open_raw(server, api, chat_id, reply["id"])
        assert SSE_HEAD.match(stream.head())
        server.resume_workers()
        chunks = []
        while (chunk := stream.chunk()) is not None:
            chunks.append(chunk)
            if chunk[2] == b"":
                break
        stream.close()
    finally:
        api.close()
    *events, end = chunks
    assert end[1] == b"0\r\n\r\n"
    # One event per HTTP chunk: `<hex size>\r\ndata: <json>\r\n\r\n\r\n`.
    for _, raw, payload in events:
        assert raw == b"%x\r\n" % len(payload) + payload + b"\r\n"
        assert payload.startswith(b"data: {")
        assert payload.endswith(b"}\r\n\r\n")
    payloads = [payload for _, _, payload in events]
    # The idle worker starts at once: no pending events (10.7).
    assert payloads[:6] == [
        b'data: {"event_type": "token", "text": "one "}\r\n\r\n',
        b'data: {"event_type": "token", "text": "two "}\r\n\r\n',
        b'data: {"event_type": "token", "text": "three "}\r\n\r\n',
        b'data: {"event_type": "token", "text": "four "}\r\n\r\n',
        b'data: {"event_type": "token", "text": "five "}\r\n\r\n',
        b'data: {"event_type": "token", "text": "six"}\r\n\r\n',
    ]
    assert payloads[6].startswith(b'data: {"event_type": "message", "message": {"id": "')
    message = json.loads(payloads[6][len(b"data: ") :])["message"]
    assert list(message) == MESSAGE_READ_KEYS
    assert (message["state"], message["content"]) == ("complete", "one two three four five six")
    # The last token and the message event come together (10.8).
    assert events[6][0] - events[5][0] < 0.05
    assert events[5][0] - events[4][0] < 0.05
    assert events[4][0] - events[3][0] > 0.08  # the others are `token_delay` apart


def test_tokens_join_to_the_content_and_finished_streams_answer_204(api: Api) -> None:
    chat_id, reply, chunks = api.stream_reply("Bonjour, ça va ? Très bien", model="echo")
    body = joined(chunks)
    events = events_of(body)
    tokens = [e["text"] for e in events if e["event_type"] == "token"]
    final = events[-1]
    assert final["event_type"] == "message"
    assert "".join(tokens) == final["message"]["content"] == "Bonjour, ça va ? Très bien"
    assert b'"text": "\\u00e7a "' in body  # SSE JSON is ASCII, as pydantic's .json() (10.9)
    stored = api.message(chat_id, reply["id"])
    assert stored == final["message"]
    assert "ça va".encode() in api.client.get(f"/chats/{chat_id}/messages/{reply['id']}").content
    again = api.client.get(api.events_url(chat_id, reply["id"]))
    assert (again.status_code, again.content) == (204, b"")
    assert list(again.headers) == ["date", "server"]


def test_lorem_model_as_upstream(api: Api) -> None:
    _, _, chunks = api.stream_reply(model="_lorem", max_new_tokens=5)
    events = events_of(joined(chunks))
    tokens = [e["text"] for e in events if e["event_type"] == "token"]
    assert 16 <= len(tokens) <= 48  # one paragraph; max_new_tokens is ignored (10.8)
    assert all(t.endswith(" ") for t in tokens[:-1])
    assert tokens[-1].endswith(".")
    assert not tokens[-1].endswith(" ")
    words = {t.strip(" .").lower() for t in tokens}
    assert words <= set(LOREM_WORDS)
    assert "".join(tokens) == events[-1]["message"]["content"]


def test_echo_is_exact(api: Api) -> None:
    prompt = "System: be brief\nUser:  hello   there\nAssistant:"
    chat_id, reply = api.pending_message(prompt, model="echo")
    assert api.wait_state(chat_id, reply["id"], {"complete"})["content"] == prompt


def test_echo_honours_max_new_tokens(api: Api) -> None:
    chat_id, reply = api.pending_message("a b c d e", model="echo", max_new_tokens=3)
    done = api.wait_state(chat_id, reply["id"], {"complete"})
    assert done["content"] == "a b c"


def test_stream_errors(server: LocalServer, api: Api) -> None:
    chat_id, reply = api.pending_message()
    prompter = api.client.get(api.events_url(chat_id, reply["parent_id"]))
    assert (prompter.status_code, prompter.content) == (
        400,
        b'{"detail":"Only assistant messages can be streamed."}',
    )
    for url in (
        api.events_url(chat_id, "c61883e7-ef89-4c60-a9c5-e15fb25be353"),
        api.events_url("another-chat", reply["id"]),
    ):
        data, closed = raw_exchange(
            server.port, http_request("GET", url, {"Authorization": f"Bearer {api.token}"})
        )
        assert data.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        assert closed
    other = Api(server)
    try:
        assert other.client.get(api.events_url(chat_id, reply["id"])).status_code == 500
    finally:
        other.close()


def test_pending_events_with_queue_positions(make_server) -> None:
    server = make_server(workers=1, token_delay=0.05, pending_interval=0.1)
    first, second = Api(server), Api(server)
    try:
        server.pause_workers()
        _chat_a, _reply_a = first.pending_message("w " * 8)
        chat_b, reply_b = second.pending_message("x y")
        _, chunks = read_stream(
            second.client, second.events_url(chat_b, reply_b["id"]), max_events=3
        )
        assert (
            list(events_of(joined(chunks)))
            == [{"event_type": "pending", "queue_position": 2, "queue_size": 2}] * 3
        )
        assert chunks[0][0] >= 0.09  # the first pending event comes after one interval
        server.resume_workers()
        time.sleep(0.1)  # the worker took A and generates for ~0.35 s; B is next (golden 01 #21)
        _, chunks = read_stream(second.client, second.events_url(chat_b, reply_b["id"]))
        events = events_of(joined(chunks))
        assert events[0] == {"event_type": "pending", "queue_position": 1, "queue_size": 1}
        assert [e["event_type"] for e in events if e["event_type"] != "pending"] == [
            "token",
            "token",
            "message",
        ]
        # Pending events stop with the first worker output and never come back.
        first_token = next(i for i, e in enumerate(events) if e["event_type"] == "token")
        assert all(e["event_type"] != "pending" for e in events[first_token:])
    finally:
        first.close()
        second.close()


def test_pings_every_interval_from_stream_open(make_server) -> None:
    server = make_server(workers=0, ping_interval=0.2, pending_interval=0.15)
    api = Api(server)
    try:
        chat_id, reply = api.pending_message()
        stream = open_raw(server, api, chat_id, reply["id"])
        stream.head()
        pings, pending = [], 0
        deadline = time.monotonic() + 0.7
        while time.monotonic() < deadline:
            chunk = stream.chunk(seconds=max(deadline - time.monotonic(), 0.01))
            if chunk is None:
                break
            if chunk[2].startswith(b":"):
                assert PING_RE.match(chunk[2]), chunk[2]
                pings.append(chunk[0])
            else:
                pending += 1
        stream.close()
    finally:
        api.close()
    # One ping per interval, counted from the moment the stream opened (10.13).
    assert len(pings) == 3
    assert 0.18 <= pings[0] < 0.3
    assert all(0.12 < later - earlier < 0.28 for earlier, later in itertools.pairwise(pings))
    assert pending >= 3


def test_cancelled_messages_stream_pending_forever(server: LocalServer, api: Api) -> None:
    server.pause_workers()
    try:
        chat_1, a1 = api.pending_message()
        chat_2, a2 = api.pending_message()  # another parent: cancels A1 (golden 04 #9)
        assert api.message(chat_1, a1["id"])["state"] == "cancelled"
        _, chunks = read_stream(api.client, api.events_url(chat_1, a1["id"]), max_events=4)
        events = events_of(joined(chunks))
        assert len(events) == 4
        assert {e["event_type"] for e in events} == {"pending"}
        # The cancelled message still counts in queue_size (10.6).
        queue = events[0]
        assert queue["queue_size"] - queue["queue_position"] == 1
    finally:
        server.resume_workers()
    # A worker skips the cancelled message and answers A2.
    assert api.wait_state(chat_2, a2["id"], {"complete"})["state"] == "complete"
    assert api.message(chat_1, a1["id"])["state"] == "cancelled"


def test_queue_timeout_gives_an_error_event_then_endless_pending(make_server) -> None:
    server = make_server(workers=1, assistant_message_timeout=0.3, pending_interval=0.1)
    api = Api(server)
    try:
        server.pause_workers()
        chat_id, reply = api.pending_message()
        time.sleep(0.35)
        resumer = threading.Timer(0.25, server.resume_workers)
        resumer.start()
        try:
            _, chunks = read_stream(api.client, api.events_url(chat_id, reply["id"]))
        finally:
            resumer.join()
        events = events_of(joined(chunks))
        assert {e["event_type"] for e in events[:-1]} == {"pending"}
        error = events[-1]
        assert list(error) == ["event_type", "error", "message"]
        assert (error["event_type"], error["error"]) == ("error", "Timeout")
        assert error["message"]["state"] == "timeout"
        assert b'data: {"event_type": "error", "error": "Timeout", "message": {"id": ' in joined(
            chunks
        )
        assert api.message(chat_id, reply["id"])["state"] == "timeout"
        # Re-opening the stream of a timed-out message: pending 0 of 0 forever (10.6).
        _, chunks = read_stream(api.client, api.events_url(chat_id, reply["id"]), max_events=3)
        assert (
            events_of(joined(chunks))
            == [{"event_type": "pending", "queue_position": 0, "queue_size": 0}] * 3
        )
    finally:
        api.close()


def test_concurrent_readers_split_the_tokens(make_server) -> None:
    server = make_server(workers=1, token_delay=0.01)
    api = Api(server)
    try:
        server.pause_workers()
        words = " ".join(f"w{i}" for i in range(30))
        chat_id, reply = api.pending_message(words)
        results: list[list[dict[str, Any]]] = [[], []]

        def read(index: int) -> None:
            with httpx.Client(base_url=server.url, trust_env=False) as client:
                client.headers["Authorization"] = f"Bearer {api.token}"
                _, chunks = read_stream(client, api.events_url(chat_id, reply["id"]), seconds=0.8)
                results[index] = events_of(joined(chunks))

        readers = [threading.Thread(target=read, args=(i,)) for i in (0, 1)]
        for reader in readers:
            reader.start()
        time.sleep(0.2)
        server.resume_workers()
        for reader in readers:
            reader.join(5)
        tokens = [[e["text"] for e in r if e["event_type"] == "token"] for r in results]
        assert all(tokens), "each reader got some of the tokens"
        expected = [t + " " for t in words.split()[:-1]] + ["w29"]
        assert sorted(tokens[0] + tokens[1]) == sorted(expected)
        terminal = [r[-1]["event_type"] for r in results if r and r[-1]["event_type"] == "message"]
        assert terminal == ["message"]
    finally:
        api.close()


def test_reconnecting_does_not_replay_and_a_late_reader_gets_the_buffer(make_server) -> None:
    server = make_server(workers=1, token_delay=0.05)
    api = Api(server)
    try:
        server.pause_workers()
        chat_id, reply = api.pending_message("a b c d e f g h")
        url = api.events_url(chat_id, reply["id"])
        _, chunks = read_stream(api.client, url, max_events=3, on_open=server.resume_workers)
        assert [e["text"] for e in events_of(joined(chunks))] == ["a ", "b ", "c "]
        time.sleep(0.12)  # tokens arriving meanwhile wait in the message's buffer (3.3)
        _, chunks = read_stream(api.client, url, seconds=2)
        events = events_of(joined(chunks))
        assert [e["text"] for e in events[:-1]] == ["d ", "e ", "f ", "g ", "h"]
        assert events[-1]["message"]["content"] == "a b c d e f g h"
        buffered = [
            t
            for t, chunk in chunks
            if chunk.startswith(
                (
                    b'data: {"event_type": "token", "text": "d',
                    b'data: {"event_type": "token", "text": "e',
                )
            )
        ]
        assert len(buffered) == 2
        assert buffered[1] - buffered[0] < 0.03
    finally:
        api.close()


def test_worker_error_fault_aborts_the_generation(server: LocalServer, api: Api) -> None:
    server.add_fault(Fault(action="worker_error", op="assistant_message", after_events=2))
    chat_id, reply, chunks = api.stream_reply("a b c d e")
    events = events_of(joined(chunks))
    assert [e["event_type"] for e in events if e["event_type"] != "pending"] == [
        "token",
        "token",
        "error",
    ]
    assert events[-1]["error"] == "Aborted due to worker error."
    assert events[-1]["message"]["state"] == "aborted_by_worker"
    assert events[-1]["message"]["content"] is None
    assert api.client.get(api.events_url(chat_id, reply["id"])).status_code == 204
    # A worker that fails before any output gets its message re-queued (5.3).
    server.add_fault(Fault(action="worker_error", op="assistant_message", after_events=0))
    chat_id, reply = api.pending_message("x y")
    assert api.wait_state(chat_id, reply["id"], {"complete"})["content"] == "x y"
