"""Finding a website session without network: the environment, a cookies.txt, the browsers.

``find_session`` looks in a fixed order and logs (at DEBUG, never the value) where the session
came from. The browsers are read through a stand-in for ``browser_cookie3`` (``browser_loader=``
or a fake module in ``sys.modules``), so these tests need neither the extra nor a browser.
"""

from __future__ import annotations

import logging
import sys
import time
import types
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any

import pytest

from openassistant_sdk import AuthenticationError, MissingCredentialsError
from openassistant_sdk._auth import PLAIN_COOKIE, SECURE_COOKIE
from openassistant_sdk._cookies import FoundSession, find_session

HOST = "open-assistant.io"
FUTURE = 4102444800  # 2100-01-01
PAST = 946684800  # 2000-01-01


def _cookie(name: str, value: str, domain: str = "." + HOST, expires: int | None = None) -> Cookie:
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=bool(domain),
        domain_initial_dot=domain.startswith("."),
        path="/",
        path_specified=True,
        secure=True,
        expires=expires,
        discard=expires is None,
        comment=None,
        comment_url=None,
        rest={},
    )


def _jar(*cookies: Cookie) -> CookieJar:
    jar = CookieJar()
    for cookie in cookies:
        jar.set_cookie(cookie)
    return jar


def _line(name: str, value: str, domain: str = "." + HOST, expires: int = FUTURE) -> str:
    flag = "TRUE" if domain.startswith(".") else "FALSE"
    return f"{domain}\t{flag}\t/\tTRUE\t{expires}\t{name}\t{value}\n"


def _cookies_file(tmp_path: Path, *lines: str, name: str = "cookies.txt") -> str:
    path = tmp_path / name
    path.write_text("# Netscape HTTP Cookie File\n" + "".join(lines))
    return str(path)


class FakeBrowsers:
    """A stand-in for ``browser_cookie3``: one loader per browser, each call recorded."""

    def __init__(self, **jars: CookieJar | Exception) -> None:
        self.jars = jars
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in self.jars:
            raise AttributeError(name)
        result = self.jars[name]

        def load(domain_name: str) -> CookieJar:
            self.calls.append((name, domain_name))
            if isinstance(result, Exception):
                raise result
            return result

        return load


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="openassistant_sdk")
    return caplog


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "openassistant_sdk"]


# -- the order -------------------------------------------------------------------------------------


def test_the_environment_variable_comes_before_the_file_and_the_browsers(
    tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    path = _cookies_file(tmp_path, _line(SECURE_COOKIE, "from-file"))
    browsers = FakeBrowsers(chrome=_jar(_cookie(SECURE_COOKIE, "from-chrome")))
    found = find_session(
        HOST,
        cookies_file=path,
        env={"OPENASSISTANT_SESSION_TOKEN": "from-env", "OPENASSISTANT_COOKIES_FILE": path},
        browser_loader=browsers,
    )
    assert found.session_token == "from-env"
    assert found.cookies == {}
    assert found.source == "the OPENASSISTANT_SESSION_TOKEN environment variable"
    assert browsers.calls == []  # not even looked at
    assert _messages(debug_log) == ["website session from OPENASSISTANT_SESSION_TOKEN"]
    assert "from-env" not in debug_log.text


def test_os_environ_is_read_when_no_env_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENASSISTANT_SESSION_TOKEN", "from-os-environ")
    found = find_session(HOST, browsers=False)
    assert found.session_token == "from-os-environ"


def test_an_empty_environment_variable_does_not_count(tmp_path: Path) -> None:
    path = _cookies_file(tmp_path, _line(SECURE_COOKIE, "from-file"))
    found = find_session(
        HOST, cookies_file=path, env={"OPENASSISTANT_SESSION_TOKEN": ""}, browsers=False
    )
    assert found.session_token is None
    assert found.cookies == {SECURE_COOKIE: "from-file"}


def test_the_cookies_file_comes_before_the_browsers(
    tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    path = _cookies_file(tmp_path, _line(SECURE_COOKIE, "from-file"))
    browsers = FakeBrowsers(chrome=_jar(_cookie(SECURE_COOKIE, "from-chrome")))
    found = find_session(HOST, cookies_file=path, env={}, browser_loader=browsers)
    assert found.session_token is None
    assert found.cookies == {SECURE_COOKIE: "from-file"}
    assert found.source == f"the cookies file {path}"
    assert browsers.calls == []
    assert _messages(debug_log) == [f"website session from the cookies file {path}"]
    assert "from-file" not in debug_log.text


def test_the_cookies_file_can_be_named_by_the_environment(tmp_path: Path) -> None:
    path = _cookies_file(tmp_path, _line(PLAIN_COOKIE, "from-env-file"))
    found = find_session(HOST, env={"OPENASSISTANT_COOKIES_FILE": path}, browsers=False)
    assert found.cookies == {PLAIN_COOKIE: "from-env-file"}
    assert found.source == f"the cookies file {path}"


def test_a_cookies_file_argument_beats_the_environments_file(tmp_path: Path) -> None:
    named = _cookies_file(tmp_path, _line(SECURE_COOKIE, "named"), name="named.txt")
    other = _cookies_file(tmp_path, _line(SECURE_COOKIE, "other"), name="other.txt")
    found = find_session(
        HOST, cookies_file=named, env={"OPENASSISTANT_COOKIES_FILE": other}, browsers=False
    )
    assert found.cookies == {SECURE_COOKIE: "named"}


def test_a_file_without_a_session_falls_through_to_the_browsers(
    tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    path = _cookies_file(tmp_path, _line("next-auth.csrf-token", "not-a-session"))
    browsers = FakeBrowsers(firefox=_jar(_cookie(SECURE_COOKIE, "from-firefox")))
    found = find_session(HOST, cookies_file=path, env={}, browser_loader=browsers)
    assert found.cookies == {SECURE_COOKIE: "from-firefox"}
    assert found.source == "the firefox browser"
    assert browsers.calls == [("firefox", HOST)]
    assert _messages(debug_log) == [
        f"the cookies file {path} has no session cookie for {HOST}",
        "website session from the firefox browser",
    ]
    assert "from-firefox" not in debug_log.text


def test_browsers_are_tried_in_order_until_one_has_a_session(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    browsers = FakeBrowsers(
        chrome=PermissionError("the database is locked: secret-path"),
        chromium=_jar(),  # no cookies at all
        firefox=_jar(_cookie("unrelated", "x")),
        opera=_jar(_cookie(PLAIN_COOKIE, "from-opera")),
        edge=_jar(_cookie(PLAIN_COOKIE, "from-edge")),
    )
    found = find_session(HOST, env={}, browser_loader=browsers)
    assert found.cookies == {PLAIN_COOKIE: "from-opera"}
    assert found.source == "the opera browser"
    # Each loader is asked for the host; the first with a session ends the search.
    assert browsers.calls == [(name, HOST) for name in ("chrome", "chromium", "firefox", "opera")]
    # A failing browser is logged by the kind of error only, not its message.
    assert _messages(debug_log) == [
        "no cookies from chrome: PermissionError",
        "website session from the opera browser",
    ]
    assert "secret-path" not in debug_log.text


def test_browsers_false_skips_the_browsers(tmp_path: Path) -> None:
    browsers = FakeBrowsers(chrome=_jar(_cookie(SECURE_COOKIE, "from-chrome")))
    with pytest.raises(MissingCredentialsError):
        find_session(HOST, env={}, browsers=False, browser_loader=browsers)
    assert browsers.calls == []


def test_browser_cookie3_is_imported_when_no_loader_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("browser_cookie3")
    calls: list[str] = []

    def brave(domain_name: str) -> CookieJar:
        calls.append(domain_name)
        return _jar(_cookie(SECURE_COOKIE, "from-brave"))

    fake.brave = brave  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "browser_cookie3", fake)
    found = find_session(HOST, env={})
    assert found.cookies == {SECURE_COOKIE: "from-brave"}
    assert found.source == "the brave browser"
    assert calls == [HOST]


def test_without_browser_cookie3_the_browsers_are_skipped_and_that_is_logged(
    monkeypatch: pytest.MonkeyPatch, debug_log: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "browser_cookie3", None)  # import raises ImportError
    with pytest.raises(MissingCredentialsError, match=r"openassistant-sdk\[browser\]"):
        find_session(HOST, env={})
    assert _messages(debug_log) == [
        "browser cookies not searched: browser-cookie3 is not installed"
    ]


# -- which cookies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [SECURE_COOKIE, PLAIN_COOKIE])
def test_both_session_cookie_names_are_taken(tmp_path: Path, name: str) -> None:
    path = _cookies_file(tmp_path, _line(name, "value"))
    assert find_session(HOST, cookies_file=path, env={}, browsers=False).cookies == {name: "value"}
    browsers = FakeBrowsers(chrome=_jar(_cookie(name, "value")))
    assert find_session(HOST, env={}, browser_loader=browsers).cookies == {name: "value"}


def test_chunked_session_cookies_are_taken_together_and_nothing_else() -> None:
    browsers = FakeBrowsers(
        chrome=_jar(
            _cookie(f"{SECURE_COOKIE}.0", "part0"),
            _cookie(f"{SECURE_COOKIE}.1", "part1"),
            _cookie(f"{SECURE_COOKIE}.x", "not-a-chunk"),
            _cookie("next-auth.csrf-token", "csrf"),
            _cookie("next-auth.callback-url", "https://open-assistant.io"),
            _cookie(PLAIN_COOKIE, ""),  # an empty value is no session
        )
    )
    found = find_session(HOST, env={}, browser_loader=browsers)
    assert found.cookies == {f"{SECURE_COOKIE}.0": "part0", f"{SECURE_COOKIE}.1": "part1"}


def test_only_the_hosts_cookies_are_taken() -> None:
    jar = _jar(
        _cookie(SECURE_COOKIE, "ours", domain="." + HOST),
        _cookie(PLAIN_COOKIE, "other-site", domain=".example.com"),
        _cookie(f"{SECURE_COOKIE}.0", "look-alike", domain="evil-open-assistant.io"),
        _cookie(f"{SECURE_COOKIE}.1", "sub-site", domain="chat.open-assistant.io"),
    )
    found = find_session(HOST, env={}, browser_loader=FakeBrowsers(chrome=jar))
    assert found.cookies == {SECURE_COOKIE: "ours"}
    # A host that only ends with the site's name is another site: it gets none of its cookies.
    found = find_session("evil-" + HOST, env={}, browser_loader=FakeBrowsers(chrome=jar))
    assert found.cookies == {f"{SECURE_COOKIE}.0": "look-alike"}


def test_a_parent_domains_cookie_is_taken_for_a_subdomain() -> None:
    jar = _jar(
        _cookie(SECURE_COOKIE, "parent", domain="." + HOST),
        _cookie(f"{SECURE_COOKIE}.0", "exact", domain="chat." + HOST),
        _cookie(f"{SECURE_COOKIE}.1", "sibling", domain="www." + HOST),
    )
    found = find_session("chat." + HOST, env={}, browser_loader=FakeBrowsers(chrome=jar))
    assert found.cookies == {SECURE_COOKIE: "parent", f"{SECURE_COOKIE}.0": "exact"}


def test_a_file_with_only_another_hosts_session_has_none(tmp_path: Path) -> None:
    path = _cookies_file(tmp_path, _line(SECURE_COOKIE, "other", domain=".example.com"))
    with pytest.raises(MissingCredentialsError):
        find_session(HOST, cookies_file=path, env={}, browsers=False)
    found = find_session("example.com", cookies_file=path, env={}, browsers=False)
    assert found.cookies == {SECURE_COOKIE: "other"}


def test_expired_cookies_in_a_file_are_not_taken(tmp_path: Path) -> None:
    path = _cookies_file(
        tmp_path,
        _line(SECURE_COOKIE, "expired", expires=PAST),
        _line(PLAIN_COOKIE, "fresh", expires=int(time.time()) + 3600),
    )
    found = find_session(HOST, cookies_file=path, env={}, browsers=False)
    assert found.cookies == {PLAIN_COOKIE: "fresh"}

    only_expired = _cookies_file(
        tmp_path, _line(SECURE_COOKIE, "expired", expires=PAST), name="expired.txt"
    )
    with pytest.raises(MissingCredentialsError, match="no Open Assistant session found"):
        find_session(HOST, cookies_file=only_expired, env={}, browsers=False)


def test_a_found_session_never_shows_its_values() -> None:
    found = FoundSession(session_token="tok-secret", cookies={"a": "cookie-secret"}, source="x")
    assert "tok-secret" not in repr(found)
    assert "cookie-secret" not in repr(found)
    assert "source='x'" in repr(found)


# -- nothing found ---------------------------------------------------------------------------------


def test_nothing_anywhere_is_a_missing_credentials_error(
    tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    path = _cookies_file(tmp_path)  # a valid file, but empty
    browsers = FakeBrowsers(chrome=_jar(), firefox=OSError("no profile"))
    with pytest.raises(MissingCredentialsError) as info:
        find_session(HOST, cookies_file=path, env={}, browser_loader=browsers)
    err = info.value
    assert not isinstance(err, AuthenticationError)  # nothing was sent: no status to report
    text = str(err)
    assert f"no Open Assistant session found for {HOST}" in text
    for hint in ("session_token=", "OPENASSISTANT_SESSION_TOKEN", "OPENASSISTANT_COOKIES_FILE"):
        assert hint in text
    assert [name for name, _ in browsers.calls] == ["chrome", "firefox"]
    assert _messages(debug_log) == [
        f"the cookies file {path} has no session cookie for {HOST}",
        "no cookies from firefox: OSError",
    ]


def test_a_missing_cookies_file_is_an_error_not_a_fall_through(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    browsers = FakeBrowsers(chrome=_jar(_cookie(SECURE_COOKIE, "from-chrome")))
    with pytest.raises(MissingCredentialsError, match="cannot read the cookies file") as info:
        find_session(HOST, cookies_file=missing, env={}, browser_loader=browsers)
    assert missing in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert browsers.calls == []  # the user named a file: it is not silently skipped


def test_a_file_that_is_not_a_netscape_cookies_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cookies.json"
    path.write_text('[{"name": "__Secure-next-auth.session-token", "value": "v"}]\n')
    with pytest.raises(MissingCredentialsError, match="cannot read the cookies file"):
        find_session(HOST, cookies_file=str(path), env={}, browsers=False)


def test_expired_cookies_in_a_browsers_jar_are_not_taken() -> None:
    jar = _jar(
        _cookie(SECURE_COOKIE, "expired", expires=PAST),
        _cookie(PLAIN_COOKIE, "fresh", expires=int(time.time()) + 3600),
    )
    found = find_session(HOST, env={}, browser_loader=FakeBrowsers(chrome=jar))
    assert found.cookies == {PLAIN_COOKIE: "fresh"}


def test_the_host_matches_whatever_its_case() -> None:
    jar = _jar(_cookie(SECURE_COOKIE, "ours", domain="." + HOST))
    found = find_session(HOST.upper(), env={}, browser_loader=FakeBrowsers(chrome=jar))
    assert found.cookies == {SECURE_COOKIE: "ours"}


def test_a_found_session_gives_the_clients_keyword(tmp_path: Path) -> None:
    from openassistant_sdk import Client, find_session

    by_env = find_session(HOST, env={"OPENASSISTANT_SESSION_TOKEN": "tok-from-env"})
    assert by_env.client_options() == {"session_token": "tok-from-env"}
    path = _cookies_file(tmp_path, _line(SECURE_COOKIE, "tok-from-file"))
    by_file = find_session(HOST, env={}, cookies_file=path, browsers=False)
    assert by_file.client_options() == {"cookies": {SECURE_COOKIE: "tok-from-file"}}
    for found in (by_env, by_file):
        client = Client(base_url=f"https://{HOST}", api="website", env={}, **found.client_options())
        assert client.options.api == "website"
        client.close()
