"""The sharded connection pool: the least busy pool first, released once, one TLS context."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from openassistant_sdk._async._http import ShardedAsyncTransport
from openassistant_sdk._sync._http import ShardedTransport
from tests.helpers import call, close

pytestmark = pytest.mark.anyio


def _ok(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/fail":
        raise httpx.ConnectError("refused", request=request)
    return httpx.Response(200, content=b"body")


def _sharded(kind: str, shards: int) -> Any:
    transport: Any = (ShardedTransport if kind == "sync" else ShardedAsyncTransport)(shards)
    transport._pools = [httpx.MockTransport(_ok) for _ in range(shards)]
    return transport


async def _send(transport: Any, path: str) -> httpx.Response:
    request = httpx.Request("GET", f"http://pool.test{path}")
    if isinstance(transport, ShardedTransport):
        return transport.handle_request(request)
    return await transport.handle_async_request(request)


async def test_each_request_goes_to_the_least_busy_pool_until_its_body_closes(kind: str) -> None:
    transport = _sharded(kind, 3)
    first, second = await _send(transport, "/"), await _send(transport, "/")
    assert transport._busy == [1, 1, 0]
    await close(first.stream)
    await close(first.stream)  # released once, however often it is closed
    assert transport._busy == [0, 1, 0]
    third = await _send(transport, "/")  # the first of the least busy
    assert transport._busy == [1, 1, 0]
    with pytest.raises(httpx.ConnectError):
        await _send(transport, "/fail")  # a request that fails holds no pool
    assert transport._busy == [1, 1, 0]
    for response in (second, third):
        await close(response.stream)
    assert transport._busy == [0, 0, 0]
    await call(transport.close() if kind == "sync" else transport.aclose())


def test_the_pools_share_one_tls_context() -> None:
    for cls in (ShardedTransport, ShardedAsyncTransport):
        contexts = {id(pool._pool._ssl_context) for pool in cls(4)._pools}
        assert len(contexts) == 1
        mine = ssl.create_default_context()
        assert all(pool._pool._ssl_context is mine for pool in cls(2, verify=mine)._pools)
