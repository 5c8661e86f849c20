"""Integration fixtures: a real local server on a loopback port, and real clients for it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openassistant_sdk import AsyncClient, Client, RetryPolicy
from openassistant_sdk.testing import LocalServer

_users = itertools.count()
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, jitter=0.0)


@pytest.fixture(params=["sync", "async", "async-trio", "async-aiohttp"])
def kind(request: pytest.FixtureRequest) -> str:
    """The client kinds of tests/conftest.py, and the async client over httpx-aiohttp.

    The aiohttp transport (the ``[aiohttp]`` extra, docs/performance.md) runs the same
    bodies against the same real server, so what holds for the default transport (nothing
    resent that the server may have stored, nothing leaked) is shown to hold over it too.
    """
    if request.param == "async-aiohttp":
        pytest.importorskip("httpx_aiohttp")
    return str(request.param)


class _AiohttpAsyncClient(AsyncClient):
    """An ``AsyncClient`` over an ``HttpxAiohttpClient`` that it closes with itself.

    The SDK never closes an ``http_client`` it was given (docs/design.md, decision 11); a
    test's client owns this one, so the server sees no connection left after ``aclose()``.
    """

    def __init__(self, **kwargs: Any) -> None:
        from httpx_aiohttp import HttpxAiohttpClient

        self._owned_http = HttpxAiohttpClient()
        super().__init__(http_client=self._owned_http, **kwargs)

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self._owned_http.aclose()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    # No rate limit here (the fault suite sends many assistant messages). At 10 ms a token a
    # _lorem reply takes about 0.3 s: long enough that the events stream opens before it ends,
    # so stream faults act on a live stream and not on the server's 204.
    # And the real server's delete loss reproduced: a chat deleted while its reply is being
    # generated costs the next message anyone queues. Every test checks that none was.
    with LocalServer(
        token_delay=0.01, rate_limit=None, pending_interval=0.2, emulate_delete_loss=True
    ) as running:
        yield running


@pytest.fixture(scope="module")
def slow_server() -> Iterator[LocalServer]:
    # Replies that take about a second and a half: for timeouts while tokens flow.
    with LocalServer(token_delay=0.05, rate_limit=None) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults_left(server: LocalServer) -> Iterator[None]:
    server.clear_faults()
    server.resume_workers()
    unsafe = server.unsafe_deletes()
    yield
    server.clear_faults()
    server.resume_workers()
    # No path of the SDK deletes a chat whose reply is still being generated (no message of
    # another user is lost for it).
    assert server.unsafe_deletes() == unsafe, "a chat was deleted while its reply was generated"
    assert server.lost_messages() == 0


@pytest.fixture
def make(kind: str, server: LocalServer) -> Callable[..., Any]:
    """Build a client of the test's kind for the local server; each test gets its own user."""

    def build(api: str = "inference", **kwargs: Any) -> Any:
        user = f"user{next(_users)}"
        kwargs.setdefault("env", {})
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("model", "echo")
        if api == "inference":
            kwargs.setdefault("debug_user", user)
        else:
            kwargs.setdefault("session_token", f"session-{user}")
        kwargs.setdefault("base_url", server.url)
        cls = {"sync": Client, "async-aiohttp": _AiohttpAsyncClient}.get(kind, AsyncClient)
        return cls(api=api, **kwargs)

    return build


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll ``predicate`` for at most ``seconds``; return its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def clean(server: LocalServer) -> Iterator[None]:
    """After the test (and its client is closed): no chat left, no connection held."""
    before = server.chats_alive()
    yield
    assert wait_for(lambda: server.chats_alive() == before), "a chat was left on the server"
    assert wait_for(lambda: server.open_connections() == 0), "a connection was left open"
