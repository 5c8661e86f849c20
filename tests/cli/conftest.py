"""Run ``python -m openassistant_sdk`` as a subprocess against a real local server on loopback."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import openassistant_sdk

try:
    from openassistant_sdk.testing import LocalServer
    from openassistant_server import ServerConfig
except ImportError:  # the [server] extra is not installed
    LocalServer = ServerConfig = None

TIMEOUT = 30.0  # no wait in these tests is unbounded
ROOT = Path(openassistant_sdk.__file__).resolve().parent.parent


def cli_env() -> dict[str, str]:
    """The environment without the user's OPENASSISTANT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENASSISTANT_")}
    env["PYTHONIOENCODING"] = "utf-8"
    # The child imports the package this test imported, installed or not, from any cwd.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line to its end and return its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "openassistant_sdk", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env if env is not None else cli_env(),
        timeout=TIMEOUT,
        check=False,
    )


class LiveCLI:
    """A running command line whose stdout is read as it arrives (by a thread, with timeouts)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openassistant_sdk", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
        )
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self.out = b""
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(4096):
            self._chunks.put(chunk)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Read stdout until it contains ``text``."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {text!r} on stdout within {timeout}s: {self.out!r}")
            with contextlib.suppress(queue.Empty):
                self.out += self._chunks.get(timeout=remaining)

    def wait_at_prompt(self, timeout: float = TIMEOUT) -> None:
        """Wait until the CLI blocks reading stdin, i.e. it is back at its prompt.

        Linux shows the blocking system call in /proc (``0`` is read, then the fd, ``0x0``);
        elsewhere a short sleep stands in for it.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.proc.pid}/syscall") as f:
                    if f.read().split()[:2] == ["0", "0x0"]:
                        return
            except (OSError, IndexError):
                time.sleep(0.5)
                return
            time.sleep(0.01)
        raise AssertionError("the CLI never went back to reading stdin")

    def finish(self) -> tuple[int, str, str]:
        """Close stdin (EOF) and return the exit status, the whole stdout and stderr."""
        assert self.proc.stdin is not None
        assert self.proc.stderr is not None
        self.proc.stdin.close()
        status = self.proc.wait(timeout=TIMEOUT)
        err = self.proc.stderr.read().decode()
        self._reader.join(timeout=TIMEOUT)
        while not self._chunks.empty():
            self.out += self._chunks.get_nowait()
        return status, self.out.decode(), err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def live() -> Iterator[Any]:
    """Start ``LiveCLI`` processes that are killed at the end of the test whatever happens."""
    started: list[LiveCLI] = []

    def start(*args: str) -> LiveCLI:
        started.append(LiveCLI(*args))
        return started[-1]

    yield start
    for cli in started:
        cli.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """A fast local server shared by a module's tests."""
    if LocalServer is None:
        pytest.skip("the CLI tests need the local server (the [server] extra)")
    with LocalServer(config=ServerConfig(token_delay=0.005, rate_limit=None)) as srv:
        yield srv


@pytest.fixture(scope="module")
def slow_server() -> Iterator[Any]:
    """A server whose replies take seconds, to press Ctrl-C while one streams."""
    if LocalServer is None:
        pytest.skip("the CLI tests need the local server (the [server] extra)")
    with LocalServer(config=ServerConfig(token_delay=0.1, rate_limit=None)) as srv:
        yield srv


def connect(server: Any, *extra: str) -> list[str]:
    """The flags that point the CLI at ``server`` (add ``--model echo`` for ``chat``)."""
    return ["--base-url", server.url, "--api", "inference", "--debug-user", "t", *extra]


def echo(server: Any, *extra: str) -> list[str]:
    """The ``chat`` flags for ``server`` and its echo model, whose reply is the prompt."""
    return connect(server, "--model", "echo", *extra)


def free_port() -> int:
    """Return a loopback port that nothing listens on (for now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
