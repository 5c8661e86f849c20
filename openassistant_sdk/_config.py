"""Client options resolved from keyword arguments and the environment, validated once.

Environment variables (docs/configuration.md): ``OPENASSISTANT_BASE_URL``,
``OPENASSISTANT_API``, ``OPENASSISTANT_SESSION_TOKEN``, ``OPENASSISTANT_TOKEN``,
``OPENASSISTANT_LOG``; also ``OPENASSISTANT_DEBUG_USER`` for the inference debug login.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeVar, cast
from urllib.parse import urlsplit

import attrs

from ._auth import Credentials, TrustedClient
from ._models import DEFAULT_MODEL, SamplingParameters
from ._requests import API, RequestSpec
from ._retry import RetryPolicy
from ._sse import DEFAULT_MAX_EVENT_SIZE, MalformedPolicy
from ._version import __version__

__all__ = [
    "NOT_GIVEN",
    "ClientOptions",
    "NotGiven",
    "changed_options",
    "request_headers",
    "resolve",
    "timeout_seconds",
]

DEFAULT_BASE_URL = "https://open-assistant.io"
DEFAULT_SAMPLING = SamplingParameters.preset("k50")  # the website UI's default (1.2)
DEFAULT_STALL_TIMEOUT = 120.0  # longer than the server's queue timeout (5.1: 60 s, 120 s prod)
USER_AGENT = f"openassistant-sdk/{__version__}"


class NotGiven:
    """The type of ``NOT_GIVEN``: "use the default", where ``None`` means "no limit"."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

_T = TypeVar("_T")


def given(value: _T | NotGiven, default: _T) -> _T:
    """Return ``value`` unless it is ``NOT_GIVEN``."""
    return default if isinstance(value, NotGiven) else value


def _timeout_value(name: str, value: object) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value > 0
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a number of seconds > 0 or None, not {value!r}")
    return float(value)


def timeout_seconds(value: object) -> float | None:
    """Check the ``timeout=`` option when it is not an ``httpx.Timeout``: seconds, or ``None``.

    The facades take an ``httpx.Timeout`` as it is (the core never imports httpx) and ask
    this of any other value.

    Raises:
        ValueError: Neither a finite number of seconds > 0 nor ``None``.
    """
    try:
        return _timeout_value("timeout", value)
    except ValueError:
        raise ValueError(
            f"timeout must be seconds > 0, an httpx.Timeout or None, not {value!r}"
        ) from None


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _header_names(headers: tuple[tuple[str, str], ...]) -> str:
    return repr(tuple((name, "***") for name, _ in headers))


@attrs.frozen(kw_only=True)
class ClientOptions:
    """A client's resolved and validated options: what ``client.options`` returns.

    Built once by the client from its keyword arguments and the environment; read-only.
    Credentials are not part of it (session tokens, bearer tokens, cookies and the
    trusted-client key stay inside the client), and its ``repr`` shows only the names of
    the extra headers, never their values, so it is safe to log.

    Attributes:
        base_url: The server's URL, normalised (no trailing slash; ``/chat`` dropped).
        api: ``"website"`` or ``"inference"``: which API the client speaks.
        scheme: ``"http"`` or ``"https"``, from ``base_url``.
        host: The host name, from ``base_url``.
        model: The model config name used when a call gives none.
        sampling: The sampling parameters used when a call gives none.
        retry: How failed requests are retried (``max_retries=`` or ``retry=``).
        timeout: The HTTP timeout as given: a number of seconds, an ``httpx.Timeout``,
            ``None`` for none, or ``NOT_GIVEN`` for the client's default.
        stall_timeout: The most seconds a reply may go without a token, or ``None``.
        stream_timeout: The most seconds a whole reply may take, or ``None``.
        on_malformed: ``"raise"`` or ``"skip"`` a malformed event.
        max_event_size: The most bytes one event-stream line or event may hold.
        recover: Whether a cut-off reply is recovered by reading the message.
        max_recoveries: How many times one reply may be recovered.
        cleanup_timeout: The most seconds ``close()`` waits for deferred cleanup.
        user_agent: The ``User-Agent`` header sent.
        headers: Extra headers sent with every request, as ``(name, value)`` pairs (the
            caller's own; their values are not shown in the ``repr``).
    """

    base_url: str
    api: API
    scheme: str
    host: str
    model: str
    sampling: SamplingParameters
    retry: RetryPolicy
    timeout: Any  # a number, an httpx.Timeout or None; only the facades interpret it
    stall_timeout: float | None
    stream_timeout: float | None
    on_malformed: MalformedPolicy
    max_event_size: int
    recover: bool
    max_recoveries: int
    cleanup_timeout: float
    close_timeout: float
    user_agent: str
    # Values hidden: extra headers may carry a key or a token of the caller's.
    headers: tuple[tuple[str, str], ...] = attrs.field(repr=_header_names)

    def url(self, path: str) -> str:
        """Join the base URL and a request path."""
        return self.base_url + path


def _base_url(value: str) -> tuple[str, str, str]:
    if not isinstance(value, str):
        raise ValueError(f"base_url must be a string, not {type(value).__name__}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http:// or https:// URL with a host, not {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("base_url must not carry a query, a fragment or credentials")
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise ValueError(f"base_url has an invalid port: {value!r}") from None
    path = parts.path.rstrip("/")
    # The seed's provider names the chat page (docs/protocol.md 7): the API lives at the root.
    if path in ("/chat", "/api/chat", "/api"):
        path = ""
    return f"{parts.scheme}://{parts.netloc}{path}", parts.scheme, parts.hostname


def resolve(
    *,
    env: Mapping[str, str],
    base_url: str | None = None,
    api: str | None = None,
    session_token: str | None = None,
    cookies: object = None,
    token: str | None = None,
    debug_user: str | None = None,
    trusted_client: TrustedClient | None = None,
    model: str | None = None,
    sampling: SamplingParameters | None = None,
    timeout: Any = NOT_GIVEN,
    max_retries: int | NotGiven = NOT_GIVEN,
    retry: RetryPolicy | None = None,
    stall_timeout: float | None | NotGiven = NOT_GIVEN,
    stream_timeout: float | None = None,
    on_malformed: MalformedPolicy = "raise",
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    recover: bool = True,
    max_recoveries: int = 3,
    cleanup_timeout: float = 10.0,
    close_timeout: float = 30.0,
    user_agent: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[ClientOptions, Credentials]:
    """Resolve the client options and credentials from arguments, then the environment.

    Raises:
        ValueError: An option is invalid or the credentials do not fit the API.
    """
    url, scheme, host = _base_url(base_url or env.get("OPENASSISTANT_BASE_URL") or DEFAULT_BASE_URL)
    explicit = any(
        x is not None for x in (session_token, cookies, token, debug_user, trusted_client)
    )
    # Precedence: the api argument, then what explicit credentials imply, then the environment.
    resolved_api = api or None
    if resolved_api is None:
        if token is not None or debug_user is not None or trusted_client is not None:
            resolved_api = "inference"
        elif session_token is not None or cookies is not None:
            resolved_api = "website"
        elif env.get("OPENASSISTANT_API"):
            resolved_api = env["OPENASSISTANT_API"]
        elif env.get("OPENASSISTANT_TOKEN") or env.get("OPENASSISTANT_DEBUG_USER"):
            resolved_api = "inference"
        else:
            resolved_api = "website"
    resolved_api = resolved_api.strip().lower()
    if resolved_api not in ("website", "inference"):
        raise ValueError(f"api must be 'website' or 'inference', not {resolved_api!r}")
    the_api = cast(API, resolved_api)
    if not explicit:
        # Credentials from the environment, each only for the API it belongs to.
        if the_api == "website":
            session_token = env.get("OPENASSISTANT_SESSION_TOKEN") or None
        else:
            token = env.get("OPENASSISTANT_TOKEN") or None
            if token is None:
                debug_user = env.get("OPENASSISTANT_DEBUG_USER") or None
    credentials = Credentials(
        api=the_api,
        scheme=scheme,
        host=host,
        session_token=session_token,
        cookies=cookies,
        token=token,
        debug_user=debug_user,
        trusted_client=trusted_client,
    )
    if retry is not None and not isinstance(max_retries, NotGiven):
        raise ValueError("pass max_retries= or retry=, not both")
    policy = retry or RetryPolicy(max_retries=given(max_retries, 2))
    # Callers without type checking may pass anything: check at runtime what mypy checks.
    untyped: dict[str, object] = {
        "sampling": sampling,
        "model": model,
        "max_recoveries": max_recoveries,
    }
    if untyped["sampling"] is not None and not isinstance(untyped["sampling"], SamplingParameters):
        raise ValueError(
            "sampling must be a SamplingParameters (e.g. SamplingParameters.preset('k50'))"
        )
    if untyped["model"] is not None and not (
        isinstance(untyped["model"], str) and untyped["model"]
    ):
        raise ValueError(f"model must be a non-empty model config name, not {model!r}")
    if on_malformed not in ("raise", "skip"):
        raise ValueError(f"on_malformed must be 'raise' or 'skip', not {on_malformed!r}")
    size: object = max_event_size  # callers without type checking may pass anything
    if isinstance(size, bool) or not isinstance(size, int) or size < 64:
        raise ValueError(f"max_event_size must be an integer of at least 64 bytes, not {size!r}")
    recoveries = untyped["max_recoveries"]
    if isinstance(recoveries, bool) or not isinstance(recoveries, int) or recoveries < 0:
        raise ValueError(f"max_recoveries must be an integer >= 0, not {max_recoveries!r}")
    extra = _checked_headers(headers)
    options = ClientOptions(
        base_url=url,
        api=the_api,
        scheme=scheme,
        host=host,
        model=model or env.get("OPENASSISTANT_MODEL") or DEFAULT_MODEL,
        sampling=sampling or DEFAULT_SAMPLING,
        retry=policy,
        timeout=timeout,
        stall_timeout=_timeout_value("stall_timeout", given(stall_timeout, DEFAULT_STALL_TIMEOUT)),
        stream_timeout=_timeout_value("stream_timeout", stream_timeout),
        on_malformed=on_malformed,
        max_event_size=max_event_size,
        recover=bool(recover),
        max_recoveries=max_recoveries,
        cleanup_timeout=cast(float, _timeout_value("cleanup_timeout", cleanup_timeout)),
        close_timeout=_seconds("close_timeout", close_timeout),
        user_agent=user_agent or USER_AGENT,
        headers=extra,
    )
    return options, credentials


CREDENTIAL_OPTIONS = ("session_token", "cookies", "token", "debug_user", "trusted_client")
# Options where None is a value ("no limit") and only NOT_GIVEN leaves them as they are.
_NONE_IS_A_VALUE = frozenset({"timeout", "max_retries", "stall_timeout", "stream_timeout"})


def changed_options(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return a client's constructor arguments with ``changes`` applied (``with_options``).

    Any new credential replaces all the old ones; ``headers`` are added to the old ones (a
    name given again replaces its value); other options left out (``None``, or ``NOT_GIVEN``
    for those where ``None`` means "no limit") keep their values. Names that are not
    constructor arguments are ignored.
    """
    kwargs = dict(current)
    credentials = {name: changes.get(name) for name in CREDENTIAL_OPTIONS}
    if any(value is not None for value in credentials.values()):
        kwargs.update(credentials)
    for name, value in changes.items():
        if name not in current or name in CREDENTIAL_OPTIONS:
            continue
        if name in _NONE_IS_A_VALUE:
            if not isinstance(value, NotGiven):
                kwargs[name] = value
        elif name == "headers" and value is not None:
            kwargs[name] = {**(current.get("headers") or {}), **value}
        elif value is not None:
            kwargs[name] = value
    if not isinstance(changes.get("max_retries", NOT_GIVEN), NotGiven):
        kwargs["retry"] = None  # a new count replaces the old policy
    return kwargs


def request_headers(
    options: ClientOptions, credentials: Credentials, spec: RequestSpec
) -> list[tuple[str, str]]:
    """Return the headers of a request: defaults, the caller's, the protocol's, credentials.

    One value per name, case-insensitively: the caller's headers replace the defaults, the
    protocol's (an event stream's ``Accept``) and the credentials replace the caller's.
    """
    headers = {"user-agent": ("User-Agent", options.user_agent)}
    if not spec.stream:
        headers["accept"] = ("Accept", "application/json")
    for name, value in (*options.headers, *spec.headers):
        headers[name.lower()] = (name, value)
    if spec.authenticated:
        for name, value in credentials.headers():
            headers[name.lower()] = (name, value)
    return list(headers.values())


@attrs.frozen
class CallOptions:
    """One call's own options, on top of the client's.

    Attributes:
        timeout: The call's requests' timeout: seconds, an ``httpx.Timeout`` or ``None`` (no
            limit); ``NOT_GIVEN``: the client's.
        headers: Extra headers for the call's requests (they replace the client's of the same
            name; the credentials still replace them).
    """

    timeout: Any = NOT_GIVEN
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=_header_names)

    @classmethod
    def of(cls, timeout: Any, extra_headers: Mapping[str, str] | None) -> CallOptions | None:
        """Return the options a call was given, or ``None`` when it was given none.

        Raises:
            ValueError: A header carries a line break.
        """
        if isinstance(timeout, NotGiven) and not extra_headers:
            return None
        headers = _checked_headers(extra_headers)
        return cls(timeout=timeout, headers=headers)

    def apply(self, spec: RequestSpec) -> RequestSpec:
        """Return ``spec`` with this call's extra headers."""
        return attrs.evolve(spec, headers=spec.headers + self.headers) if self.headers else spec


def _checked_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    extra = tuple((str(k), str(v)) for k, v in (headers or {}).items())
    for name, value in extra:
        if any(c in name + value for c in "\r\n\0"):
            raise ValueError(f"header {name!r} contains a line break")
    return extra
