"""The one place httpx meets the core: requests built from specs, httpx errors translated.

Both facades use it; the core never imports httpx (style.md rules 1 and 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ._auth import Credentials
from ._config import ClientOptions
from ._exceptions import APIConnectionError, APITimeoutError, OpenAssistantError
from ._requests import RequestSpec
from ._retry import FailureKind

__all__ = ["build_request", "make_timeout", "map_httpx_errors"]

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
    headers: list[tuple[str, str]] = [("User-Agent", options.user_agent)]
    if not spec.stream:
        headers.append(("Accept", "application/json"))
    headers.extend(options.headers)
    headers.extend(spec.headers)
    if spec.authenticated:
        headers.extend(credentials.headers())
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
        headers=headers,
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
    if isinstance(err, httpx.ReadTimeout):
        return "timeout"
    return "read"


@contextmanager
def map_httpx_errors(spec: RequestSpec) -> Iterator[None]:
    """Translate httpx's exceptions into the SDK's, keeping the cause (``raise ... from``)."""
    try:
        yield
    except httpx.TimeoutException as err:
        kind = _kind(err)
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
    except (httpx.TransportError, httpx.DecodingError) as err:
        if isinstance(err, httpx.UnsupportedProtocol):
            raise OpenAssistantError(
                f"unsupported URL for {spec.method} {spec.log_path}: {err}"
            ) from err
        kind = _kind(err)
        raise APIConnectionError(
            f"{spec.method} {spec.log_path} failed: {type(err).__name__}: {err}",
            method=spec.method,
            path=spec.log_path,
            failure=kind,
        ) from err
    except httpx.HTTPError as err:
        raise OpenAssistantError(
            f"{spec.method} {spec.log_path} failed: {type(err).__name__}: {err}"
        ) from err
    except httpx.InvalidURL as err:
        raise OpenAssistantError(f"invalid URL for {spec.method} {spec.log_path}: {err}") from err
