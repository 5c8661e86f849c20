"""The SDK's one error tree, and the mapping from an HTTP status to the error it raises.

Nothing else escapes the SDK: transport failures, bad JSON and server errors all arrive as a
subclass of ``OpenAssistantError`` (docs/errors.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Message

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CleanupWarning",
    "GenerationError",
    "InternalServerError",
    "InvalidResponseError",
    "MissingCredentialsError",
    "NotFoundError",
    "OpenAssistantError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "StreamError",
    "UnprocessableEntityError",
    "make_status_error",
]


class OpenAssistantError(Exception):
    """The root of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(OpenAssistantError):
    """The server could not be reached, or the connection broke before a complete answer.

    Attributes:
        method: The HTTP method of the request that failed.
        path: The request path (no query string, no credentials).
        retries_taken: How many times the request was retried before giving up.
        failure: How it failed: ``"connect"`` (nothing was sent), ``"write"``,
            ``"disconnect"`` (closed before any answer), ``"timeout"`` or ``"read"`` (the
            request was sent; the answer was lost or cut), or ``None`` (not a transport
            failure, e.g. a stall in the event stream).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        retries_taken: int = 0,
        failure: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.retries_taken = retries_taken
        self.failure = failure


class APITimeoutError(APIConnectionError):
    """A request, a stalled event stream or a whole reply took longer than allowed."""


#: What a client without credentials says, before any request: every way in, no guess.
NO_CREDENTIALS = (
    "no credentials: for a self-hosted inference server pass debug_user=, token= or "
    "trusted_client= (or set OPENASSISTANT_DEBUG_USER or OPENASSISTANT_TOKEN, with "
    "api='inference'); for the website pass session_token= or cookies= (or set "
    "OPENASSISTANT_SESSION_TOKEN); to try it offline, run `openassistant chat --local` or "
    "`openassistant serve`"
)


class MissingCredentialsError(OpenAssistantError):
    """No credentials were given, so nothing was sent; the message lists the ways in.

    Not an ``APIStatusError``: no server answered anything.
    """


class APIStatusError(OpenAssistantError):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status.
        body: The parsed JSON body, or the text of a non-JSON body, or ``None`` when empty.
        headers: The response headers (lower-cased names).
        method: The HTTP method of the request.
        path: The request path (no query string, no credentials).
        retries_taken: How many times the request was retried before this answer.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        path: str = "",
        retries_taken: int = 0,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = dict(headers or {})
        self.method = method
        self.path = path
        self.retries_taken = retries_taken


class BadRequestError(APIStatusError):
    """400: the server rejected the request (e.g. a wrong parent message, docs/protocol.md 5.2)."""


class AuthenticationError(APIStatusError):
    """401 or 403: missing, invalid or expired credentials (docs/protocol.md 1.1, 2.1)."""


class NotFoundError(APIStatusError):
    """404: no such chat, or (website) chat is switched off on that site (docs/protocol.md 1.1)."""


class RequestTooLargeError(APIStatusError):
    """413: a configured message-length or messages-per-chat cap was hit (docs/protocol.md 5.1)."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed, or the model config name is unknown (docs/protocol.md 5.2)."""


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds the server asked to wait, if it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """500 or another 5xx. A 500 from ``assistant_message`` may be the rate limit (5.1)."""


class ServiceUnavailableError(InternalServerError):
    """503: the server's work queue is full (docs/protocol.md 5.1)."""


class GenerationError(OpenAssistantError, RuntimeError):
    """The server reported a failed generation in the event stream (an ``error`` event, 3.2).

    It is also a ``RuntimeError``, as the seed's provider promised.

    Attributes:
        error: The server's error text, e.g. ``"Timeout"`` or ``"Aborted due to worker error."``.
        chat_message: The message the error event carried, if any.
    """

    def __init__(self, error: str, chat_message: Message | None = None) -> None:
        state = f" (message state {chat_message.state})" if chat_message is not None else ""
        super().__init__(f"generation failed: {error}{state}")
        self.error = error
        self.chat_message = chat_message


class ProviderError(OpenAssistantError, RuntimeError):
    """The compat shim's ``assistant_message`` request failed with an error status.

    The seed raised ``RuntimeError(message)`` when that answer carried a ``message``
    (docs/protocol.md 7, step 3), so programs written for it catch ``RuntimeError``; this error
    is one, and an ``OpenAssistantError`` too. The SDK's typed error (``RateLimitError``,
    ``UnprocessableEntityError``...) is its ``__cause__``.

    Attributes:
        message: The server's message text (its body's ``message`` or ``detail``), or the
            original error's message when the body has neither.
        status_code: The HTTP status of the answer.
        body: The parsed body of the answer (see ``APIStatusError.body``).
    """

    def __init__(self, message: str, *, status_code: int, body: object = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body

    @classmethod
    def from_status_error(cls, err: APIStatusError) -> ProviderError:
        """Build the error for a failed ``assistant_message`` answer (raise it ``from err``)."""
        text = ""
        body = err.body
        if isinstance(body, Mapping):
            for key in ("message", "detail"):
                if key in body:
                    text = error_detail(body[key])
                    break
        return cls(text or err.message, status_code=err.status_code, body=body)


class InvalidResponseError(OpenAssistantError):
    """A successful response carried a body the SDK cannot understand."""


class StreamError(InvalidResponseError):
    """The event stream was malformed, oversized or truncated beyond recovery."""


class CleanupWarning(UserWarning):
    """Cleanup (deleting a chat, closing a stream) failed while another error was on its way."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def parse_error_body(body: bytes, content_type: str) -> object:
    """Return a response body as JSON if it is JSON, else as short text, else ``None``.

    JSON nested too deeply for the parser is kept as text, like any other body that is
    not JSON: reading an error body never raises.
    """
    if not body.strip():
        return None
    if "json" in content_type or body[:1] in (b"{", b"[", b'"'):
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
            pass
    if "html" in content_type or body.lstrip()[:1] == b"<":
        title = _TITLE.search(body)
        text = title.group(1) if title else b"HTML error page"
        return text.decode("utf-8", "replace").strip()[:200]
    return body.decode("utf-8", "replace")[:2000]


def error_detail(body: object) -> str:
    """Extract the human-readable part of an error body.

    The inference server answers ``{"detail": str | list}`` (FastAPI), the website proxy
    ``{"message": ...}`` or an empty body (docs/protocol.md 1.1, 5.2). A body nested too
    deeply to show gives a short note instead of a ``RecursionError``.
    """
    try:
        return _detail(body)
    except RecursionError:
        return "(an error body nested too deeply to show)"


def _detail(body: object) -> str:
    # {"detail": {"message": ...}} and the like: unwrapped in a loop, not by recursion.
    while isinstance(body, Mapping):
        key = next((k for k in ("detail", "message", "error") if k in body), None)
        if key is None:
            return json.dumps(body)[:500]
        body = body[key]
    if isinstance(body, list):
        parts = []
        for item in body:
            if isinstance(item, Mapping) and "msg" in item:
                loc = ".".join(str(p) for p in item.get("loc", ()))
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if body is None:
        return ""
    return str(body)


def make_status_error(
    *,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    path: str,
    operation: str = "",
    api: str = "",
    retries_taken: int = 0,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the error for a response with an error status (docs/design.md, decision 7)."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    parsed = parse_error_body(body, headers.get("content-type", ""))
    detail = error_detail(parsed)
    text = f"{method} {path} answered {status_code}"
    if detail:
        text += f": {detail}"
    hint = _hint(status_code, operation, api)
    if hint:
        text += f" ({hint})"
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "body": parsed,
        "headers": headers,
        "method": method,
        "path": path,
        "retries_taken": retries_taken,
    }
    if cls is RateLimitError:
        return RateLimitError(text, retry_after=retry_after, **kwargs)
    return cls(text, **kwargs)


def _hint(status_code: int, operation: str, api: str) -> str:
    if status_code == 500 and operation == "assistant_message":
        return "the inference server answers its rate limit with a 500, docs/protocol.md 5.1"
    if status_code == 403 and api == "website":
        return "the website needs a valid next-auth session token, docs/protocol.md 1.1"
    if status_code == 404 and operation in _ROUTE_OPERATIONS:
        # A route every server of that API has: the base URL is not such a server.
        if api == "website":
            return (
                "is base_url an Open Assistant website with chat switched on (docs/protocol.md "
                "1.1)? The client assumed the website API (/api/chat...); for a self-hosted "
                "inference server pass api='inference'"
            )
        return (
            "is base_url an Open Assistant inference server? The client assumed the inference "
            "API (/chats, /auth, /configs); for the website pass api='website'"
        )
    if status_code == 404 and api == "website":
        return "the website also answers 404 when chat is switched off, docs/protocol.md 1.1"
    return ""


# Operations whose route exists on every server of the API, whatever the ids.
_ROUTE_OPERATIONS = frozenset(
    {"create_chat", "list_chats", "models", "debug_login", "trusted_login"}
)
