"""Parse response bodies: JSON answers of the REST routes, and what to read of an error body."""

from __future__ import annotations

import json
from typing import Any

from ._exceptions import InvalidResponseError

__all__ = ["MAX_ERROR_BODY", "body_limit", "json_body"]

#: An error body is read up to this many bytes: its detail is all the client shows.
MAX_ERROR_BODY = 64 * 1024


def body_limit(status: int) -> int | None:
    """Return how much of a body to read: all of a success, the start of an error."""
    return None if status < 400 else MAX_ERROR_BODY


def json_body(body: bytes, *, status: int, content_type: str, method: str, path: str) -> Any:
    """Return a REST answer's JSON.

    Raises:
        InvalidResponseError: The body is not JSON, or nested too deeply to parse.
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        kind = content_type or "no content type"
        what = "nested too deeply" if isinstance(err, RecursionError) else "not JSON"
        raise InvalidResponseError(
            f"{method} {path} answered {status} with a body that is {what} ({kind}): {body[:80]!r}"
        ) from None
