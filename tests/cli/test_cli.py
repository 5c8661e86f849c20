"""The ``openassistant`` command line, run as a subprocess against a real local server."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from openassistant_sdk import __version__

from .conftest import TIMEOUT, LocalServer, cli_env, connect, echo, free_port, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(LocalServer is None, reason="needs the local server (the [server] extra)"),
]

LONG_PROMPT = " ".join(f"word{i}" for i in range(40))  # 40 tokens: ~4 s on the slow server


def assert_one_error_line(stderr: str, *needles: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("openassistant: error: "), stderr
    for needle in needles:
        assert needle in lines[0], stderr


def test_prompt_streams_the_reply_to_stdout(server):
    result = run_cli("chat", *echo(server), "Hello there,  wide world")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Hello there,  wide world\n",
        "",
    )
    assert server.chats_alive() == 0


def test_json_prints_one_event_per_line_ending_with_the_message(server):
    result = run_cli("chat", *echo(server, "--json"), "one two three")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["type"] for e in events} <= {"pending", "token", "message"}
    tokens = "".join(e["text"] for e in events if e["type"] == "token")
    final = events[-1]
    assert final["type"] == "message"
    assert set(final["message"]) == {"id", "chat_id", "parent_id", "role", "state", "content"}
    assert final["message"]["role"] == "assistant"
    assert final["message"]["state"] == "complete"
    assert final["message"]["content"] == tokens == "one two three"


def test_sampling_flags_and_preset_reach_the_server(server):
    flags = ["--preset", "k50-Precise", "--temperature", "0.5", "--max-new-tokens", "2"]
    result = run_cli("chat", *echo(server, *flags), "one two three four")
    # The echo model honours max_new_tokens: only the first two words come back.
    assert (result.returncode, result.stdout) == (0, "one two\n"), result.stderr


def test_models_lists_configs_and_presets(server):
    table = run_cli("models", *connect(server))
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert {"_lorem", "echo"} <= set(rows)
    assert "k50" in rows["echo"].split(None, 1)[1].split(", ")

    as_json = run_cli("models", *connect(server, "--json"))
    configs = {c["name"]: c for c in map(json.loads, as_json.stdout.splitlines())}
    assert {"_lorem", "echo"} <= set(configs)
    k50 = next(p for p in configs["_lorem"]["presets"] if p["name"] == "k50")
    assert k50["sampling_parameters"]["top_k"] == 50


def test_interactive_conversation_through_a_pipe(server):
    result = run_cli("chat", *echo(server, "--json"), input="first prompt\n\nsecond one\n")
    assert result.returncode == 0, result.stderr
    messages = [
        e["message"] for e in map(json.loads, result.stdout.splitlines()) if e["type"] == "message"
    ]
    assert [m["content"] for m in messages] == ["first prompt", "second one"]
    assert messages[0]["chat_id"] == messages[1]["chat_id"]  # one chat, two turns
    assert server.chats_alive() == 0

    text = run_cli("chat", *echo(server), input="hello\nagain please\n")
    assert (text.returncode, text.stdout, text.stderr) == (0, "hello\nagain please\n", "")
    assert server.chats_alive() == 0


@pytest.mark.slow
@pytest.mark.parametrize("earlier_turn", [False, True], ids=["first-reply", "later-reply"])
def test_ctrl_c_cancels_the_streaming_reply_and_the_session_goes_on(
    slow_server, live, earlier_turn
):
    cli = live("chat", *echo(slow_server))
    if earlier_turn:
        cli.send("hi")
        cli.wait_for("hi\n")
    cli.send(LONG_PROMPT)
    cli.wait_for("word0 ")  # the reply is streaming: its first token is on stdout
    cli.proc.send_signal(signal.SIGINT)
    cli.send("still here")
    status, out, err = cli.finish()
    assert status == 0, err
    assert out.endswith("\nstill here\n")
    assert "word39" not in out  # the long reply was cut short
    assert "reply cancelled" in err
    assert "Traceback" not in err
    assert slow_server.chats_alive() == 0


def test_ctrl_c_at_the_prompt_exits_and_deletes_the_chat(server, live):
    cli = live("chat", *echo(server))
    cli.send("hello")
    cli.wait_for("hello\n")
    cli.wait_at_prompt()
    cli.proc.send_signal(signal.SIGINT)
    status = cli.proc.wait(timeout=TIMEOUT)
    assert status == 130
    assert server.chats_alive() == 0


def test_local_runs_the_whole_flow_in_process():
    lorem = run_cli("chat", "--local", "Hello")
    assert lorem.returncode == 0, lorem.stderr
    assert lorem.stdout.endswith("\n")
    assert len(lorem.stdout.split()) >= 4

    website = run_cli("chat", "--local", "--api", "website", "--model", "echo", input="ping pong\n")
    assert (website.returncode, website.stdout) == (0, "ping pong\n"), website.stderr


def test_local_without_the_server_extra_says_what_to_install():
    code = (
        "import sys; sys.modules['starlette'] = sys.modules['uvicorn'] = None; "
        "from openassistant_sdk.cli import main; sys.exit(main(['chat', '--local', 'hi']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "pip install 'openassistant-sdk[server]'")


def test_unreachable_server_is_one_line_and_status_1():
    port = free_port()
    result = run_cli(
        "chat", "--base-url", f"http://127.0.0.1:{port}", "--debug-user", "t", "--max-retries", "0", "hi"
    )  # fmt: skip
    assert result.returncode == 1
    assert_one_error_line(result.stderr, f"cannot reach http://127.0.0.1:{port}")
    assert result.stdout == ""


def test_invalid_temperature_is_a_usage_error(server):
    result = run_cli("chat", *echo(server, "--temperature", "-1"), "hi")
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "temperature must be > 0")
    assert server.chats_alive() == 0


def test_unknown_model_shows_the_servers_422_message(server):
    result = run_cli("chat", *connect(server, "--model", "no-such-model"), "hi")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "422", "no-such-model")
    assert server.chats_alive() == 0


def test_unknown_model_in_json_mode_ends_with_an_error_line(server):
    result = run_cli("chat", *connect(server, "--json", "--model", "nope"), input="a\nb\n")
    assert result.returncode == 1
    errors = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in errors] == [
        "error",
        "error",
    ]  # each turn failed, the session went on
    assert len(result.stderr.splitlines()) == 2
    assert server.chats_alive() == 0


def test_missing_credentials_name_the_flags(server):
    result = run_cli("chat", "--base-url", server.url, "--api", "inference", "hi")
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "--token or --debug-user")
    assert server.chats_alive() == 0


def test_secrets_are_never_printed(server):
    secret = "s3cr3t-token-value"
    result = run_cli("chat", "--base-url", server.url, "--token", secret, "--model", "echo", "hi")
    assert result.returncode == 1
    assert_one_error_line(result.stderr)
    assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["chat", "--bogus"], "unrecognized arguments: --bogus"),
        (["chat", "--top-k", "many", "hi"], "--top-k"),
        (["chat", "--local", "--base-url", "http://x", "hi"], "exclude each other"),
        (["chat", "--preset", "k51", "hi"], "unknown preset 'k51'"),
        ([], "required"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, needle)


def test_version_and_help():
    version = run_cli("--version")
    assert (version.returncode, version.stdout) == (0, f"openassistant {__version__}\n")
    for command in ("chat", "models", "serve"):
        assert run_cli(command, "--help").returncode == 0


def test_environment_configures_and_flags_win(server):
    env = cli_env() | {
        "OPENASSISTANT_BASE_URL": server.url,
        "OPENASSISTANT_API": "inference",
        "OPENASSISTANT_DEBUG_USER": "env-user",
        "OPENASSISTANT_MODEL": "echo",
    }
    from_env = run_cli("chat", "from the environment", env=env)
    assert (from_env.returncode, from_env.stdout) == (0, "from the environment\n"), from_env.stderr
    flag_wins = run_cli("chat", "--model", "no-such-model", "hi", env=env)
    assert flag_wins.returncode == 1
    assert "no-such-model" in flag_wins.stderr


@pytest.mark.slow
def test_serve_runs_the_server_until_ctrl_c(live):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    served = live("serve", "--port", str(port), "--token-delay", "0", "--workers", "2")
    served.wait_for(url)
    deadline = time.monotonic() + TIMEOUT
    while True:  # the URL is printed just before uvicorn binds the port
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline, "the server never listened"
        time.sleep(0.05)
    result = run_cli("chat", "--base-url", url, "--debug-user", "t", "--model", "echo", "served")
    assert (result.returncode, result.stdout) == (0, "served\n"), result.stderr
    served.proc.send_signal(signal.SIGINT)
    status, _, err = served.finish()
    assert status == 130
    assert "Traceback" not in err


def test_serve_on_a_busy_port_is_one_line_and_status_1():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        result = run_cli("serve", "--port", str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "cannot listen on http://127.0.0.1:")


def test_serve_rejects_a_bad_rate_limit():
    result = run_cli("serve", "--rate-limit", "lots")
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "--rate-limit must be N/SECONDS or off")
