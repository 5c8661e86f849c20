"""How a request failed without an answer, and the SDK error that says so.

The facades name the transport's exception class; what it means for retries (did the
request reach the server?) and what the user reads are decided here.
"""

from __future__ import annotations

import errno
import sys

from ._exceptions import APIConnectionError, APITimeoutError, OpenAssistantError
from ._requests import RequestSpec
from ._retry import FailureKind

__all__ = ["foreign_failure", "transport_error", "was_dropped"]

_WAITING = {"connect": "connecting", "write": "sending the request", "timeout": "waiting for the answer"}  # fmt: skip


def was_dropped(error: BaseException) -> bool:
    """Whether the connection was reset under ``error`` (looking down its cause chain).

    EPIPE is the same drop seen from the other side: the server had closed the pooled
    connection (FIN) before the request arrived, the request's first bytes drew its RST, and
    the kernel reports a reset in that state as a broken pipe, on the next write or read
    (Linux ``tcp_reset()`` in CLOSE_WAIT).
    """
    seen: BaseException | None = error
    for _ in range(8):  # the cause chain: httpx -> httpcore -> (anyio ->) OSError
        if seen is None:
            return False
        if isinstance(seen, (ConnectionResetError, BrokenPipeError)):
            return True
        if "reset by peer" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def foreign_failure(error: BaseException) -> tuple[FailureKind, bool] | None:
    """Classify an error from the httpx-aiohttp transport by aiohttp's own exception.

    Returns:
        How the request failed and whether it timed out, or None when ``error`` did not
        come from aiohttp.

    That transport maps every aiohttp connection error to ``httpx.ConnectTimeout``: a refused
    connection, a reset, a server that hung up. Taken at its word, every one would be an
    ``APITimeoutError`` "while connecting", and the retry rules (docs/design.md, decision 8)
    would take any failure after sending for one before it. aiohttp's exception says which it
    was. aiohttp is never imported here: if it is not loaded, no error came from it.
    """
    aiohttp = sys.modules.get("aiohttp")
    cause = error.__cause__
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
        # Closed or reset before the answer began, as with httpx's own transport.
        return ("disconnect", False)
    return ("read", False)


def transport_error(
    spec: RequestSpec,
    *,
    kind: FailureKind,
    timed_out: bool,
    name: str,
    text: str,
    connection: bool = True,
    unsupported: bool = False,
    base_url: str = "",
) -> OpenAssistantError:
    """Return the SDK's error for a request that failed in the transport.

    Args:
        spec: The request.
        kind: How it failed (``FailureKind``).
        timed_out: Whether a timeout ended it.
        name: The transport's exception class name, for the message.
        text: The transport's message.
        connection: Whether it failed in the connection (otherwise in the HTTP library).
        unsupported: Whether the URL's scheme is not one the transport speaks.
        base_url: The server the client talks to, named when it cannot be reached.
    """
    where = f"{spec.method} {spec.log_path}"
    if timed_out:
        return APITimeoutError(
            f"{where} timed out while {_WAITING.get(kind, 'reading')}",
            method=spec.method,
            path=spec.log_path,
            failure=kind,
        )
    if unsupported:
        return OpenAssistantError(f"unsupported URL for {where}: {text}")
    if connection:
        hint = ""
        if kind == "connect" and base_url:
            hint = (
                f" (nothing answers at {base_url}: is the server running? `openassistant serve` "
                "starts a local one; otherwise check base_url)"
            )
        return APIConnectionError(
            f"{where} failed: {name}: {text}{hint}",
            method=spec.method,
            path=spec.log_path,
            failure=kind,
        )
    return OpenAssistantError(f"{where} failed: {name}: {text}")
