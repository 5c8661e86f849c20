"""``openassistant serve``: help with defaults, exposure flags, CORS origins, access log."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
from typing import Any

import httpx
import pytest

from openassistant_sdk import cli

from .conftest import TIMEOUT, LocalServer, ServerConfig, free_port, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(LocalServer is None, reason="needs the local server (the [server] extra)"),
]

TRUSTED = base64.b64encode(
    json.dumps(
        {
            "api_key": "6969",
            "client": "c",
            "user_id": "u",
            "provider_account_id": "p",
            "username": "u",
        }
    ).encode()
).decode()


def test_serve_help_describes_it_and_shows_the_servers_defaults():
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Run the local Open Assistant server" in text
    defaults = dict(re.findall(r"(--[a-z-]+) \S+ .*?\(default: ([^)]+)\)", text))
    config = ServerConfig()
    assert float(defaults["--token-delay"]) == config.token_delay
    assert int(defaults["--workers"]) == config.workers
    assert defaults["--rate-limit"] == f"{config.rate_limit.times}/{config.rate_limit.seconds:g}"
    assert defaults["--port"] == "8080"
    for flag in ("--no-debug-login", "--no-trusted-client", "--no-admin", "--access-log"):
        assert flag in text
    assert "--cors-origin" in text
    assert "--emulate-delete-loss" in text


def _parse(*argv: str) -> Any:
    return cli.build_parser().parse_args(["serve", *argv])


def test_exposure_flags_map_to_the_server_config(monkeypatch):
    monkeypatch.delenv("INFERENCE_CORS_ORIGINS", raising=False)
    assert cli._exposure(_parse()) == {"cors_origins": ()}
    changes = cli._exposure(
        _parse(
            "--cors-origin",
            "http://a.test",
            "--cors-origin",
            "http://b.test",
            "--no-debug-login",
            "--no-trusted-client",
            "--no-admin",
            "--emulate-delete-loss",
        )
    )
    config = ServerConfig(**changes)
    assert config.cors_origins == ("http://a.test", "http://b.test")
    assert (config.allow_debug_auth, config.trusted_client_keys, config.admin_routes) == (
        False,
        (),
        False,
    )
    assert config.emulate_delete_loss is True


def test_cors_origins_come_from_the_environment_unless_a_flag_is_given(monkeypatch):
    monkeypatch.setenv("INFERENCE_CORS_ORIGINS", "http://a.test, http://b.test,")
    assert cli._exposure(_parse())["cors_origins"] == ("http://a.test", "http://b.test")
    flagged = cli._exposure(_parse("--cors-origin", "http://c.test"))
    assert flagged["cors_origins"] == ("http://c.test",)


@pytest.mark.parametrize(
    ("host", "flags", "warned"),
    [
        ("127.0.0.1", [], False),
        ("localhost", [], False),
        ("::1", [], False),
        ("0.0.0.0", [], True),
        ("192.168.1.20", ["--no-debug-login"], True),
        ("example.test", [], True),
        ("0.0.0.0", ["--no-debug-login", "--no-trusted-client", "--no-admin"], False),
    ],
)
def test_serve_warns_when_it_listens_beyond_loopback_with_logins_or_admin_on(
    monkeypatch, capsys, host, flags, warned
):
    """In-process, with the server and the port probe replaced: nothing binds `host`."""
    ran: dict[str, Any] = {}

    class Probe:
        def close(self) -> None:
            pass

    import openassistant_server

    monkeypatch.setattr(socket, "create_server", lambda address: Probe())
    monkeypatch.setattr(openassistant_server, "run", lambda **kwargs: ran.update(kwargs))
    assert cli.main(["serve", "--host", host, *flags]) == 0
    err = capsys.readouterr().err
    assert ("openassistant: warning:" in err) is warned, err
    if warned:
        assert "reachable from other machines" in err
        assert ("log in as any user" in err) is ("--no-debug-login" not in flags)
    assert ran["host"] == host
    assert ran["access_log"] is False


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, "the server never listened"
        time.sleep(0.05)


@pytest.mark.slow
def test_serve_flags_reach_the_running_server(live):
    port = free_port()
    served = live(
        "serve",
        "--port",
        str(port),
        "--no-debug-login",
        "--no-trusted-client",
        "--no-admin",
        "--cors-origin",
        "http://app.test",
        "--access-log",
    )
    served.wait_for(f"http://127.0.0.1:{port}")
    _wait_listening(port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as c:
        login = c.get("/auth/callback/debug", params={"code": "x"})
        assert (login.status_code, login.json()) == (403, {"detail": "Debug auth is not allowed"})
        assert c.get("/_local/state").status_code == 404
        assert c.post("/auth/trusted", headers={"TrustedClient": TRUSTED}).status_code == 401
        app = c.get("/auth/providers", headers={"Origin": "http://app.test"})
        assert app.headers["access-control-allow-origin"] == "http://app.test"
        other = c.get("/auth/providers", headers={"Origin": "http://other.test"})
        assert "access-control-allow-origin" not in other.headers
    served.wait_for('"GET /auth/providers HTTP/1.1" 200')  # the access log, on stdout
    served.kill()


@pytest.mark.slow
def test_serve_has_no_access_log_by_default(live):
    port = free_port()
    served = live("serve", "--port", str(port))
    served.wait_for(f"http://127.0.0.1:{port}")
    _wait_listening(port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as c:
        assert c.get("/auth/providers").status_code == 200
        # The defaults: debug login, trusted client and admin routes on, no CORS.
        assert c.get("/auth/callback/debug", params={"code": "x"}).status_code == 200
        assert c.get("/_local/state").json()["delete_loss"]["emulated"] is False
        plain = c.get("/auth/providers", headers={"Origin": "http://app.test"})
        assert "access-control-allow-origin" not in plain.headers
    time.sleep(0.5)  # an access line would be written at once
    served.proc.send_signal(2)
    _, out, _ = served.finish()
    assert "GET /auth/providers" not in out
