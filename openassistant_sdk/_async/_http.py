"""Where httpx meets the core: requests built from specs, httpx errors translated, the pool.

The core never imports httpx; the facades build their requests and translate httpx's errors
here, in one place each.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn

import httpx

from openassistant_sdk._auth import Credentials
from openassistant_sdk._config import ClientOptions, request_headers, timeout_seconds
from openassistant_sdk._exceptions import OpenAssistantError
from openassistant_sdk._failures import foreign_failure, transport_error, was_dropped
from openassistant_sdk._requests import RequestSpec
from openassistant_sdk._retry import FailureKind

__all__ = [
    "HTTPX_ERRORS",
    "ShardedAsyncTransport",
    "build_request",
    "make_timeout",
    "raise_translated",
    "sharding_is_safe",
]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def make_timeout(value: Any) -> httpx.Timeout:
    """Turn the ``timeout=`` option into an ``httpx.Timeout``."""
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(timeout_seconds(value))


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    options: ClientOptions,
    credentials: Credentials,
    spec: RequestSpec,
    *,
    read_timeout: float | None = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.Request:
    """Build the ``httpx.Request`` for a spec, with the client's headers and credentials.

    ``timeout`` is the call's or the client's own (the http client's when None); an event
    stream reads with ``read_timeout`` instead.
    """
    chosen = timeout or http.timeout
    if spec.stream:
        chosen = httpx.Timeout(
            connect=chosen.connect, read=read_timeout, write=chosen.write, pool=chosen.pool
        )
    return http.build_request(
        spec.method,
        options.url(spec.path),
        params=list(spec.params) if spec.params else None,
        headers=request_headers(options, credentials, spec),
        json=spec.json if spec.has_body else None,
        timeout=chosen,
    )


def _kind(err: httpx.HTTPError) -> FailureKind:
    if isinstance(
        err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
    ):
        return "connect"
    if isinstance(err, (httpx.WriteError, httpx.WriteTimeout)):
        return "write"
    if (
        # The server closed a pooled connection before answering (docs/protocol.md 10.2).
        isinstance(err, httpx.RemoteProtocolError) and "without sending a response" in str(err)
    ) or (
        # A reset before any answer: the same dropped connection, seen one packet later.
        isinstance(err, httpx.ReadError) and was_dropped(err)
    ):
        return "disconnect"
    if isinstance(err, httpx.ReadTimeout):
        return "timeout"
    return "read"


#: What ``raise_translated`` takes: every error httpx raises for a request.
HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


def raise_translated(
    spec: RequestSpec, err: httpx.HTTPError | httpx.InvalidURL, base_url: str = ""
) -> NoReturn:
    """Raise the SDK's error for an httpx error of ``spec``, from it."""
    foreign = foreign_failure(err)
    if isinstance(err, httpx.InvalidURL):
        raise OpenAssistantError(f"invalid URL for {spec.method} {spec.log_path}: {err}") from err
    kind, timed_out = foreign or (_kind(err), isinstance(err, httpx.TimeoutException))
    raise transport_error(
        spec,
        kind=kind,
        timed_out=timed_out,
        # Over aiohttp, name aiohttp's error, not the httpx class it was mapped to.
        name=type(err.__cause__ if foreign is not None else err).__name__,
        text=str(err),
        connection=isinstance(err, (httpx.TransportError, httpx.DecodingError)),
        unsupported=isinstance(err, httpx.UnsupportedProtocol),
        base_url=base_url,
    ) from err


# -- the connection pool -------------------------------------------------------------------------
#
# httpcore's pool scans every connection for every request it places, so its cost grows with the
# square of the number of concurrent requests: 200 concurrent replies spent most of their time
# there (docs/performance.md). Spreading requests over several small pools, the least busy
# first, keeps each scan short; a sequential flow always finds the first pool idle and so keeps
# reusing its one connection. 64 pools keep 200 concurrent replies at about 3 connections a
# pool (16 left 12, and 1.4x the time); more pools measured no faster.

DEFAULT_SHARDS = 64


def sharding_is_safe(proxy: object, trust_env: bool) -> bool:
    """Whether the sharded pool can replace httpx's own without changing behaviour.

    httpx applies proxy environment variables only to the transport it builds itself, so
    with a proxy configured, or one in the environment, the SDK keeps httpx's own pool.
    """
    if proxy is not None:
        return False
    if not trust_env:
        return True
    import urllib.request  # only here: it is slow to import, and most clients never ask

    return not urllib.request.getproxies()


class _Released(httpx.AsyncByteStream):
    """A response body that reports, once, when it is closed."""

    def __init__(self, inner: Any, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        # Delegate instead of being a generator: trio reports async generators collected
        # before their end (encode/httpx#3686), and a closed stream is not read to its end.
        return self._inner.__aiter__()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._inner.aclose()
        finally:
            if release is not None:
                release()


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """httpx's transport, several times over, each request to the least busy one."""

    def __init__(self, shards: int = DEFAULT_SHARDS, **kwargs: Any) -> None:
        verify = kwargs.get("verify", True)
        if not isinstance(verify, ssl.SSLContext):
            # Loading the CA bundle takes ~15 ms: once for all the pools, not once per pool (16
            # of them made each client take a quarter of a second to build, docs/performance.md).
            kwargs["verify"] = httpx.create_ssl_context(
                verify=verify, trust_env=kwargs.get("trust_env", True)
            )
        self._pools = [httpx.AsyncHTTPTransport(**kwargs) for _ in range(shards)]
        self._busy = [0] * shards
        self._lock = threading.Lock()  # the sync twin's threads share it; no await inside

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            index = self._busy.index(min(self._busy))  # the first of the least busy
            self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._release(index)
            raise
        response.stream = _Released(response.stream, lambda: self._release(index))
        return response

    def _release(self, index: int) -> None:
        with self._lock:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


async def read_body(response: httpx.Response, limit: int | None) -> bytes:
    """Read a response's body, or its first ``limit`` bytes."""
    if limit is None:
        return await response.aread()
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])
