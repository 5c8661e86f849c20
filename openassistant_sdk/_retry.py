"""When to retry a request and how long to wait first: pure decisions, no sleeping.

Rules: docs/design.md, decision 8. ``assistant_message`` is never resent blindly: the server
stores the message before it can answer 503 (docs/protocol.md 5.1, 5.2), so only a request that
failed before any response (it never reached the application), a 429 or a 500 (its rate limit,
5.1, 10.3) is tried again; a read failure or a timeout after sending is not.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._exceptions import (
    NO_CREDENTIALS,
    MissingCredentialsError,
    OpenAssistantError,
    make_status_error,
)
from ._logging import logger, scrub
from ._requests import RequestSpec

if TYPE_CHECKING:
    from ._auth import Credentials

__all__ = [
    "Attempts",
    "FailureKind",
    "Next",
    "RetryPolicy",
    "parse_retry_after",
    "redact",
    "retry_delay",
]

FailureKind = Literal["connect", "write", "disconnect", "timeout", "read"]
"""How a request failed without a response.

``connect``: no connection was made, so nothing was sent. ``write``: the connection broke
while the request was being sent. ``disconnect``: the server closed or reset the connection
before any byte of a response (a pooled connection the server had dropped, docs/protocol.md 10.2).
``timeout`` and ``read``: the request was sent; the answer did not arrive.
"""

_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_IDEMPOTENT = frozenset(
    {"list_chats", "get_chat", "update_chat", "delete_chat", "get_message", "events", "vote", "models", "debug_login", "refresh"}
)  # fmt: skip
# Failures after which a request that is not idempotent surely did not take effect.
_NOT_SENT: dict[str, frozenset[str]] = {
    "create_chat": frozenset({"connect", "write", "disconnect"}),
    "trusted_login": frozenset({"connect", "write", "disconnect"}),
    # A dropped pooled connection (10.2) fails before any response: the request never
    # reached the application, so even these two are safe to send again (decision 8).
    "prompter_message": frozenset({"connect", "write", "disconnect"}),
    "assistant_message": frozenset({"connect", "write", "disconnect"}),
}


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a number >= 0, not {value!r}")


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
    ):
        raise ValueError(f"{attribute.name} must be a number > 0 or None, not {value!r}")


def _retries(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be an integer >= 0, not {value!r}")


def _jitter(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _non_negative(instance, attribute, value)
    assert isinstance(value, (int, float))
    if value > 1:
        raise ValueError(f"jitter must be between 0 and 1, not {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry failed requests.

    Attributes:
        max_retries: Retries after the first attempt (0 turns retrying off).
        backoff_base: The first backoff delay in seconds; it doubles with each retry.
        backoff_max: The longest backoff delay in seconds.
        jitter: The fraction of each backoff delay drawn at random (0 to 1), so that many
            clients do not retry in lockstep.
        max_retry_after: The longest ``Retry-After`` the client waits for; a longer one
            raises at once.
        deadline: Seconds from the first attempt after which no retry starts (``None``: no
            limit but ``max_retries``).
    """

    max_retries: int = attrs.field(default=2, validator=_retries)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.25, validator=_jitter)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    deadline: float | None = attrs.field(default=None, validator=_optional_positive)

    def backoff(self, retry_index: int, rand: Callable[[], float] | None = None) -> float:
        """Return the backoff delay before retry number ``retry_index`` (0-based).

        Args:
            retry_index: Which retry this is, from 0.
            rand: A source of numbers in [0, 1) for the jitter; ``random.random`` if
                ``None``.
        """
        if rand is None:
            import random  # only a retry needs it: not imported with the package

            rand = random.random
        base = min(self.backoff_max, self.backoff_base * (2.0 ** min(retry_index, 32)))
        return base * (1.0 - self.jitter * rand())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delta seconds or an HTTP date (RFC 9110 10.2.3).

    Returns:
        Seconds to wait (never negative), or ``None`` if absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        # Only an HTTP-date needs the email package: not imported with the package.
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    if seconds < 0 and not _is_date(value):
        return None  # delay-seconds is a non-negative integer (RFC 9110 10.2.3)
    return max(0.0, seconds)


def _is_date(value: str) -> bool:
    return not value.lstrip("+-").replace(".", "", 1).isdigit()


def is_retryable(
    spec: RequestSpec, *, status: int | None = None, failure: FailureKind | None = None
) -> bool:
    """Tell whether a failed attempt of ``spec`` may be sent again (ignoring counts and time)."""
    if status is not None:
        if status not in _RETRY_STATUSES:
            return False
        # 503 from assistant_message: the message was stored before the answer (5.1).
        return not (status == 503 and spec.operation == "assistant_message")
    if failure is None:
        return False
    if spec.operation in _IDEMPOTENT:
        return True
    return failure in _NOT_SENT.get(spec.operation, frozenset())


def retry_delay(
    policy: RetryPolicy,
    spec: RequestSpec,
    retries_taken: int,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    failure: FailureKind | None = None,
    elapsed: float = 0.0,
    rand: Callable[[], float] | None = None,
    now: datetime | None = None,
) -> float | None:
    """Decide whether to retry after a failed attempt, and after how long.

    Args:
        policy: The retry policy.
        spec: The request that failed.
        retries_taken: Retries already made for this request.
        status: The error status, if the server answered.
        headers: The response headers (for ``Retry-After``), if the server answered.
        failure: How it failed, if the server did not answer.
        elapsed: Seconds since the first attempt.
        rand: A source of numbers in [0, 1) for the jitter; ``random.random`` if ``None``.
        now: The current time, for ``Retry-After`` dates.

    Returns:
        Seconds to wait before the next attempt, or ``None`` to give up.
    """
    if retries_taken >= policy.max_retries:
        return None
    if not is_retryable(spec, status=status, failure=failure):
        return None
    delay = policy.backoff(retries_taken, rand)
    if headers is not None:
        retry_after = parse_retry_after(headers.get("retry-after"), now)
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return None  # docs/design.md, decision 8: longer than the cap raises at once
            delay = retry_after
    if policy.deadline is not None and elapsed + delay > policy.deadline:
        return None
    return delay


# -- one request's attempts ----------------------------------------------------------------------


class Next(enum.Enum):
    """What the request loop does after an answer."""

    RETURN = "return"  #: hand the response to the caller
    RETRY = "retry"  #: wait ``Attempts.delay`` seconds, then send the request again
    LOG_IN = "log in"  #: run the debug login again, then send the request again
    CREATE_USER = "create user"  #: send ``trusted_login``, then send the request again


def redact(error: OpenAssistantError, secrets: list[str]) -> OpenAssistantError:
    """Remove every secret from an error's message, and drop causes that quote one.

    The one place the SDK's errors are scrubbed, whatever raised them.
    """
    if not secrets:
        return error
    text = scrub(error.message, secrets)
    if text != error.message:
        error.message = text
        error.args = (text,)
    for name in ("error", "body"):  # GenerationError's text, an APIStatusError's parsed body
        value = getattr(error, name, None)
        if value is None:
            continue
        # A parsed JSON body is scrubbed as its JSON text (json.loads made it, so it dumps).
        text = value if isinstance(value, str) else json.dumps(value)
        if scrub(text, secrets) != text:
            clean = scrub(text, secrets)
            setattr(error, name, clean if isinstance(value, str) else json.loads(clean))
    causes = (error.__cause__, error.__context__)
    if any(c is not None and scrub(str(c), secrets) != str(c) for c in causes):
        # A transport's own error quotes the secret: the SDK's error stands alone instead.
        error.__cause__ = error.__context__ = None
        error.__suppress_context__ = True
    return error


class Attempts:
    """The decisions of one request's loop: retry, log in again, create the trusted user.

    The facade sends, then reports each failure or answer; this says what comes next and
    raises the error the caller gets when nothing more will help. The rules are in
    ``retry_delay`` (retries), ``Credentials.forget_login`` (a new debug login after a 401:
    ``/auth/refresh`` never works, docs/protocol.md 10.1) and
    ``Credentials.creates_trusted_user``.
    """

    __slots__ = ("_clock", "_created", "_credentials", "_relogged", "_sent", "_started", "delay", "policy", "retries", "spec")  # fmt: skip

    def __init__(
        self,
        spec: RequestSpec,
        policy: RetryPolicy,
        credentials: Credentials,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Begin a request's loop.

        Raises:
            MissingCredentialsError: The request needs credentials, and there are none.
        """
        if spec.authenticated and not credentials.has_any:
            raise MissingCredentialsError(NO_CREDENTIALS)
        self.spec = spec
        self.policy = policy
        self._credentials = credentials
        self._clock = clock
        self._started = self._sent = clock()
        self.retries = 0
        self.delay = 0.0
        self._relogged = False
        self._created = False

    def begin(self) -> None:
        """Note that an attempt is being sent (for the log line of its answer)."""
        self._sent = self._clock()

    def after_failure(self, error: OpenAssistantError, *, status: int | None = None) -> float:
        """Take a failure without a usable answer; return the delay before the next attempt.

        Args:
            error: The SDK's error for it (an ``APIConnectionError`` says how it failed).
            status: The status, when the failure came while reading an answer's body.

        Raises:
            OpenAssistantError: ``error``, scrubbed, when it is not retried.
        """
        failure: Any = "read" if status is not None else getattr(error, "failure", None)
        delay = None
        if status is None or status < 400:  # an error answer whose body broke: not retried
            delay = retry_delay(
                self.policy, self.spec, self.retries, failure=failure, elapsed=self._elapsed()
            )
        text = scrub(str(error), self._credentials.secrets())
        spec = self.spec
        if delay is None:
            logger.info(
                "%s %s failed (retries: %d): %s", spec.method, spec.log_path, self.retries, text
            )
            if hasattr(error, "retries_taken"):
                error.retries_taken = self.retries
            raise redact(error, self._credentials.secrets())
        logger.debug("retrying %s %s in %.2fs after: %s", spec.method, spec.log_path, delay, text)
        self.retries += 1
        return delay

    def after_answer(self, status: int, headers: Mapping[str, str], body: bytes) -> Next:
        """Take an answer (``headers`` with lower-case names); return what comes next.

        Raises:
            APIStatusError: The error status is final (its subclass, scrubbed).
        """
        spec, credentials = self.spec, self._credentials
        logger.info(
            "%s %s -> %d in %.3fs (retries: %d)",
            spec.method,
            spec.log_path,
            status,
            self._clock() - self._sent,
            self.retries,
        )
        if status < 400:
            return Next.RETURN
        if (
            status == 401
            and spec.authenticated
            and not self._relogged
            and credentials.forget_login()
        ):
            self._relogged = True
            return Next.LOG_IN
        if not self._created and credentials.creates_trusted_user(spec, status):
            self._created = True
            return Next.CREATE_USER
        delay = retry_delay(
            self.policy, spec, self.retries, status=status, headers=headers, elapsed=self._elapsed()
        )
        if delay is None:
            error = make_status_error(
                status_code=status,
                headers=headers,
                body=body,
                method=spec.method,
                path=spec.log_path,
                operation=spec.operation,
                api=spec.api,
                retries_taken=self.retries,
                retry_after=parse_retry_after(headers.get("retry-after")),
            )
            raise redact(error, credentials.secrets())
        logger.debug("retrying %s %s after %d in %.2fs", spec.method, spec.log_path, status, delay)
        self.retries += 1
        self.delay = delay
        return Next.RETRY

    def _elapsed(self) -> float:
        return self._clock() - self._started
