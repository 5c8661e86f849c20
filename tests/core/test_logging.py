"""The SDK's logger: ``OPENASSISTANT_LOG`` turns on a stderr handler, and no secret is logged.

Every test runs with the ``openassistant_sdk`` logger as it was before (handlers, level,
propagation and the module's "already configured" flag are put back), so turning logging on
here does not change what other tests see.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openassistant_sdk import APIConnectionError, Client, RetryPolicy, _logging
from openassistant_sdk._logging import logger, scrub, setup_from_env


@pytest.fixture(autouse=True)
def _fresh_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    monkeypatch.setattr(_logging, "_configured", False)
    monkeypatch.delenv("OPENASSISTANT_LOG", raising=False)
    for handler in handlers:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    try:
        yield
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _stderr_handlers() -> list[logging.StreamHandler[Any]]:
    return [
        h
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("DEBUG", logging.DEBUG),
        (" Info\n", logging.INFO),
        ("warning", logging.WARNING),
        ("error", logging.ERROR),
    ],
)
def test_openassistant_log_turns_on_a_stderr_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, level: int
) -> None:
    monkeypatch.setenv("OPENASSISTANT_LOG", value)
    setup_from_env()
    handlers = _stderr_handlers()
    assert len(handlers) == 1
    assert handlers[0].stream is sys.stderr
    assert logger.level == level
    assert logger.getEffectiveLevel() == level

    logger.log(level, "hello %s", "there")
    logger.log(level - 10, "below the level")
    err = capsys.readouterr().err
    assert f"openassistant_sdk {logging.getLevelName(level)} hello there" in err
    assert "below the level" not in err


@pytest.mark.parametrize("value", ["", "   ", "verbose", "trace", "1", "critical", "notset"])
def test_an_unknown_or_empty_value_leaves_logging_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("OPENASSISTANT_LOG", value)
    setup_from_env()
    assert logger.handlers == []
    assert logger.level == logging.NOTSET
    logger.warning("not shown by the SDK's own handler")
    assert "not shown" not in capsys.readouterr().err

    # Nothing was taken as configured: a valid value later still turns logging on.
    monkeypatch.setenv("OPENASSISTANT_LOG", "info")
    setup_from_env()
    assert len(_stderr_handlers()) == 1
    assert logger.level == logging.INFO


def test_no_variable_leaves_logging_off() -> None:
    setup_from_env()
    assert logger.handlers == []
    assert logger.level == logging.NOTSET


def test_setting_up_twice_adds_one_handler_and_the_first_level_stays(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENASSISTANT_LOG", "debug")
    setup_from_env()
    setup_from_env()
    monkeypatch.setenv("OPENASSISTANT_LOG", "info")
    setup_from_env()
    assert len(_stderr_handlers()) == 1
    assert logger.level == logging.DEBUG
    logger.debug("once")
    assert capsys.readouterr().err.count("once") == 1


def test_every_client_sets_logging_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENASSISTANT_LOG", "debug")
    for _ in range(3):
        Client(base_url="http://127.0.0.1:9", debug_user="u").close()
    assert len(_stderr_handlers()) == 1
    assert logger.level == logging.DEBUG


def test_a_clients_env_is_read_instead_of_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENASSISTANT_LOG", "debug")
    Client(base_url="http://127.0.0.1:9", debug_user="u", env={}).close()
    assert _stderr_handlers() == []
    Client(base_url="http://127.0.0.1:9", debug_user="u", env={"OPENASSISTANT_LOG": "info"}).close()
    assert len(_stderr_handlers()) == 1
    assert logger.level == logging.INFO


# -- secrets ---------------------------------------------------------------------------------------


def test_scrub_replaces_every_secret_everywhere() -> None:
    text = "token abc123 and again abc123, cookie name=xyz789"
    assert scrub(text, ["abc123", "name=xyz789"]) == "token *** and again ***, cookie ***"


def test_scrub_ignores_empty_secrets_and_keeps_the_rest() -> None:
    assert scrub("nothing to hide", ["", "absent"]) == "nothing to hide"
    assert scrub("abc", []) == "abc"
    assert scrub("", ["abc"]) == ""


def _failing_transport(secret: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect with {secret} in the message", request=request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("log_level", ["debug", "info"])
def test_a_failed_requests_log_lines_carry_no_token(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    log_level: str,
) -> None:
    secret = "sk-very-secret-access-token"
    caplog.set_level(logging.DEBUG, logger="openassistant_sdk")
    with httpx.Client(transport=_failing_transport(secret)) as http:
        client = Client(
            base_url="http://127.0.0.1:9",
            token=secret,
            http_client=http,
            retry=RetryPolicy(max_retries=1, backoff_base=0.0, jitter=0.0),
            env={"OPENASSISTANT_LOG": log_level},
        )
        with client, pytest.raises(APIConnectionError):
            client.list_chats()
    messages = [r.getMessage() for r in caplog.records if r.name == "openassistant_sdk"]
    # The retry is logged at DEBUG, the final failure at INFO: both without the token.
    retried = [m for m in messages if m.startswith("retrying GET /chats")]
    assert len(retried) == (1 if log_level == "debug" else 0), messages
    failed = [m for m in messages if m.startswith("GET /chats failed (retries: 1)")]
    assert len(failed) == 1, messages
    for line in retried + failed:
        assert "cannot connect with *** in the message" in line
    assert secret not in caplog.text
    err = capsys.readouterr().err  # what the SDK's own stderr handler wrote
    assert "***" in err
    assert secret not in err
