"""Successful response bodies: JSON parsed, or refused with the SDK's ``InvalidResponseError``.

Pure, like the rest of the core: the facades hand over status, content type and bytes. Error
bodies are read by ``parse_error_body`` in ``_exceptions``; both turn every failure of the
JSON parser, a ``RecursionError`` on deeply nested JSON included, into an SDK error.
"""

from __future__ import annotations

import json
from typing import Any

from ._exceptions import InvalidResponseError
from ._requests import RequestSpec

__all__ = ["MAX_ERROR_BODY", "answer_json", "body_limit", "parse_json_body"]


def parse_json_body(body: bytes, *, content_type: str, status: int, method: str, path: str) -> Any:
    """Parse the body of a successful response as JSON.

    The body is parsed whatever its content type says (the content type is only reported),
    as ``httpx.Response.json()`` does: UTF-8, or UTF-16/32 told apart by their first bytes.

    Args:
        body: The response body.
        content_type: The response's ``Content-Type`` header, ``""`` if none.
        status: The response's HTTP status.
        method: The request's method, for the error message.
        path: The request's path (no query string, so no secrets), for the error message.

    Returns:
        The parsed JSON value.

    Raises:
        InvalidResponseError: The body is not JSON (empty, HTML, cut short, not UTF-8), or
            it is nested too deeply for the JSON parser (a ``RecursionError`` inside it).
    """
    try:
        return json.loads(body)
    except RecursionError as err:
        reason = "JSON nested too deeply to parse"
        cause: Exception = err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        reason = "a body that is not JSON"
        cause = err
    kind = content_type or "no content type"
    raise InvalidResponseError(
        f"{method} {path} answered {status} with {reason} ({kind}): {body[:80]!r}"
    ) from cause


def answer_json(spec: RequestSpec, status: int, content_type: str, body: bytes) -> Any:
    """Parse the successful answer to ``spec`` as JSON (``parse_json_body``, named by the spec)."""
    return parse_json_body(
        body, content_type=content_type, status=status, method=spec.method, path=spec.log_path
    )


#: An error body is read up to this many bytes: its detail is all the client shows.
MAX_ERROR_BODY = 64 * 1024


def body_limit(status: int) -> int | None:
    """Return how much of a body to read: all of a success, the start of an error."""
    return None if status < 400 else MAX_ERROR_BODY
