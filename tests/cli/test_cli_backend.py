"""The command line with a real-model backend: `chat --local --backend`, `serve --backend`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.openai_fake import FakeBackend

from .conftest import TIMEOUT, cli_env, free_port, run_cli

KEY = "sk-cli-secret-9876543210"


@pytest.fixture
def fake() -> Iterator[FakeBackend]:
    with FakeBackend() as backend:
        yield backend


def test_chat_local_backend_streams_the_backend_reply_and_names_its_model(
    fake: FakeBackend,
) -> None:
    result = run_cli("chat", "--local", "--backend", fake.url, "Hello")
    assert (result.returncode, result.stdout) == (0, "You said: Hello\n"), result.stderr
    assert result.stderr == ("openassistant: note: OA_SFT_Llama_30B_6 is served by tiny-chat\n")
    assert fake.requests[-1]["messages"] == [{"role": "user", "content": "Hello"}]


def test_chat_local_backend_from_the_environment_with_a_key_and_an_alias() -> None:
    with FakeBackend(api_key=KEY) as fake:
        env = {**cli_env(), "OPENASSISTANT_BACKEND": fake.url}
        env["OPENASSISTANT_BACKEND_API_KEY"] = KEY
        args = ("chat", "--local", "--alias", "OA_SFT_Llama_30B_6=other-model", "Hi")
        result = run_cli(*args, env=env)
        assert (result.returncode, result.stdout) == (0, "You said: Hi\n"), result.stderr
        assert "OA_SFT_Llama_30B_6 is served by other-model\n" in result.stderr
        assert fake.requests[-1]["model"] == "other-model"
        wrong = run_cli("chat", "--local", "--backend-api-key", "not-" + KEY, "Hi", env=env)
    assert wrong.returncode == 1
    assert "rejected the API key (HTTP 401" in wrong.stderr
    for text in (result.stdout, result.stderr, wrong.stdout, wrong.stderr):
        assert KEY not in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("chat", "--backend", "http://127.0.0.1:1/v1", "hi"), "need --local"),
        (("chat", "--local", "--alias", "x=y", "hi"), "need --backend"),
        (("chat", "--local", "--backend", "http://x/v1", "--alias", "nope", "hi"), "OA_NAME="),
        (("serve", "--backend", "127.0.0.1:11434/v1"), "http:// or https:// URL"),
    ],
)
def test_backend_flags_are_checked(args: tuple[str, ...], says: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("openassistant: error: ")
    assert says in result.stderr


def test_serve_backend_lists_the_backend_models_and_hides_the_key(fake: FakeBackend) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--backend", fake.url, "--backend-api-key", KEY]
    args += ["--alias", "OA_SFT_Llama2_70B_10=other-model"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "openassistant_sdk", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the server never listened"
            time.sleep(0.05)
        configs = httpx.get(f"{url}/configs/model_configs", trust_env=False).json()
        names = {c["name"]: c["description"] for c in configs}
        assert names["OA_SFT_Llama_30B_6"] == f"served by tiny-chat at {fake.url}"
        assert names["OA_SFT_Llama2_70B_10"] == f"served by other-model at {fake.url}"
        assert {"tiny-chat", "other-model", "_lorem", "echo"} <= set(names)
        chat = run_cli("chat", "--base-url", url, "--debug-user", "u", "served?")
        assert (chat.returncode, chat.stdout) == (0, "You said: served?\n"), chat.stderr
        assert fake.authorizations[-1] == f"Bearer {KEY}"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    assert f"Models from the backend at {fake.url}" in out.decode()
    assert KEY not in out.decode() + err.decode()
    assert "Traceback" not in err.decode()
