"""Fault injection: request faults, stream faults, matching, and the admin routes."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault

from .helpers import Api, RawStream, events_of, http_request, joined, raw_exchange, read_stream


def assistant_request(api: Api, chat_id: str, parent_id: str) -> bytes:
    body = b'{"parent_id": "%s", "model_config_name": "echo"}' % parent_id.encode()
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    return http_request("POST", f"/chats/{chat_id}/assistant_message", headers, body)


def test_respond_with_a_status_a_given_number_of_times(server: LocalServer, api: Api) -> None:
    chat_id = api.new_chat()
    prompt = api.prompt(chat_id, "Hi")
    server.add_fault(
        Fault(
            action="respond",
            op="assistant_message",
            status=429,
            headers={"Retry-After": "2"},
            body='{"detail":"Too Many Requests"}',
            times=2,
        )
    )
    for _ in range(2):
        response = api.assist(chat_id, prompt["id"])
        assert (response.status_code, response.headers["retry-after"]) == (429, "2")
        assert response.json() == {"detail": "Too Many Requests"}
    assert api.assist(chat_id, prompt["id"]).status_code == 200
    assert server.faults() == []


def test_handled_and_unhandled_500(server: LocalServer, api: Api) -> None:
    server.add_fault(Fault(action="handled_500", method="GET", path="/auth/check"))
    data, closed = raw_exchange(
        server.port,
        http_request("GET", "/auth/check", {"Authorization": f"Bearer {api.token}"}),
        wait=0.3,
    )
    assert data.startswith(b"HTTP/1.1 500 ")
    assert data.endswith(b"content-length: 0\r\n\r\n")
    assert not closed
    server.add_fault(Fault(action="unhandled_500", op="auth_check"))
    data, closed = raw_exchange(server.port, http_request("GET", "/auth/check"))
    assert data.endswith(b"\r\n\r\nInternal Server Error")
    assert closed


@pytest.mark.parametrize("action", ["reset", "close"])
def test_dropping_the_connection_before_answering(
    server: LocalServer, api: Api, action: str
) -> None:
    server.add_fault(Fault(action=action, op="create_chat"))  # type: ignore[arg-type]
    data, closed = raw_exchange(
        server.port,
        http_request("POST", "/chats", {"Authorization": f"Bearer {api.token}"}, b"{}"),
    )
    assert (data, closed) == (b"", True)
    server.add_fault(Fault(action=action, op="create_chat"))  # type: ignore[arg-type]
    with pytest.raises(httpx.TransportError):
        api.client.post("/chats", json={})
    assert api.client.post("/chats", json={}).status_code == 200


def test_reset_is_a_tcp_reset(server: LocalServer, api: Api) -> None:
    server.add_fault(Fault(action="reset", op="auth_check"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(http_request("GET", "/auth/check"))
        time.sleep(0.2)  # let the RST arrive
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_delay(server: LocalServer, api: Api) -> None:
    server.add_fault(Fault(action="delay", delay=0.3, op="auth_check"))
    start = time.monotonic()
    assert api.client.get("/auth/check").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_matching_by_method_path_api_and_op(server: LocalServer, api: Api) -> None:
    server.add_fault(Fault(action="respond", status=418, method="POST", path="/chats", times=None))
    assert api.client.get("/chats").status_code == 200
    assert api.client.post("/chats", json={}).status_code == 418
    assert api.client.post("/chats", json={}).status_code == 418  # `times=None`: every time
    assert server.clear_faults() == 1
    fault_id = server.add_fault(Fault(action="respond", status=418, api="website"))
    assert api.client.get("/chats").status_code == 200
    assert server.remove_fault(fault_id)
    assert not server.remove_fault(fault_id)
    server.add_fault(Fault(action="respond", status=418, path="/chats/*/prompter_message"))
    chat_id = api.new_chat()
    assert api.client.post(f"/chats/{chat_id}/prompter_message", json={}).status_code == 418


def test_fault_values_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown fault action"):
        Fault(action="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        Fault(action="reset", times=0)
    with pytest.raises(ValueError, match="api"):
        Fault(action="reset", api="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_json({"action": "reset", "colour": "red"})
    fault = Fault.from_json({"action": "respond", "status": 503, "headers": {"Retry-After": 1}})
    assert fault.headers == {"Retry-After": "1"}
    assert Fault.from_json(fault.to_json()) == fault


def stream_with_fault(
    server: LocalServer, api: Api, fault: Fault, content: str = "a b c d e"
) -> tuple[RawStream, str, str]:
    server.pause_workers()
    try:
        chat_id, reply = api.pending_message(content)
    finally:
        server.resume_workers()
    server.add_fault(fault)
    stream = RawStream(
        server.port,
        http_request(
            "GET", api.events_url(chat_id, reply["id"]), {"Authorization": f"Bearer {api.token}"}
        ),
    )
    stream.head()
    return stream, chat_id, reply["id"]


def read_chunks(stream: RawStream, seconds: float = 2) -> list[bytes]:
    payloads = []
    deadline = time.monotonic() + seconds
    while (chunk := stream.chunk(max(deadline - time.monotonic(), 0.01))) is not None:
        payloads.append(chunk[2])
        if chunk[2] == b"":
            break
    return payloads


@pytest.fixture
def slow_server(make_server):
    return make_server(workers=1, token_delay=0.02, ping_interval=0.1, pending_interval=0.05)


@pytest.mark.parametrize("action", ["stream_reset", "stream_abort"])
def test_stream_dropped_after_n_events(slow_server: LocalServer, action: str) -> None:
    api = Api(slow_server)
    try:
        fault = Fault(action=action, op="events", after_events=2)  # type: ignore[arg-type]
        stream, _, _ = stream_with_fault(slow_server, api, fault)
        payloads = read_chunks(stream)
        assert len(payloads) == 2
        assert all(p.startswith(b"data: ") for p in payloads)
        assert stream.closed  # no final `0\r\n\r\n` chunk: the body is cut
        stream.close()
        # What an httpx client sees: a transport error in the middle of the body.
        slow_server.add_fault(Fault(action=action, op="events", after_events=1))  # type: ignore[arg-type]
        slow_server.pause_workers()
        chat_id, reply = api.pending_message("x y z")
        with pytest.raises(httpx.TransportError):
            read_stream(
                api.client, api.events_url(chat_id, reply["id"]), on_open=slow_server.resume_workers
            )
    finally:
        api.close()


def test_stream_stall_keeps_the_connection_silent(slow_server: LocalServer) -> None:
    api = Api(slow_server)
    try:
        stream, _, _ = stream_with_fault(
            slow_server, api, Fault(action="stream_stall", after_events=1)
        )
        first = stream.chunk()
        assert first is not None
        assert first[2].startswith(b"data: ")
        assert stream.chunk(seconds=0.5) is None  # nothing, not even pings
        assert not stream.closed
        stream.close()
    finally:
        api.close()


def test_stream_end_without_a_terminal_event(slow_server: LocalServer) -> None:
    api = Api(slow_server)
    try:
        stream, chat_id, message_id = stream_with_fault(
            slow_server, api, Fault(action="stream_end", op="events", after_events=2)
        )
        payloads = read_chunks(stream)
        stream.close()
        assert len(payloads) == 3
        assert payloads[-1] == b""
        # Generation goes on; a new reader gets the rest (3.3).
        _, chunks = read_stream(api.client, api.events_url(chat_id, message_id))
        assert events_of(joined(chunks))[-1]["event_type"] == "message"
    finally:
        api.close()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("stream_malformed", b"data: {not json\r\n\r\n"),
        ("stream_unknown_event", b'data: {"event_type": "local_server_injected", '),
    ],
)
def test_stream_injections(slow_server: LocalServer, action: str, expected: bytes) -> None:
    api = Api(slow_server)
    try:
        stream, _, _ = stream_with_fault(slow_server, api, Fault(action=action, after_events=1))  # type: ignore[arg-type]
        payloads = [p for p in read_chunks(stream) if not p.startswith(b":")]
        stream.close()
        assert payloads[0].startswith(b'data: {"event_type": "token"')
        assert payloads[1].startswith(expected)
        assert payloads[-2].startswith(b'data: {"event_type": "message"')  # then carries on
    finally:
        api.close()


def test_stream_slow_delivers_small_chunks(slow_server: LocalServer) -> None:
    api = Api(slow_server)
    try:
        fault = Fault(action="stream_slow", chunk_size=7, chunk_delay=0.001)
        stream, _, _ = stream_with_fault(slow_server, api, fault, content="a b")
        payloads = read_chunks(stream)
        stream.close()
        assert payloads[-1] == b""
        assert max(len(p) for p in payloads) <= 7
        body = b"".join(payloads)
        assert [e["event_type"] for e in events_of(body) if e["event_type"] != "pending"] == [
            "token",
            "token",
            "message",
        ]
    finally:
        api.close()


def test_admin_routes(server: LocalServer, api: Api) -> None:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as admin:
        added = admin.post(
            "/_local/faults",
            json=[
                {"action": "respond", "status": 503, "op": "list_chats"},
                {"action": "delay", "delay": 0},
            ],
        )
        assert added.status_code == 200
        ids = added.json()["ids"]
        assert [f["id"] for f in admin.get("/_local/faults").json()] == ids
        # Faults never apply to the admin routes themselves.
        assert admin.get("/_local/state").status_code == 200
        assert api.client.get("/chats").status_code == 503
        assert admin.delete(f"/_local/faults/{ids[1]}").status_code == 200
        assert admin.delete(f"/_local/faults/{ids[1]}").status_code == 404
        assert admin.delete("/_local/faults").json() == {"cleared": 0}
        bad = admin.post("/_local/faults", json={"action": "explode"})
        assert bad.status_code == 400
        assert "unknown fault action" in bad.json()["detail"]
        assert admin.post("/_local/faults", content=b"{").status_code == 400

        api.new_chat()
        state = admin.get("/_local/state").json()
        assert set(state) == {
            "users",
            "chats",
            "messages",
            "connections",
            "workers",
            "queues",
            "faults",
            "delete_loss",
        }
        assert state["chats"] >= 1
        assert state["connections"] >= 1
        assert admin.post("/_local/workers", json={"paused": True}).json() == {"paused": True}
        assert admin.get("/_local/state").json()["workers"]["paused"] is True
        assert admin.post("/_local/workers", json={"paused": False}).status_code == 200
        assert admin.post("/_local/workers", json={}).status_code == 400


def test_admin_routes_can_be_switched_off(make_server) -> None:
    server = make_server(admin_routes=False)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        assert client.get("/_local/state").status_code == 404
