"""How a request failed without an answer, and the error that says so: no transport needed.

The facades name the transport's exception; these rules decide what it means (did the
request reach the server? did a timeout end it?) and how the error reads.
"""

from __future__ import annotations

import errno
import itertools
import sys

import pytest

from openassistant_sdk import APIConnectionError, APITimeoutError, OpenAssistantError
from openassistant_sdk._config import changed_options, timeout_seconds
from openassistant_sdk._failures import foreign_failure, transport_error, was_dropped
from openassistant_sdk._requests import InferenceRoutes

SPEC = InferenceRoutes().get_chat("c1")


def chained(*errors: BaseException) -> BaseException:
    """Chain errors as a transport raises them: each the cause of the one before."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


# -- was the connection dropped? ------------------------------------------------------------------


def test_a_reset_or_a_broken_pipe_down_the_cause_chain_is_a_drop() -> None:
    assert was_dropped(chained(RuntimeError("read"), OSError("x"), ConnectionResetError()))
    assert was_dropped(chained(RuntimeError("write"), BrokenPipeError()))
    assert was_dropped(RuntimeError("[Errno 104] Connection reset by peer"))


def test_other_failures_and_endless_chains_are_not_a_drop() -> None:
    assert not was_dropped(chained(RuntimeError("read"), TimeoutError()))
    loop = RuntimeError("a")
    loop.__cause__ = loop  # a cycle: looked at a bounded number of times
    assert not was_dropped(loop)


# -- aiohttp's errors under the httpx-aiohttp transport --------------------------------------------


def test_an_error_not_from_aiohttp_is_not_classified() -> None:
    assert foreign_failure(RuntimeError("plain")) is None


def test_aiohttps_errors_say_how_the_request_failed() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    assert "aiohttp" in sys.modules

    def kind(cause: BaseException) -> object:
        return foreign_failure(chained(RuntimeError("mapped by the transport"), cause))

    refused = aiohttp.ClientConnectorError(object(), OSError(errno.ECONNREFUSED, "refused"))
    assert kind(refused) == ("connect", False)
    assert kind(aiohttp.ConnectionTimeoutError()) == ("connect", True)
    assert kind(aiohttp.ServerTimeoutError()) == ("timeout", True)
    assert kind(aiohttp.ServerDisconnectedError()) == ("disconnect", False)
    assert kind(aiohttp.ClientOSError(errno.ECONNRESET, "reset")) == ("disconnect", False)
    assert kind(aiohttp.ClientPayloadError("truncated")) == ("read", False)


# -- the error ------------------------------------------------------------------------------------


def test_a_timeout_says_what_the_request_was_waiting_for() -> None:
    error = transport_error(SPEC, kind="connect", timed_out=True, name="ConnectTimeout", text="")
    assert isinstance(error, APITimeoutError)
    assert str(error) == "GET /chats/c1 timed out while connecting"
    assert (error.method, error.path, error.failure) == ("GET", "/chats/c1", "connect")


def test_a_refused_connection_names_the_server_and_how_to_start_one() -> None:
    error = transport_error(
        SPEC,
        kind="connect",
        timed_out=False,
        name="ConnectError",
        text="refused",
        base_url="http://127.0.0.1:1",
    )
    assert isinstance(error, APIConnectionError)
    assert "nothing answers at http://127.0.0.1:1" in str(error)
    assert "openassistant serve" in str(error)
    read = transport_error(
        SPEC, kind="read", timed_out=False, name="ReadError", text="eof", base_url="http://h"
    )
    assert str(read) == "GET /chats/c1 failed: ReadError: eof"  # no hint after connecting


def test_a_failure_outside_the_connection_is_not_a_connection_error() -> None:
    unsupported = transport_error(
        SPEC, kind="connect", timed_out=False, name="X", text="ftp://", unsupported=True
    )
    assert type(unsupported) is OpenAssistantError
    assert str(unsupported) == "unsupported URL for GET /chats/c1: ftp://"
    decoding = transport_error(
        SPEC, kind="read", timed_out=False, name="DecodingError", text="bad gzip", connection=False
    )
    assert type(decoding) is OpenAssistantError
    assert str(decoding) == "GET /chats/c1 failed: DecodingError: bad gzip"


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [(2, 2.0), (0.5, 0.5), (None, None)])
def test_a_timeout_is_seconds_or_none(value: object, seconds: float | None) -> None:
    assert timeout_seconds(value) == seconds


@pytest.mark.parametrize("bad", [0, -1, True, "3", float("inf"), float("nan")])
def test_a_timeout_that_is_not_seconds_is_refused_naming_what_is_taken(bad: object) -> None:
    with pytest.raises(ValueError, match=r"seconds > 0, an httpx.Timeout or None, not "):
        timeout_seconds(bad)


def test_changed_options_replace_credentials_together_and_add_headers() -> None:
    current = {
        "token": "old",
        "debug_user": None,
        "session_token": None,
        "cookies": None,
        "trusted_client": None,
        "headers": {"x-a": "1"},
        "model": "m",
        "stall_timeout": 5.0,
        "max_retries": 2,
        "retry": object(),
    }
    changed = changed_options(
        current,
        {"debug_user": "bob", "headers": {"x-b": "2"}, "model": None, "stall_timeout": None},
    )
    assert (changed["token"], changed["debug_user"]) == (None, "bob")  # all of them replaced
    assert changed["headers"] == {"x-a": "1", "x-b": "2"}
    assert changed["model"] == "m"  # None: kept
    assert changed["stall_timeout"] is None  # None is a value here: no limit
    assert changed["retry"] is current["retry"]
    again = changed_options(current, {"max_retries": 0, "unknown": 1})
    assert (again["max_retries"], again["retry"], "unknown" in again) == (0, None, False)
    assert again["token"] == "old"
