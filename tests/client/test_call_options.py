"""Per-call options: ``timeout=`` and ``extra_headers=`` on every call, and ``with_options``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openassistant_sdk import APITimeoutError
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault
from tests.helpers import call, collect, using

from .fake import FakeOA

pytestmark = pytest.mark.anyio


async def test_extra_headers_reach_every_request_of_the_call_only(make: Any, fake: FakeOA) -> None:
    client = make(headers={"X-Team": "core"})
    await call(client.models(extra_headers={"X-Trace": "t-1"}))
    await call(client.models())
    async with using(client.chat()) as chat:
        await collect(chat.stream("Hi", extra_headers={"X-Trace": "t-2", "X-Team": "docs"}))
    traced = [
        (fake._op(r)[0], r.headers.get("x-trace"), r.headers["x-team"]) for r in fake.requests
    ]
    assert ("models", "t-1", "core") in traced
    assert ("models", None, "core") in traced
    reply = [row for row in traced if row[1] == "t-2"]
    assert {row[0] for row in reply} >= {"prompter_message", "assistant_message", "events"}
    assert all(row[2] == "docs" for row in reply)  # the call's header replaces the client's
    assert ("create_chat", None, "core") in traced


async def test_extra_headers_never_replace_the_credentials(make: Any, fake: FakeOA) -> None:
    client = make(debug_user=None, token="secret-token")
    await call(client.create_chat(extra_headers={"Authorization": "Bearer forged"}))
    assert fake.requests[-1].headers["authorization"] == "Bearer secret-token"


async def test_with_options_adds_headers(make: Any, fake: FakeOA) -> None:
    client = make(headers={"X-Team": "core"})
    other = client.with_options(headers={"X-Tenant": "t9"})
    await call(other.models())
    assert fake.requests[-1].headers["x-tenant"] == "t9"
    assert fake.requests[-1].headers["x-team"] == "core"


async def test_a_call_header_with_a_line_break_is_refused(make: Any, fake: FakeOA) -> None:
    client = make()
    with pytest.raises(ValueError, match="line break"):
        await call(client.models(extra_headers={"X-Bad": "a\r\nb"}))
    assert fake.requests == []


async def test_timeouts_reach_the_requests_as_given(make: Any, fake: FakeOA) -> None:
    client = make(timeout=httpx.Timeout(5.0, connect=1.0))
    await call(client.models())
    assert fake.requests[-1].extensions["timeout"] == {
        "connect": 1.0, "read": 5.0, "write": 5.0, "pool": 5.0,
    }  # fmt: skip
    await call(client.models(timeout=2))
    assert set(fake.requests[-1].extensions["timeout"].values()) == {2.0}
    await call(client.models(timeout=None))
    assert set(fake.requests[-1].extensions["timeout"].values()) == {None}


@pytest.mark.parametrize("bad", [0, -1, True, "3", float("inf"), float("nan")])
async def test_a_timeout_that_is_not_seconds_is_refused(make: Any, fake: FakeOA, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"timeout must be seconds > 0, an httpx.Timeout or None"):
        make(timeout=bad)
    client = make()
    with pytest.raises(ValueError, match="timeout must be"):
        await call(client.models(timeout=bad))
    assert fake.requests == []


@pytest.fixture(scope="module")
def server() -> Any:
    with LocalServer(rate_limit=None, token_delay=0.0) as running:
        yield running


async def test_a_calls_timeout_replaces_the_clients(kind: str, server: LocalServer) -> None:
    from openassistant_sdk import AsyncClient, Client

    cls = Client if kind == "sync" else AsyncClient
    client = cls(
        base_url=server.url, debug_user=f"timeout-{kind}", env={}, timeout=30, max_retries=0
    )
    async with using(client):
        await call(client.list_chats())  # logged in; the client's 30 s would wait
        server.add_fault(Fault(action="delay", op="list_chats", delay=2.0, times=1))
        with pytest.raises(APITimeoutError):
            await call(client.list_chats(timeout=0.3))
        assert (await call(client.list_chats(timeout=None))).chats == ()  # None: no limit


async def test_login_now_and_its_refusal_without_a_debug_user(make: Any, fake: FakeOA) -> None:
    client = make()
    pair = await call(client.login())
    assert pair.access_token.startswith("access-")
    assert fake.ops() == ["debug_login"]
    with pytest.raises(ValueError, match="login\\(\\) needs debug_user="):
        await call(make(debug_user=None, token="secret-token").login())
