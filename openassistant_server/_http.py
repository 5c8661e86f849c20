"""HTTP response shapes shared by every route: FastAPI-style errors and the two kinds of 500.

Handled errors answer JSON `{"detail": ...}` or an empty body and keep the connection; an
`UnhandledError` becomes upstream's 21-byte text/plain 500 and the dropped connection
(docs/protocol.md 10.2, golden 05).
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "HTTPError",
    "UnhandledError",
    "empty_response",
    "handle_http_error",
    "handle_starlette_http_exception",
    "install_quiet_log_filter",
    "json_response",
    "rest_json",
]


class HTTPError(Exception):
    """A handled error: FastAPI's `HTTPException`, answered as JSON `{"detail": ...}`."""

    def __init__(
        self, status: int, detail: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        if detail is None:
            detail = http.HTTPStatus(status).phrase  # as Starlette's HTTPException does
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


class UnhandledError(Exception):
    """An exception upstream does not catch (NoResultFound, validation inside a dependency...).

    Starlette's outermost middleware answers it with `Internal Server Error` (text/plain, 21
    bytes) and re-raises it, so uvicorn closes the TCP connection without a `Connection:
    close` header, exactly as upstream's stack does (10.2).
    """


def rest_json(content: Any) -> bytes:
    """Encode JSON as FastAPI's `JSONResponse` does: compact, UTF-8, no NaN (10.9)."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def json_response(
    content: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """Return a JSON response with upstream's header order (content-length, content-type).

    Raises:
        UnhandledError: `content` holds text with no UTF-8 encoding (a lone surrogate):
            FastAPI's serialisation fails the same way, outside any handler's try.
    """
    try:
        body = rest_json(content)
    except UnicodeEncodeError as exc:
        raise UnhandledError("the response cannot be encoded as UTF-8") from exc
    return Response(body, status_code=status, headers=headers, media_type=media_type)


def empty_response(status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Return an empty response (`fastapi.Response(status_code=...)`): content-length 0."""
    return Response(b"", status_code=status, headers=headers)


def _error_response(status: int, detail: Any, headers: Mapping[str, str] | None) -> Response:
    if status < 200 or status in (204, 304):
        # No body is allowed: FastAPI answers the bare status (golden 01 #10, 02 #46).
        return Response(status_code=status, headers=headers or None)
    return json_response({"detail": detail}, status=status, headers=headers or None)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Exception handler for `HTTPError`."""
    assert isinstance(exc, HTTPError)
    return _error_response(exc.status, exc.detail, exc.headers)


async def handle_starlette_http_exception(request: Request, exc: Exception) -> Response:
    """Exception handler for routing errors (404 Not Found, 405 Method Not Allowed)."""
    assert isinstance(exc, StarletteHTTPException)
    return _error_response(exc.status_code, exc.detail, exc.headers)


class _DropDeliberateErrors(logging.Filter):
    """Drop uvicorn's traceback for errors the server raises on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not _is_deliberate(exc)


def _is_deliberate(exc: BaseException | None) -> bool:
    if isinstance(exc, UnhandledError):
        return True
    inner = getattr(exc, "exceptions", None)  # an exception group (3.11+ or the backport)
    if isinstance(inner, tuple) and inner:
        return all(_is_deliberate(e) for e in inner)
    return False


_FILTER = _DropDeliberateErrors()


def install_quiet_log_filter() -> None:
    """Keep uvicorn from logging a traceback for every deliberate unhandled 500."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
