"""Credentials and the headers they become, for both APIs; secrets never reach a repr.

Website: the next-auth session cookie, named after the URL scheme (docs/protocol.md 1.1,
docs/design.md, decision 9). Inference server: a bearer access token, a debug login that is
repeated on a 401 (the real ``/auth/refresh`` never succeeds, docs/protocol.md 10.1), or a
``TrustedClient`` header (docs/protocol.md 2.1).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._models import TokenPair
from ._requests import API, InferenceRoutes, RequestSpec

if TYPE_CHECKING:
    from http.cookiejar import Cookie

__all__ = ["Credentials", "TrustedClient", "session_cookie_name"]

SECURE_COOKIE = "__Secure-next-auth.session-token"
PLAIN_COOKIE = "next-auth.session-token"
# next-auth splits a session cookie longer than this into <name>.0, <name>.1, ... (1.1).
_CHUNK = 3933


def session_cookie_name(scheme: str) -> str:
    """Return the session cookie's name for a site served over ``scheme``."""
    return SECURE_COOKIE if scheme == "https" else PLAIN_COOKIE


@attrs.frozen(kw_only=True)
class TrustedClient:
    """The identity a trusted client (like the website) asserts to the inference server.

    Sent as the ``TrustedClient`` header: base64 of a JSON object (docs/protocol.md 1.4, 2.1).
    ``api_key`` must be one of the server's ``TRUSTED_CLIENT_KEYS``.
    """

    api_key: str = attrs.field(repr=False)
    user_id: str
    client: str = "website"
    username: str = ""
    provider_account_id: str = ""

    def header_value(self) -> str:
        """Return the header value: base64 of the JSON object, in the website's key order."""
        payload = {
            "api_key": self.api_key,
            "client": self.client,
            "user_id": self.user_id,
            "provider_account_id": self.provider_account_id,
            "username": self.username,
        }
        return base64.b64encode(json.dumps(payload).encode()).decode("ascii")


def _cookies_for_host(cookies: object, host: str) -> dict[str, str]:
    """Take name/value pairs from a mapping, a cookie jar, or an object with a ``.jar``.

    From a jar, only cookies whose domain matches ``host`` are taken: cookies never go to a
    host they were not set for.
    """
    # Only cookies= needs http.cookiejar: imported here, not with the package.
    from http.cookiejar import CookieJar

    jar = getattr(cookies, "jar", cookies)
    if isinstance(jar, CookieJar):
        picked: dict[str, str] = {}
        for cookie in jar:
            if _domain_matches(cookie, host) and cookie.value is not None:
                picked[cookie.name] = cookie.value
        return picked
    if isinstance(cookies, Mapping):
        out: dict[str, str] = {}
        for name, value in cookies.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ValueError("cookies must map cookie names to string values")
            out[name] = value
        return out
    raise ValueError(f"cookies must be a dict or a cookie jar, not {type(cookies).__name__}")


def _domain_matches(cookie: Cookie, host: str) -> bool:
    domain = (cookie.domain or "").lstrip(".").lower()
    host = host.lower()
    return not domain or host == domain or host.endswith("." + domain)


def _check_header_value(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must be a non-empty string without line breaks")
    return value


class Credentials:
    """What the client sends to prove who it is, and the state of a debug login.

    Args:
        api: Which API the client speaks.
        scheme: ``"https"`` or ``"http"``: it names the website's session cookie.
        host: The server's host name; cookies from a jar are taken only for it.
        session_token: The website's next-auth session token.
        cookies: Website cookies as a dict or a cookie jar.
        token: An inference-server bearer access token.
        debug_user: Log in to the inference server as this user via its debug login.
        trusted_client: Authenticate to the inference server as a trusted client.
    """

    def __init__(
        self,
        *,
        api: API,
        scheme: str,
        host: str,
        session_token: str | None = None,
        cookies: object = None,
        token: str | None = None,
        debug_user: str | None = None,
        trusted_client: TrustedClient | None = None,
    ) -> None:
        self.api = api
        self._cookie_header: str | None = None
        self._token: str | None = None
        self._refresh_token: str | None = None
        self.debug_user = debug_user
        self._trusted = trusted_client
        pairs: dict[str, str] = {}
        if cookies is not None:
            pairs.update(_cookies_for_host(cookies, host))
        if session_token is not None:
            _check_header_value("session_token", session_token)
            name = session_cookie_name(scheme)
            if len(session_token) <= _CHUNK:
                pairs[name] = session_token
            else:
                for index in range(0, len(session_token), _CHUNK):
                    pairs[f"{name}.{index // _CHUNK}"] = session_token[index : index + _CHUNK]
        if pairs:
            for name, value in pairs.items():
                if any(c in name + value for c in ";\r\n\0") or "=" in name:
                    raise ValueError(
                        f"cookie {name!r} has a character a Cookie header cannot carry"
                    )
            self._cookie_header = "; ".join(f"{k}={v}" for k, v in pairs.items())
        if token is not None:
            self._token = _check_header_value("token", token)
        if debug_user is not None:
            _check_header_value("debug_user", debug_user)
        if (
            api == "inference"
            and self._cookie_header
            and not (token or debug_user or trusted_client)
        ):
            raise ValueError(
                "the inference API takes token=, debug_user= or trusted_client=, not cookies"
            )
        if api == "website" and (token or debug_user or trusted_client):
            raise ValueError(
                "the website API takes session_token= or cookies=; token=, debug_user= and trusted_client= are for api='inference'"
            )

    def __repr__(self) -> str:
        kinds = [
            name
            for name, present in (
                ("cookies", self._cookie_header is not None),
                ("token", self._token is not None),
                ("debug_user", self.debug_user is not None),
                ("trusted_client", self._trusted is not None),
            )
            if present
        ]
        return f"<Credentials api={self.api!r} kinds={kinds}>"

    @property
    def has_any(self) -> bool:
        """Whether any credential is configured."""
        return bool(self._cookie_header or self._token or self.debug_user or self._trusted)

    @property
    def needs_login(self) -> bool:
        """True when a debug login must run before an authenticated request."""
        return self.debug_user is not None and self._token is None

    def login_spec(self) -> RequestSpec:
        """The debug-login request for ``debug_user``."""
        assert self.debug_user is not None
        return InferenceRoutes().debug_login(self.debug_user)

    def accept_login(self, pair: TokenPair) -> None:
        """Keep the tokens a debug login returned."""
        self._token = pair.access_token
        self._refresh_token = pair.refresh_token

    def forget_login(self) -> bool:
        """Drop a debug login's token after a 401; return True if logging in again may help."""
        if self.debug_user is None:
            return False
        self._token = None
        return True

    def creates_trusted_user(self, spec: RequestSpec, status: int) -> bool:
        """Whether a failed ``spec`` calls for creating the trusted client's user first.

        The inference server answers 404 to a trusted client whose user does not exist yet;
        the website creates it with ``trusted_login`` and tries again (protocol 1.4).
        """
        return (
            status == 404
            and spec.operation == "create_chat"
            and self.api == "inference"
            and self._trusted is not None
        )

    def headers(self) -> Iterable[tuple[str, str]]:
        """The auth headers for an authenticated request."""
        if self._cookie_header is not None:
            yield ("Cookie", self._cookie_header)
        if self._trusted is not None:
            yield ("TrustedClient", self._trusted.header_value())
        elif self._token is not None:
            yield ("Authorization", f"Bearer {self._token}")

    def secrets(self) -> list[str]:
        """Every secret value, so that logs and messages can be scrubbed of them."""
        values: list[Any] = [self._token, self._refresh_token, self._cookie_header]
        if self._cookie_header is not None:
            # Each cookie's value on its own too: an error text may quote a token bare.
            values += [part.partition("=")[2] for part in self._cookie_header.split("; ")]
        if self._trusted is not None:
            values += [self._trusted.api_key, self._trusted.header_value()]
        # Longest first, so that a secret inside another is not left half replaced.
        return sorted(
            (v for v in values if isinstance(v, str) and len(v) >= 4), key=len, reverse=True
        )
