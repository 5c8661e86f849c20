"""Retry decisions and delays (docs/design.md, decision 8; docs/protocol.md 5.1, 10.2, 10.3)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import RetryPolicy
from openassistant_sdk._requests import Operation, RequestSpec
from openassistant_sdk._retry import FailureKind, is_retryable, parse_retry_after, retry_delay

OPERATIONS: list[str] = list(get_args(Operation))
FAILURES: list[str] = list(get_args(FailureKind))
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


def spec(operation: str) -> RequestSpec:
    return RequestSpec(operation=operation, api="inference", method="POST", path="/x")  # type: ignore[arg-type]


def no_jitter() -> float:
    return 0.0


def test_every_operation_is_covered() -> None:
    assert "assistant_message" in OPERATIONS
    assert len(OPERATIONS) == 14
    assert set(FAILURES) == {"connect", "write", "disconnect", "timeout", "read"}


# --- which failures are retried --------------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("status", [408, 429, 500, 502, 504])
def test_these_statuses_are_retried_for_every_request(operation: str, status: int) -> None:
    assert is_retryable(spec(operation), status=status)
    assert retry_delay(RetryPolicy(), spec(operation), 0, status=status, rand=no_jitter) == 0.5


@pytest.mark.parametrize("operation", OPERATIONS)
def test_503_is_retried_except_for_assistant_message(operation: str) -> None:
    # The server stored the assistant message before it answered 503 (5.1).
    expected = operation != "assistant_message"
    assert is_retryable(spec(operation), status=503) is expected
    delay = retry_delay(RetryPolicy(), spec(operation), 0, status=503, rand=no_jitter)
    assert (delay is not None) is expected


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422, 501, 505])
def test_other_statuses_are_not_retried(operation: str, status: int) -> None:
    assert not is_retryable(spec(operation), status=status)
    headers = {"retry-after": "1"}
    assert retry_delay(RetryPolicy(), spec(operation), 0, status=status, headers=headers) is None


IDEMPOTENT = {
    "list_chats", "get_chat", "update_chat", "delete_chat", "get_message", "events", "vote",
    "models", "debug_login", "refresh",
}  # fmt: skip
RETRIED_FAILURES: dict[str, set[str]] = {
    **{op: set(FAILURES) for op in IDEMPOTENT},
    # Nothing that could have been stored is sent twice: a failure before any response (a
    # pooled connection the server had dropped, 10.2) never reached the application, but a
    # read failure or a timeout after sending may have.
    "create_chat": {"connect", "write", "disconnect"},
    "trusted_login": {"connect", "write", "disconnect"},
    "prompter_message": {"connect", "write", "disconnect"},
    "assistant_message": {"connect", "write", "disconnect"},
}


def test_the_failure_table_covers_every_operation() -> None:
    assert set(RETRIED_FAILURES) == set(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("failure", FAILURES)
def test_connection_failures(operation: str, failure: str) -> None:
    expected = failure in RETRIED_FAILURES[operation]
    assert is_retryable(spec(operation), failure=failure) is expected  # type: ignore[arg-type]
    delay = retry_delay(RetryPolicy(), spec(operation), 0, failure=failure, rand=no_jitter)  # type: ignore[arg-type]
    assert delay == (0.5 if expected else None)


@pytest.mark.parametrize("operation", ["assistant_message", "prompter_message", "create_chat"])
@pytest.mark.parametrize("failure", ["read", "timeout"])
def test_a_message_is_never_resent_after_it_may_have_arrived(operation: str, failure: str) -> None:
    assert not is_retryable(spec(operation), failure=failure)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 500])
def test_assistant_message_is_retried_on_its_rate_limit_answers(status: int) -> None:
    # The real rate limit arrives as a 500 (docs/protocol.md 5.1, 10.3).
    assert is_retryable(spec("assistant_message"), status=status)


def test_nothing_to_go_on_is_not_retried() -> None:
    assert not is_retryable(spec("get_chat"))
    assert retry_delay(RetryPolicy(), spec("get_chat"), 0) is None


# --- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Wed, 25 Nov 2026 12:01:00 GMT", 60.0),
        ("Wed, 25 Nov 2026 11:59:00 GMT", 0.0),  # in the past: now
        ("Wednesday, 25-Nov-26 12:00:10 GMT", 10.0),  # RFC 850, still allowed (RFC 9110)
        ("Wed Nov 25 12:00:20 2026", 20.0),  # asctime
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 99 Nov 2026 12:01:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_retry_after_never_fails_and_is_never_negative(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or (seconds >= 0 and math.isfinite(seconds))


def test_retry_after_replaces_the_backoff() -> None:
    delay = retry_delay(
        RetryPolicy(), spec("get_chat"), 0, status=429, headers={"retry-after": "5"}
    )
    assert delay == 5.0


def test_retry_after_as_an_http_date() -> None:
    headers = {"retry-after": format_datetime(NOW + timedelta(seconds=42), usegmt=True)}
    delay = retry_delay(RetryPolicy(), spec("get_chat"), 0, status=503, headers=headers, now=NOW)
    assert delay == 42.0


def test_retry_after_up_to_the_cap_is_honoured() -> None:
    headers = {"retry-after": "60"}
    assert retry_delay(RetryPolicy(), spec("models"), 0, status=429, headers=headers) == 60.0


@pytest.mark.parametrize("value", ["61", "3600", "Wed, 25 Nov 2026 12:05:00 GMT"])
def test_retry_after_longer_than_the_cap_gives_up_at_once(value: str) -> None:
    headers = {"retry-after": value}
    assert (
        retry_delay(RetryPolicy(), spec("models"), 0, status=429, headers=headers, now=NOW) is None
    )


def test_the_cap_is_configurable() -> None:
    policy = RetryPolicy(max_retry_after=600)
    headers = {"retry-after": "300"}
    assert retry_delay(policy, spec("models"), 0, status=429, headers=headers) == 300.0


def test_an_unreadable_retry_after_falls_back_to_the_backoff() -> None:
    headers = {"retry-after": "later"}
    delay = retry_delay(
        RetryPolicy(), spec("models"), 0, status=429, headers=headers, rand=no_jitter
    )
    assert delay == 0.5


# --- counts, deadline, backoff ---------------------------------------------------------------


def test_max_retries() -> None:
    policy = RetryPolicy()  # two retries by default (decision 8)
    assert policy.max_retries == 2
    assert retry_delay(policy, spec("models"), 0, status=500) is not None
    assert retry_delay(policy, spec("models"), 1, status=500) is not None
    assert retry_delay(policy, spec("models"), 2, status=500) is None
    assert retry_delay(RetryPolicy(max_retries=0), spec("models"), 0, status=500) is None


def test_max_retries_also_bounds_retry_after() -> None:
    headers = {"retry-after": "1"}
    assert retry_delay(RetryPolicy(), spec("models"), 2, status=429, headers=headers) is None


def test_deadline() -> None:
    policy = RetryPolicy(deadline=10.0, max_retries=10)
    kwargs: dict[str, Any] = {"status": 500, "rand": no_jitter}
    assert retry_delay(policy, spec("models"), 0, elapsed=9.5, **kwargs) == 0.5
    assert retry_delay(policy, spec("models"), 0, elapsed=9.6, **kwargs) is None
    headers = {"retry-after": "5"}
    assert retry_delay(policy, spec("models"), 0, headers=headers, elapsed=4.0, **kwargs) == 5.0
    assert retry_delay(policy, spec("models"), 0, headers=headers, elapsed=6.0, **kwargs) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=100)
    delays = [retry_delay(policy, spec("models"), n, status=500, rand=no_jitter) for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert retry_delay(policy, spec("models"), 99, status=500, rand=no_jitter) == 8.0


def test_backoff_with_other_settings() -> None:
    policy = RetryPolicy(backoff_base=0.1, backoff_max=0.3, jitter=0)
    assert [policy.backoff(n) for n in range(4)] == [0.1, 0.2, 0.3, 0.3]
    assert RetryPolicy(backoff_base=0).backoff(5) == 0


def test_jitter_takes_up_to_its_fraction_off() -> None:
    policy = RetryPolicy(jitter=0.25)
    assert policy.backoff(2, lambda: 0.0) == 2.0
    assert policy.backoff(2, lambda: 0.5) == 1.75
    assert policy.backoff(2, lambda: 0.999999) == pytest.approx(1.5, abs=1e-5)


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, 10_000),
    draw=st.floats(0, 1, exclude_max=True),
    jitter=st.floats(0, 1),
    base=st.just(0.0) | st.floats(1e-3, 10),
    cap=st.floats(0, 60),
)
def test_backoff_stays_within_its_bounds(
    index: int, draw: float, jitter: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(backoff_base=base, backoff_max=cap, jitter=jitter)
    full = min(cap, base * 2.0 ** min(index, 64)) if base else 0.0
    delay = policy.backoff(index, lambda: draw)
    assert full * (1 - jitter) - 1e-9 <= delay <= full + 1e-9


def test_the_default_jitter_uses_randomness() -> None:
    delays = {RetryPolicy().backoff(3) for _ in range(50)}
    assert all(3.0 <= d <= 4.0 for d in delays)
    assert len(delays) > 1


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": "2"}, "max_retries"),
        ({"backoff_base": -0.1}, "backoff_base"),
        ({"backoff_base": math.nan}, "backoff_base"),
        ({"backoff_max": -1}, "backoff_max"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
        ({"max_retry_after": -1}, "max_retry_after"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": -5}, "deadline"),
        ({"deadline": False}, "deadline"),
    ],
)
def test_invalid_policies(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)


def test_valid_edge_policies() -> None:
    policy = RetryPolicy(max_retries=0, backoff_base=0, jitter=1, max_retry_after=0, deadline=None)
    assert policy.max_retries == 0
    assert RetryPolicy(jitter=0).backoff(0, lambda: 0.9) == 0.5


# -- Attempts: one request's loop ------------------------------------------------------------------

from openassistant_sdk import (  # noqa: E402 - the loop's tests need these too
    APIConnectionError,
    AuthenticationError,
    GenerationError,
    MissingCredentialsError,
    NotFoundError,
    RateLimitError,
    SamplingParameters,
    ServiceUnavailableError,
    TrustedClient,
)
from openassistant_sdk._auth import Credentials  # noqa: E402
from openassistant_sdk._requests import InferenceRoutes  # noqa: E402
from openassistant_sdk._retry import Attempts, Next, redact  # noqa: E402

FAST = RetryPolicy(max_retries=2, backoff_base=0.5, jitter=0.0)


def credentials(**kwargs: Any) -> Credentials:
    return Credentials(api="inference", scheme="http", host="h", **kwargs)


def loop(spec: RequestSpec | None = None, policy: RetryPolicy = FAST, **kwargs: Any) -> Attempts:
    clock = iter(range(1000))
    kwargs.setdefault("token", "t")
    return Attempts(
        spec or InferenceRoutes().get_chat("c"), policy, credentials(**kwargs), lambda: next(clock)
    )


def test_a_request_that_needs_credentials_fails_before_it_is_sent_without_them() -> None:
    with pytest.raises(MissingCredentialsError):
        Attempts(InferenceRoutes().get_chat("c"), FAST, credentials())
    Attempts(InferenceRoutes().models(), FAST, credentials())  # needs none


def test_a_success_is_returned() -> None:
    assert loop().after_answer(200, {}, b"{}") is Next.RETURN


def test_retryable_statuses_wait_and_count() -> None:
    attempts = loop()
    assert attempts.after_answer(502, {}, b"") is Next.RETRY
    assert attempts.delay == 0.5
    assert attempts.after_answer(429, {"retry-after": "3"}, b"") is Next.RETRY
    assert attempts.delay == 3.0
    with pytest.raises(RateLimitError) as raised:
        attempts.after_answer(429, {}, b'{"detail": "slow down"}')
    assert raised.value.retries_taken == 2
    assert "slow down" in str(raised.value)


def test_a_503_from_assistant_message_is_never_resent() -> None:
    spec = InferenceRoutes().assistant_message("c", "p", "m", SamplingParameters())
    with pytest.raises(ServiceUnavailableError):
        loop(spec).after_answer(503, {}, b"")


def test_a_401_logs_in_again_once_for_a_debug_user() -> None:
    attempts = loop(debug_user="alice")
    assert attempts.after_answer(401, {}, b"") is Next.LOG_IN
    with pytest.raises(AuthenticationError):
        attempts.after_answer(401, {}, b"")
    with pytest.raises(AuthenticationError):
        loop(token="t").after_answer(401, {}, b"")  # a fixed token: nothing to renew


def test_a_404_on_create_creates_the_trusted_user_once() -> None:
    trusted = TrustedClient(api_key="key-6969", user_id="u")
    attempts = loop(InferenceRoutes().create_chat(), trusted_client=trusted)
    assert attempts.after_answer(404, {}, b"") is Next.CREATE_USER
    with pytest.raises(NotFoundError):
        attempts.after_answer(404, {}, b"")
    with pytest.raises(NotFoundError):
        loop(InferenceRoutes().get_chat("c"), trusted_client=trusted).after_answer(404, {}, b"")


def test_failures_before_an_answer_follow_the_not_sent_rule() -> None:
    spec = InferenceRoutes().prompter_message("c", None, "hi")
    attempts = loop(spec)
    assert attempts.after_failure(APIConnectionError("refused", failure="connect")) == 0.5
    error = APIConnectionError("lost", failure="read")
    with pytest.raises(APIConnectionError) as raised:
        attempts.after_failure(error)
    assert raised.value is error
    assert error.retries_taken == 1


def test_a_broken_body_is_retried_only_for_a_success_of_a_safe_request() -> None:
    attempts = loop()  # get_chat: idempotent
    assert attempts.after_failure(APIConnectionError("cut", failure="read"), status=200) == 0.5
    with pytest.raises(APIConnectionError):
        attempts.after_failure(APIConnectionError("cut", failure="read"), status=500)
    trusted = loop(
        InferenceRoutes().trusted_login()
    )  # not idempotent: the read may have taken effect
    with pytest.raises(APIConnectionError):
        trusted.after_failure(APIConnectionError("cut", failure="read"), status=200)


def test_errors_are_scrubbed_of_every_secret() -> None:
    attempts = loop(token="secret-token-123")
    with pytest.raises(AuthenticationError) as raised:
        attempts.after_answer(401, {}, b'{"detail": "bad token secret-token-123"}')
    assert "secret-token-123" not in str(raised.value)
    assert "secret-token-123" not in repr(raised.value.body)
    error = APIConnectionError("failed for secret-token-123", failure="connect")
    error.__cause__ = ValueError("secret-token-123")
    attempts = loop(token="secret-token-123", policy=RetryPolicy(max_retries=0))
    with pytest.raises(APIConnectionError) as failed:
        attempts.after_failure(error)
    assert "secret-token-123" not in str(failed.value)
    assert failed.value.__cause__ is None


def test_redact_reaches_a_generation_errors_text() -> None:
    error = redact(GenerationError("worker said secret-token-123"), ["secret-token-123"])
    assert "secret-token-123" not in str(error)
    assert error.error == "worker said ***"
    untouched = GenerationError("fine")
    assert redact(untouched, []) is untouched
