"""The command line on a terminal: banner, colour, the queue status line, unknown models.

Terminal behaviour is checked in a pseudo-terminal (the CLI as a subprocess) and in-process
with a stream that says it is a terminal.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from typing import Any

import pytest

from openassistant_sdk import cli
from openassistant_sdk._events import PendingEvent, TokenEvent
from openassistant_server import Fault

from .conftest import TIMEOUT, LocalServer, ServerConfig, cli_env, connect, echo, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(LocalServer is None, reason="needs the local server (the [server] extra)"),
    pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal"),
]

SGR = re.compile(rb"\x1b\[[0-9;]*m")  # a colour (Select Graphic Rendition) sequence


class Terminal:
    """The CLI as a subprocess whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        import pty

        self.master, slave = pty.openpty()
        environment = (env or cli_env()) | {"TERM": "xterm"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openassistant_sdk", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=environment,
            close_fds=True,
        )
        os.close(slave)
        self.out = b""

    def read_until(self, needle: bytes, timeout: float = TIMEOUT) -> None:
        """Read until the output, without its colour sequences, holds `needle`."""
        deadline = time.monotonic() + timeout
        while needle not in SGR.sub(b"", self.out):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r} within {timeout}s: {self.out!r}"
            if not self._read(remaining):
                raise AssertionError(f"the terminal closed before {needle!r}: {self.out!r}")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the child closed its side
                return False
            if not data:
                return False
            self.out += data
        return True

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def leave(self) -> int:
        """Press Ctrl-D at the prompt until the CLI exits; return its status.

        A Ctrl-D typed before readline has switched the terminal to raw mode is lost, and
        nothing shows when it has, so it is repeated (bounded).
        """
        for _ in range(int(TIMEOUT / 0.2)):
            if self.proc.poll() is not None:
                break
            self.send(b"\x04")
            self._read(0.2)
        return self.finish()

    def finish(self) -> int:
        """Read until the child exits; return its status."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self._read(0.2):
            if self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
        return self.proc.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        os.close(self.master)


@pytest.fixture
def terminal():
    started: list[Terminal] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Terminal:
        started.append(Terminal(*args, env=env))
        return started[-1]

    yield start
    for term in started:
        term.close()


def test_interactive_banner_and_colour_on_a_terminal(server, terminal):
    term = terminal("chat", *echo(server))
    term.read_until(b"> ")
    banner = term.out.split(b"\n")[0].decode()
    assert server.url in banner
    assert "inference API" in banner
    assert "model echo (a placeholder model" in banner
    assert "Ctrl-D leaves" in banner
    assert SGR.search(term.out)  # coloured
    term.send(b"hello there\n")
    term.read_until(b"there\r\n> ")  # the reply, then the prompt again
    assert SGR.sub(b"", term.out).count(b"hello there\r\n") >= 2  # the echoed input, the reply
    assert term.leave() == 0
    assert server.chats_alive() == 0


def test_no_color_turns_colour_off_but_keeps_the_banner(server, terminal):
    term = terminal("chat", *echo(server), env=cli_env() | {"NO_COLOR": "1"})
    term.read_until(b"> ")
    assert b"model echo" in term.out
    assert term.leave() == 0
    assert not SGR.search(term.out), term.out


def test_no_banner_and_no_colour_without_a_terminal(server):
    result = run_cli("chat", *echo(server), input="hi\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hi\n", "")


def test_the_banner_shows_the_model_description(make_local, terminal):
    pytest.importorskip("openassistant_server")
    server = make_local(model_aliases={"OA_SFT_Llama_30B_6": "echo"})
    models = run_cli("models", *connect(server, "--json"))
    described = {c["name"]: c["description"] for c in map(json.loads, models.stdout.splitlines())}
    term = terminal("chat", *connect(server, "--model", "OA_SFT_Llama_30B_6"))
    term.read_until(b"> ")
    banner = term.out.split(b"\n")[0].decode()
    assert "model OA_SFT_Llama_30B_6" in banner
    if described["OA_SFT_Llama_30B_6"]:
        assert described["OA_SFT_Llama_30B_6"] in banner
    assert "placeholder" not in banner
    assert term.leave() == 0


def test_the_queue_status_is_rewritten_in_place(make_local, terminal):
    server = make_local(pending_interval=0.1)
    server.pause_workers()
    try:
        term = terminal("chat", *echo(server), "one two")
        deadline = time.monotonic() + TIMEOUT
        while term.out.count(b"queued: position 1 of 1") < 3:  # one every 0.1 s
            assert time.monotonic() < deadline, term.out
            term._read(0.2)
    finally:
        server.resume_workers()
    assert term.finish() == 0
    before_reply = term.out.split(b"one two")[0]
    assert b"\n" not in before_reply  # every status overwrote the last one
    assert before_reply.count(b"\r\x1b[K") >= 3
    assert before_reply.endswith(b"\r\x1b[K")  # cleared before the reply
    assert b"queued at" not in term.out


@pytest.fixture
def make_local():
    started: list[Any] = []

    def make(**config: Any) -> Any:
        fast = {"token_delay": 0.005, "rate_limit": None}
        local = LocalServer(config=ServerConfig(**(fast | config))).start()
        started.append(local)
        return local

    yield make
    for local in started:
        local.stop()


# -- in-process -----------------------------------------------------------------------------------


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _session() -> Any:
    args = type("Args", (), {"json": False, "system_prompt": None})()
    return cli._Session(client=None, args=args)  # type: ignore[arg-type]


@pytest.mark.parametrize("no_color", [None, "1"])
def test_status_line_in_process(monkeypatch, no_color):
    err, out = TTY(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    if no_color:
        monkeypatch.setenv("NO_COLOR", no_color)
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    session = _session()
    for event in (PendingEvent(2, 3), PendingEvent(1, 2), PendingEvent(0, 0), TokenEvent("hi")):
        session._show(event)
    text = err.getvalue()
    assert "\n" not in text
    parts = text.split("\r\x1b[K")
    assert [SGR.sub(b"", p.encode()).decode() for p in parts] == [
        "",
        "openassistant: note: queued: position 2 of 3",
        "openassistant: note: queued: position 1 of 2",
        "openassistant: note: waiting for the server to start the reply",
        "",
    ]
    assert "0 of 0" not in text
    assert bool(SGR.search(text.encode())) is (no_color is None)
    assert out.getvalue() == "hi"


def test_messages_are_plain_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv("NO_COLOR", raising=False)
    cli._say("error", "boom")
    assert err.getvalue() == "openassistant: error: boom\n"
    tty = TTY()
    monkeypatch.setattr(sys, "stderr", tty)
    cli._say("error", "boom")
    assert tty.getvalue() == "\x1b[1;31mopenassistant: error:\x1b[0m boom\n"


# -- unknown models -------------------------------------------------------------------------------


def test_an_unknown_model_lists_the_available_ones(server):
    result = run_cli("chat", *connect(server, "--model", "no-such-model"), "hi")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "422" in line
    assert "no-such-model" in line
    listed = line.split("available models: ")
    assert len(listed) == 2  # named once, by the server or by the CLI
    names = re.split(r"[,\s]+", listed[1].split(" (")[0].rstrip(")"))
    assert {"_lorem", "echo"} <= set(names)
    as_json = run_cli("chat", *connect(server, "--json", "--model", "nope"), "hi")
    (error,) = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert "available models: " in error["error"]
    assert server.chats_alive() == 0


def test_an_unknown_model_on_a_server_that_does_not_name_them_gets_the_list_from_the_cli(
    make_local,
):
    # The real server's 422 says only "not in allowed models" with its own setting; the CLI
    # asks the server's model configs and names them.
    local = make_local()
    recorded = '{"detail":"Model no-such-model not in allowed models: _lorem,echo"}'
    local.add_fault(
        Fault(action="respond", op="assistant_message", status=422, body=recorded,
              headers={"content-type": "application/json"})
    )  # fmt: skip
    result = run_cli("chat", *connect(local, "--model", "no-such-model"), "hi")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "not in allowed models" in line
    assert "(available models: _lorem, " in line
    assert line.endswith(", echo)")
