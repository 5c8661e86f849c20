"""Which errors drop the TCP connection: golden 05, with raw sockets (10.2, 10.12)."""

from __future__ import annotations

import time

import pytest

from openassistant_sdk.testing import LocalServer

from .helpers import Api, http_request, raw_exchange

UNHANDLED_HEAD = (
    b"HTTP/1.1 500 Internal Server Error\r\n"
    b"date: %s\r\n"
    b"server: uvicorn\r\n"
    b"content-length: 21\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Internal Server Error"
)


def _date(data: bytes) -> bytes:
    return data.split(b"date: ", 1)[1].split(b"\r\n", 1)[0]


def unhandled_requests(api: Api) -> list[tuple[str, bytes]]:
    chat_id, reply = api.pending_message()
    auth = {"Authorization": f"Bearer {api.token}", "Accept": "text/event-stream"}
    unknown = "aed24624-b0e2-4634-a019-f8d2aeac6d4c"
    return [
        (
            "events, unknown id",
            http_request("GET", f"/chats/{chat_id}/messages/{unknown}/events", auth),
        ),
        ("message, unknown id", http_request("GET", f"/chats/{chat_id}/messages/{unknown}", auth)),
        ("refresh, no header", http_request("GET", "/auth/refresh")),
        ("TrustedClient garbage", http_request("GET", "/chats", {"TrustedClient": "%%%"})),
        (
            "message, wrong chat",
            http_request("GET", f"/chats/{unknown}/messages/{reply['id']}", auth),
        ),
    ]


def test_unhandled_500s_close_the_connection_without_saying_so(
    api: Api, server: LocalServer
) -> None:
    for name, request in unhandled_requests(api):
        data, closed = raw_exchange(server.port, request)
        assert data == UNHANDLED_HEAD % _date(data), name
        assert closed, name


@pytest.mark.parametrize(
    ("name", "status"),
    [("handled 500", 500), ("404", 404), ("422", 422)],
)
def test_handled_errors_keep_the_connection(
    api: Api, server: LocalServer, name: str, status: int
) -> None:
    auth = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    unknown = "aed24624-b0e2-4634-a019-f8d2aeac6d4c"
    requests = {
        500: http_request(
            "POST",
            f"/chats/{unknown}/assistant_message",
            auth,
            b'{"parent_id": "' + unknown.encode() + b'", "model_config_name": "_lorem"}',
        ),
        404: http_request("GET", f"/chats/{unknown}", auth),
        422: http_request("POST", "/chats", {"Authorization": auth["Authorization"]}),
    }
    data, closed = raw_exchange(server.port, requests[status], wait=0.5)
    assert data.startswith(b"HTTP/1.1 %d " % status)
    if status == 500:
        assert data.endswith(b"content-length: 0\r\n\r\n")
    assert not closed


def test_a_pooled_client_recovers_and_connections_are_counted(
    api: Api, server: LocalServer
) -> None:
    assert api.client.get("/auth/check").status_code == 200
    assert server.open_connections() >= 1
    response = api.client.get("/chats/x/messages/y")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    # The next request needs a new connection; httpx notices the closed one and reconnects.
    assert api.client.get("/auth/check").status_code == 200
    api.client.close()
    deadline = time.monotonic() + 2
    while server.open_connections() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.open_connections() == 0
