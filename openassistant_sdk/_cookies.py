"""Finding a website session when none is given: the environment, a cookies.txt, the browsers.

The seed's provider read every browser's cookies for open-assistant.io (docs/protocol.md 7);
here the order is explicit and the source is logged (never the value): the environment variable
``OPENASSISTANT_SESSION_TOKEN``, a Netscape ``cookies.txt`` the user names, then the user's
browsers through the optional ``browser-cookie3`` (``pip install 'openassistant-sdk[browser]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._auth import PLAIN_COOKIE, SECURE_COOKIE
from ._exceptions import MissingCredentialsError
from ._logging import logger

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = ["FoundSession", "find_session"]


@attrs.frozen(kw_only=True)
class FoundSession:
    """A website session and where it was found; the values never appear in a repr."""

    session_token: str | None = attrs.field(default=None, repr=False)
    cookies: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    source: str

    def client_options(self) -> dict[str, Any]:
        """The keyword for ``Client`` / ``AsyncClient``: ``session_token=`` or ``cookies=``."""
        if self.session_token is not None:
            return {"session_token": self.session_token}
        return {"cookies": dict(self.cookies)}


_BROWSERS = ("chrome", "chromium", "firefox", "opera", "opera_gx", "brave", "edge", "vivaldi")


def _session_cookies(jar: Iterable[Any], host: str) -> dict[str, str]:
    """Take the next-auth session cookies (also chunked ``.0``, ``.1``, 1.1) set for ``host``."""
    found: dict[str, str] = {}
    host = host.lower()
    for cookie in jar:
        name = getattr(cookie, "name", "")
        domain = (getattr(cookie, "domain", "") or "").lstrip(".").lower()
        if domain and not (host == domain or host.endswith("." + domain)):
            continue
        is_expired = getattr(cookie, "is_expired", None)
        if callable(is_expired) and is_expired():
            continue  # a browser's jar keeps expired cookies; a cookies file's loader drops them
        base = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1].isdigit() else name
        if base in (SECURE_COOKIE, PLAIN_COOKIE) and getattr(cookie, "value", None):
            found[name] = cookie.value
    return found


def _from_file(path: str, host: str) -> dict[str, str]:
    # Only a cookies file needs http.cookiejar: imported here, not with the package.
    from http.cookiejar import LoadError, MozillaCookieJar

    jar = MozillaCookieJar(path)
    try:
        jar.load(ignore_discard=True, ignore_expires=False)
    except (OSError, LoadError) as err:
        raise MissingCredentialsError(f"cannot read the cookies file {path!r}: {err}") from err
    return _session_cookies(jar, host)


def _from_browsers(host: str, loader: Callable[..., Any] | None) -> tuple[dict[str, str], str]:
    if loader is None:
        try:
            import browser_cookie3
        except ImportError:
            logger.debug("browser cookies not searched: browser-cookie3 is not installed")
            return {}, ""
        module: Any = browser_cookie3
    else:
        module = loader
    for name in _BROWSERS:
        load = getattr(module, name, None)
        if load is None:
            continue
        try:
            jar: CookieJar = load(domain_name=host)
        except Exception as err:  # a browser that is absent or locked is no reason to fail
            logger.debug("no cookies from %s: %s", name, type(err).__name__)
            continue
        found = _session_cookies(jar, host)
        if found:
            return found, f"the {name} browser"
    return {}, ""


def find_session(
    host: str,
    *,
    cookies_file: str | None = None,
    browsers: bool = True,
    env: Mapping[str, str] | None = None,
    browser_loader: Any = None,
) -> FoundSession:
    """Find a website session for ``host`` and say where it came from.

    Args:
        host: The site's host name, e.g. ``open-assistant.io``.
        cookies_file: A Netscape ``cookies.txt`` to read (also ``OPENASSISTANT_COOKIES_FILE``).
        browsers: Whether to look in the user's browsers (needs the ``browser`` extra).
        env: The environment to read instead of ``os.environ``.
        browser_loader: A stand-in for the ``browser_cookie3`` module (for tests).

    Returns:
        The session token or cookies to send, and a description of their source.

    Raises:
        MissingCredentialsError: No session was found anywhere (nothing was sent).
    """
    env = os.environ if env is None else env
    token = env.get("OPENASSISTANT_SESSION_TOKEN")
    if token:
        logger.debug("website session from OPENASSISTANT_SESSION_TOKEN")
        return FoundSession(
            session_token=token, source="the OPENASSISTANT_SESSION_TOKEN environment variable"
        )
    path = cookies_file or env.get("OPENASSISTANT_COOKIES_FILE")
    if path:
        found = _from_file(path, host)
        if found:
            logger.debug("website session from the cookies file %s", path)
            return FoundSession(cookies=found, source=f"the cookies file {path}")
        logger.debug("the cookies file %s has no session cookie for %s", path, host)
    if browsers:
        found, source = _from_browsers(host, browser_loader)
        if found:
            logger.debug("website session from %s", source)
            return FoundSession(cookies=found, source=source)
    raise MissingCredentialsError(
        f"no Open Assistant session found for {host}: pass session_token= or cookies=, set "
        "OPENASSISTANT_SESSION_TOKEN, name a cookies.txt (cookies_file= or "
        "OPENASSISTANT_COOKIES_FILE), or log in with a browser and install "
        "'openassistant-sdk[browser]'"
    )
