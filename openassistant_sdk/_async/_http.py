"""Where httpx meets the core: requests built from specs, httpx errors translated, the pool.

The core never imports httpx; the facades build their requests and translate httpx's errors
here, in one place each.
"""

from __future__ import annotations

import errno
import ssl
import sys
import threading
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, NoReturn

import httpx

from openassistant_sdk._auth import Credentials
from openassistant_sdk._config import ClientOptions
from openassistant_sdk._exceptions import APIConnectionError, APITimeoutError, OpenAssistantError
from openassistant_sdk._requests import RequestSpec
from openassistant_sdk._retry import FailureKind

__all__ = [
    "HTTPX_ERRORS",
    "ShardedAsyncTransport",
    "build_request",
    "make_timeout",
    "map_httpx_errors",
    "raise_translated",
    "sharding_is_safe",
]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def make_timeout(value: Any) -> httpx.Timeout:
    """Turn the ``timeout=`` option into an ``httpx.Timeout``."""
    if value is None:
        return httpx.Timeout(None)
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"timeout must be seconds > 0, an httpx.Timeout or None, not {value!r}")
    return httpx.Timeout(float(value))


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    options: ClientOptions,
    credentials: Credentials,
    spec: RequestSpec,
    *,
    read_timeout: float | None = None,
) -> httpx.Request:
    """Build the ``httpx.Request`` for a spec, with the client's headers and credentials."""
    # One value per name, case-insensitively: the caller's headers replace the defaults, the
    # protocol's (an events stream's Accept) and the credentials replace the caller's.
    headers = {"user-agent": ("User-Agent", options.user_agent)}
    if not spec.stream:
        headers["accept"] = ("Accept", "application/json")
    for name, value in (*options.headers, *spec.headers):
        headers[name.lower()] = (name, value)
    if spec.authenticated:
        for name, value in credentials.headers():
            headers[name.lower()] = (name, value)
    timeout: Any = httpx.USE_CLIENT_DEFAULT
    if spec.stream:
        base = http.timeout
        timeout = httpx.Timeout(
            connect=base.connect, read=read_timeout, write=base.write, pool=base.pool
        )
    return http.build_request(
        spec.method,
        options.url(spec.path),
        params=list(spec.params) if spec.params else None,
        headers=list(headers.values()),
        json=spec.json if spec.has_body else None,
        timeout=timeout,
    )


def _kind(err: httpx.HTTPError) -> FailureKind:
    if isinstance(
        err, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
    ):
        return "connect"
    if isinstance(err, (httpx.WriteError, httpx.WriteTimeout)):
        return "write"
    if isinstance(err, httpx.RemoteProtocolError) and "without sending a response" in str(err):
        # The server closed a pooled connection before answering (oa-protocol.md 10.2).
        return "disconnect"
    if isinstance(err, httpx.ReadError) and _was_dropped(err):
        # A reset before any answer: the same dropped connection, seen one packet later.
        return "disconnect"
    if isinstance(err, httpx.ReadTimeout):
        return "timeout"
    return "read"


def _aiohttp_failure(err: BaseException) -> tuple[FailureKind, bool] | None:
    """Classify an error from the httpx-aiohttp transport by aiohttp's own exception.

    Returns:
        How the request failed and whether it timed out, or None when ``err`` did not come
        from aiohttp.

    That transport maps every aiohttp connection error to ``httpx.ConnectTimeout``: a
    refused connection, a reset, a server that hung up. Taken at its word, every one would be
    an ``APITimeoutError`` "while connecting", and the retry rules (decision 8) would take
    any failure after sending for one before it. aiohttp's exception says which it was.
    aiohttp is never imported here: if it is not loaded, no error came from it.
    """
    aiohttp = sys.modules.get("aiohttp")
    cause = err.__cause__
    if aiohttp is None or not isinstance(cause, aiohttp.ClientError):
        return None
    if isinstance(cause, aiohttp.ClientConnectorError):  # DNS, refused, TLS, proxy
        return ("connect", False)
    if isinstance(cause, getattr(aiohttp, "ConnectionTimeoutError", ())):  # aiohttp >= 3.10
        return ("connect", True)
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return ("timeout", True)
    if isinstance(cause, aiohttp.ServerDisconnectedError) or (
        isinstance(cause, aiohttp.ClientOSError) and cause.errno in (errno.ECONNRESET, errno.EPIPE)
    ):
        # Closed or reset before the answer began, as with httpx's own transport (_kind).
        return ("disconnect", False)
    return ("read", False)


def _was_dropped(err: BaseException) -> bool:
    seen: BaseException | None = err
    for _ in range(8):  # the cause chain: httpx -> httpcore -> (anyio ->) OSError
        if seen is None:
            return False
        # EPIPE is the same drop seen from the other side: the server had closed the pooled
        # connection (FIN) before the request arrived, the request's first bytes drew its
        # RST, and the kernel reports a reset in that state as a broken pipe, on the next
        # write or read (Linux tcp_reset() in CLOSE_WAIT).
        if isinstance(seen, (ConnectionResetError, BrokenPipeError)):
            return True
        if "reset by peer" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def map_httpx_errors(spec: RequestSpec) -> _ErrorMap:
    """Translate httpx's exceptions into the SDK's, keeping the cause (``raise ... from``)."""
    return _ErrorMap(spec)


class _ErrorMap:
    # A class rather than @contextmanager: entered for every request, and a generator-based
    # context manager costs more. (A stream's per-chunk path uses a plain try instead.)
    __slots__ = ("_spec",)

    def __init__(self, spec: RequestSpec) -> None:
        self._spec = spec

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, (httpx.HTTPError, httpx.InvalidURL)):
            raise_translated(self._spec, exc)


#: What ``raise_translated`` takes: every error httpx raises for a request.
HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


def raise_translated(spec: RequestSpec, err: httpx.HTTPError | httpx.InvalidURL) -> NoReturn:
    """Raise the SDK's error for an httpx error of ``spec``, from it."""
    foreign = _aiohttp_failure(err)
    if foreign is not None:
        kind, timed_out = foreign
    else:
        kind = _kind(err) if isinstance(err, httpx.HTTPError) else "read"
        timed_out = isinstance(err, httpx.TimeoutException)
    if timed_out:
        what = {
            "connect": "connecting",
            "write": "sending the request",
            "timeout": "waiting for the answer",
        }.get(kind, "reading")
        raise APITimeoutError(
            f"{spec.method} {spec.log_path} timed out while {what}",
            method=spec.method,
            path=spec.log_path,
            failure=kind,
        ) from err
    if isinstance(err, (httpx.TransportError, httpx.DecodingError)):
        if isinstance(err, httpx.UnsupportedProtocol):
            raise OpenAssistantError(
                f"unsupported URL for {spec.method} {spec.log_path}: {err}"
            ) from err
        # Over aiohttp, name aiohttp's error, not the httpx class it was mapped to.
        err_name = type(err.__cause__ if foreign is not None else err).__name__
        raise APIConnectionError(
            f"{spec.method} {spec.log_path} failed: {err_name}: {err}",
            method=spec.method,
            path=spec.log_path,
            failure=kind,
        ) from err
    if isinstance(err, httpx.HTTPError):
        raise OpenAssistantError(
            f"{spec.method} {spec.log_path} failed: {type(err).__name__}: {err}"
        ) from err
    raise OpenAssistantError(f"invalid URL for {spec.method} {spec.log_path}: {err}") from err


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


def _share_tls(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Loading the CA bundle takes ~15 ms: once for all the pools, not once per pool (16 of
    # them made each client take a quarter of a second to build, docs/performance.md).
    verify = kwargs.get("verify", True)
    if isinstance(verify, ssl.SSLContext):
        return kwargs
    context = httpx.create_ssl_context(verify=verify, trust_env=kwargs.get("trust_env", True))
    return {**kwargs, "verify": context}


class _Released(httpx.AsyncByteStream):
    """A response body that reports, once, when it is closed."""

    def __init__(self, inner: Any, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    def _done(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __aiter__(self) -> AsyncIterator[bytes]:
        # Delegate instead of being a generator: trio reports async generators collected
        # before their end (encode/httpx#3686), and a closed stream is not read to its end.
        return self._inner.__aiter__()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._done()


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """httpx's transport, several times over, each request to the least busy one."""

    def __init__(self, shards: int = DEFAULT_SHARDS, **kwargs: Any) -> None:
        kwargs = _share_tls(kwargs)
        self._pools = [httpx.AsyncHTTPTransport(**kwargs) for _ in range(shards)]
        self._busy = [0] * shards
        self._lock = threading.Lock()  # the sync twin's threads share it; no await inside

    def _pick(self) -> int:
        with self._lock:
            busy = self._busy
            best = busy.index(min(busy))  # the first of the least busy
            busy[best] += 1
            return best

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._pick()

        def release() -> None:
            with self._lock:
                self._busy[index] -= 1

        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        response.stream = _Released(response.stream, release)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


async def read_body(response: httpx.Response, limit: int | None) -> bytes:
    """Read a response's body, or its first ``limit`` bytes."""
    if limit is None:
        return await response.aread()
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]
