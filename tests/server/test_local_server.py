"""LocalServer, the pytest plugin and `run()`: start, stop, and leave nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from openassistant_sdk.testing import LocalServer
from openassistant_server import ServerConfig

from .helpers import Api, read_stream

REPO = Path(__file__).parents[2]


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("openassistant-local-server")]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_start_and_stop_leave_nothing_behind() -> None:
    server = LocalServer(token_delay=0)
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{server.url}/auth/providers", trust_env=False).json() == ["debug"]
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert len(_server_threads()) == 1
    finally:
        server.stop()
    server.stop()  # idempotent
    assert _server_threads() == []
    assert _refused(server.port)
    with pytest.raises(RuntimeError, match="not running"):
        server.chats_alive()


def test_config_and_keyword_arguments() -> None:
    base = ServerConfig(workers=0, token_delay=0.5)
    server = LocalServer(base, token_delay=0)
    assert (server.config.workers, server.config.token_delay) == (0, 0)
    assert LocalServer(workers=2).config.workers == 2
    with pytest.raises(ValueError, match="model_aliases"):
        ServerConfig(model_aliases={"x": "gpt"})


def test_introspection_helpers(server: LocalServer, api: Api) -> None:
    before = server.chats_alive()
    chat_id, reply = api.pending_message()
    assert server.chats_alive() == before + 1
    api.wait_state(chat_id, reply["id"], {"complete"})
    counts = server.messages_by_state()
    assert counts["manual"] >= 1
    assert counts["complete"] >= 1
    assert server.state()["chats"] == server.chats_alive()
    api.client.delete(f"/chats/{chat_id}")
    assert server.chats_alive() == before


def test_stop_ends_open_streams(make_server) -> None:
    server = make_server(workers=0)
    api = Api(server)
    outcome: dict[str, object] = {}

    def read() -> None:
        try:
            chat_id, reply = api.pending_message()
            _, chunks = read_stream(api.client, api.events_url(chat_id, reply["id"]), seconds=10)
            outcome["chunks"] = chunks
        except Exception as exc:  # reported below
            outcome["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.4)
    started = time.monotonic()
    server.stop()
    reader.join(5)
    api.close()
    assert time.monotonic() - started < 3
    assert "error" not in outcome, outcome
    assert outcome["chunks"], "the stream showed pending events before it was ended"


@pytest.mark.openassistant_server(workers=0, token_delay=0)
def test_the_fixture_takes_its_config_from_the_marker(openassistant_server: LocalServer) -> None:
    assert openassistant_server.config.workers == 0
    assert (
        httpx.get(f"{openassistant_server.url}/auth/providers", trust_env=False).status_code == 200
    )


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, openassistant_sdk.pytest_plugin; "
        "heavy = [m for m in ('starlette', 'uvicorn', 'openassistant_server', 'openassistant_sdk.testing') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_the_plugin_in_a_pytest_session(tmp_path: Path) -> None:
    (tmp_path / "test_uses_fixture.py").write_text(
        textwrap.dedent(
            """
            import httpx
            import pytest

            @pytest.mark.openassistant_server(token_delay=0)
            def test_it(openassistant_server):
                url = openassistant_server.url + "/auth/providers"
                assert httpx.get(url, trust_env=False).json() == ["debug"]
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:openassistant_sdk",
            "-p",
            "openassistant_sdk.pytest_plugin",
            # pytest-asyncio ([dev]) warns at start-up without its options; not this test's point.
            "-p",
            "no:asyncio",
            "-W",
            "error",
            "--strict-markers",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_run_in_the_foreground_until_interrupted(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # uvicorn re-raises the signal after a clean shutdown (recent versions do).
    code = (
        "from openassistant_server import run\n"
        "try:\n"
        f"    run(port={port})\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 15
        while _refused(port):
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5) as c:
            assert c.get("/auth/providers").json() == ["debug"]
            assert (
                c.get("/auth/refresh").status_code == 500
            )  # an unhandled 500: no traceback logged
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "GET /" not in stderr
