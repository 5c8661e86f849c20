"""The CLI's answers to wrong flags and to failures: one line on stderr and an exit status."""

from __future__ import annotations

from typing import Any

import pytest

from openassistant_sdk import cli


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["chat", "--stall-timeout", "0", "hi"], "must be a number of seconds > 0, not '0'"),
        (["serve", "--workers", "-1"], "must be an integer >= 0, not '-1'"),
        (["serve", "--port", "70000"], "must be a port number from 1 to 65535, not '70000'"),
        (["chat", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_a_wrong_flag_is_one_line_and_status_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("openassistant: error: ")
    assert says in line


@pytest.mark.parametrize(
    ("failure", "status", "says"),
    [
        (KeyboardInterrupt(), 130, ""),
        (RuntimeError("boom"), 1, "unexpected RuntimeError: boom (OPENASSISTANT_LOG=debug"),
    ],
)
def test_failures_end_with_a_status_and_no_traceback(
    failure: BaseException,
    status: int,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail(args: Any) -> int:
        raise failure

    monkeypatch.delenv("OPENASSISTANT_LOG", raising=False)
    monkeypatch.setattr(cli, "_run_models", fail)
    assert cli.main(["models"]) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert says in err


def test_the_traceback_is_shown_when_the_log_asks_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setenv("OPENASSISTANT_LOG", "debug")
    monkeypatch.setattr(cli, "_run_models", fail)
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["models"])
