"""The error tree and the status-to-error mapping (docs/errors.md; docs/design.md, decision 7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openassistant_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GenerationError,
    InternalServerError,
    InvalidResponseError,
    Message,
    MissingCredentialsError,
    NotFoundError,
    OpenAssistantError,
    ProviderError,
    RateLimitError,
    RequestTooLargeError,
    ServiceUnavailableError,
    StreamError,
    UnprocessableEntityError,
)
from openassistant_sdk._exceptions import error_detail, make_status_error

from . import golden

JSON = {"content-type": "application/json"}


def error(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, **kw: Any
) -> APIStatusError:
    return make_status_error(
        status_code=status,
        headers=JSON if headers is None else headers,
        body=body,
        method=kw.pop("method", "GET"),
        path=kw.pop("path", "/chats"),
        **kw,
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (413, RequestTooLargeError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, ServiceUnavailableError),
        (504, InternalServerError),
        (599, InternalServerError),
        (405, APIStatusError),
        (409, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_each_status_maps_to_its_class(status: int, cls: type[APIStatusError]) -> None:
    err = error(status)
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert isinstance(err, OpenAssistantError)
    assert err.status_code == status


def test_503_is_an_internal_server_error() -> None:
    assert issubclass(ServiceUnavailableError, InternalServerError)
    assert isinstance(error(503), InternalServerError)


def test_rate_limit_carries_retry_after() -> None:
    err = error(429, b'{"detail": "Too Many Requests"}', retry_after=12.0)
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 12.0
    assert error(429).retry_after is None  # type: ignore[attr-defined]


def test_attributes_are_kept() -> None:
    headers = {"content-type": "application/json", "x-request-id": "r1"}
    err = error(
        404,
        b'{"detail":"Chat not found"}',
        headers,
        method="DELETE",
        path="/chats/c",
        retries_taken=2,
    )
    assert err.body == {"detail": "Chat not found"}
    assert err.headers == headers
    assert (err.method, err.path, err.retries_taken) == ("DELETE", "/chats/c", 2)
    assert str(err) == err.message == "DELETE /chats/c answered 404: Chat not found"


# --- the recorded error bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "number", "cls", "detail"),
    [
        (golden.ERRORS, 4, AuthenticationError, "Not authenticated"),
        (golden.ERRORS, 7, AuthenticationError, "Invalid token"),
        (golden.ERRORS, 9, BadRequestError, "Invalid token type"),
        (golden.ERRORS, 29, BadRequestError, "Parent message not found"),
        (golden.ERRORS, 38, NotFoundError, "Chat not found"),
        (golden.ERRORS, 44, BadRequestError, "Cannot specify both after and before."),
        (golden.ERRORS, 17, InternalServerError, "Internal Server Error"),
        (golden.FULL_FLOW, 5, UnprocessableEntityError, "body: field required"),
        (
            golden.ERRORS,
            26,
            UnprocessableEntityError,
            "body.parent_id: field required; body.model_config_name: field required",
        ),
        (
            golden.ERRORS,
            43,
            UnprocessableEntityError,
            "query.limit: ensure this value is greater than 0",
        ),
    ],
)
def test_recorded_error_responses(
    name: str, number: int, cls: type[APIStatusError], detail: str
) -> None:
    recorded = golden.exchange(name, number)
    path = recorded.target.split("?")[0]
    err = make_status_error(
        status_code=recorded.status,
        headers=recorded.response_headers,
        body=recorded.body,
        method=recorded.method,
        path=path,
    )
    assert type(err) is cls
    assert str(err) == f"{recorded.method} {path} answered {recorded.status}: {detail}"


def test_the_unhandled_500_body_is_kept_as_text() -> None:
    recorded = golden.exchange(golden.ERRORS, 17)
    assert recorded.response_headers["content-type"].startswith("text/plain")
    err = make_status_error(
        status_code=500,
        headers=recorded.response_headers,
        body=recorded.body,
        method="GET",
        path="/x",
    )
    assert err.body == "Internal Server Error"


def test_the_handled_500_has_an_empty_body() -> None:
    recorded = golden.exchange(golden.ERRORS, 28)
    assert recorded.body == b""
    err = make_status_error(
        status_code=500,
        headers=recorded.response_headers,
        body=b"",
        method="POST",
        path="/chats/c/assistant_message",
        operation="assistant_message",
        api="inference",
    )
    assert err.body is None
    # A 500 from assistant_message may be the rate limit (docs/protocol.md 5.1).
    assert str(err).startswith("POST /chats/c/assistant_message answered 500 (")
    assert "rate limit" in str(err)


# --- body shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        (b'{"detail": "Model x not found"}', JSON, "Model x not found"),
        (b'{"message": "Something went wrong"}', JSON, "Something went wrong"),
        (
            b'{"message": [{"loc": ["body", "content"], "msg": "field required", "type": "x"}]}',
            JSON,
            "body.content: field required",
        ),
        (b'{"error": "nope"}', JSON, "nope"),
        (b'{"detail": [{"msg": "bad"}, "other"]}', JSON, "bad; other"),
        (b'"Invalid score"', {}, "Invalid score"),
        (b"Invalid score", {"content-type": "text/plain"}, "Invalid score"),
        (b"Internal Server Error", {}, "Internal Server Error"),
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            {"content-type": "text/html"},
            "502 Bad Gateway",
        ),
        (b"  <!DOCTYPE html><html><TITLE>\n Oops \n</TITLE></html>", {}, "Oops"),
        (b"<html><body>no title</body></html>", {"content-type": "text/html"}, "HTML error page"),
        (b'{"detail": "broken', JSON, '{"detail": "broken'),
        (b'{"other": 1}', JSON, '{"other": 1}'),
        (b"\xff\xfe bytes", {}, "\ufffd\ufffd bytes"),
    ],
)
def test_detail_extraction(body: bytes, headers: dict[str, str], detail: str) -> None:
    assert str(error(400, body, headers)) == f"GET /chats answered 400: {detail}"


@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n", b"null"])
def test_an_empty_body_gives_no_detail(body: bytes) -> None:
    err = error(500, body)
    assert err.body is None
    assert str(err) == "GET /chats answered 500"


def test_a_long_text_body_is_shortened() -> None:
    err = error(500, b"x" * 10_000, {"content-type": "text/plain"})
    assert isinstance(err.body, str)
    assert len(err.body) <= 2000


@pytest.mark.parametrize(
    ("status", "api", "hint"),
    [(403, "website", "session token"), (404, "website", "switched off")],
)
def test_website_hints(status: int, api: str, hint: str) -> None:
    assert hint in str(error(status, b"", api=api))
    assert hint not in str(error(status, b"", api="inference"))


# --- bodies nested too deeply -----------------------------------------------------------------

DEEP = 100_000  # far deeper than Python's recursion limit


def _deep(depth: int, inner: object, key: str | None = "detail") -> object:
    """A value nested ``depth`` times in objects under ``key`` (or in lists), built in a loop."""
    value = inner
    for _ in range(depth):
        value = {key: value} if key is not None else [value]
    return value


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * DEEP, id="open-brackets"),
        pytest.param(b"[" * DEEP + b"]" * DEEP, id="balanced-brackets"),
        pytest.param(b'{"detail": ' * DEEP, id="open-objects"),
    ],
)
def test_an_error_body_too_deep_to_parse_is_kept_as_text(body: bytes) -> None:
    err = error(502, body)
    assert isinstance(err, InternalServerError)
    assert isinstance(err.body, str)
    assert len(err.body) <= 2000
    assert str(err).startswith("GET /chats answered 502: ")


def test_a_nested_error_body_that_parses_gives_its_detail() -> None:
    body = json.dumps(_deep(200, "x", key="message")).encode()
    assert str(error(422, body)) == "GET /chats answered 422: x"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(_deep(DEEP, "x"), "x", id="detail-in-detail"),
        pytest.param(_deep(DEEP, "x", key="message"), "x", id="message-in-message"),
        pytest.param(
            {"detail": _deep(DEEP, [], key=None)},
            "(an error body nested too deeply to show)",
            id="deep-list",
        ),
        pytest.param(
            {"other": _deep(DEEP, [], key=None)},
            "(an error body nested too deeply to show)",
            id="deep-unknown-object",
        ),
    ],
)
def test_a_deep_error_body_gives_a_detail_not_a_recursion_error(body: object, detail: str) -> None:
    # What error_detail shows of a body (also ProviderError's) never recurses past the limit.
    assert error_detail(body) == detail
    status = APIStatusError("GET /chats answered 422", status_code=422, body=body)
    provider = ProviderError.from_status_error(status)
    assert provider.message == (detail if "other" not in body else status.message)  # type: ignore[operator]


# --- the rest of the tree ---------------------------------------------------------------------


def test_generation_error_is_a_runtime_error() -> None:
    message = Message.from_json(
        {"id": "m", "chat_id": "c", "role": "assistant", "state": "timeout", "content": None}
    )
    err = GenerationError("Timeout", message)
    assert isinstance(err, RuntimeError)
    assert isinstance(err, OpenAssistantError)
    assert err.error == "Timeout"
    assert err.chat_message is message
    assert "Timeout" in str(err)
    assert "timeout" in str(err)
    with pytest.raises(RuntimeError, match="Timeout"):
        raise GenerationError("Timeout")


def test_generation_error_without_a_message() -> None:
    err = GenerationError("Aborted due to worker error.")
    assert err.chat_message is None
    assert str(err) == "generation failed: Aborted due to worker error."


def test_connection_errors() -> None:
    err = APITimeoutError("timed out", method="GET", path="/chats", failure="timeout")
    assert isinstance(err, APIConnectionError)
    assert isinstance(err, OpenAssistantError)
    assert (err.method, err.path, err.failure, err.retries_taken) == ("GET", "/chats", "timeout", 0)
    assert str(err) == "timed out"


def test_the_tree() -> None:
    assert issubclass(StreamError, InvalidResponseError)
    assert issubclass(InvalidResponseError, OpenAssistantError)
    assert issubclass(MissingCredentialsError, OpenAssistantError)
    assert not issubclass(MissingCredentialsError, APIStatusError)  # nothing answered
    for cls in (APIConnectionError, APIStatusError, GenerationError, InvalidResponseError):
        assert issubclass(cls, OpenAssistantError)
    assert issubclass(OpenAssistantError, Exception)
    assert not issubclass(OpenAssistantError, RuntimeError)
