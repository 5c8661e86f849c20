"""The ``openassistant`` command line: chat with a model, list the models, run the local server.

``openassistant chat "Hello"`` streams one reply; ``openassistant chat`` alone is an interactive
conversation; ``--local`` talks to a local server started in-process (docs/cli.md). Exit status: 0 ok, 1 API error, 2 usage, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from openassistant_sdk._config import DEFAULT_SAMPLING, NOT_GIVEN
from openassistant_sdk._exceptions import (
    APIConnectionError,
    MissingCredentialsError,
    OpenAssistantError,
)
from openassistant_sdk._models import DEFAULT_MODEL, ModelConfig, SamplingParameters
from openassistant_sdk._sync import Client
from openassistant_sdk._version import __version__

from ._output import (
    _SECRETS,
    NO_CREDENTIALS,
    PROG,
    SAMPLING_FIELDS,
    SERVER_HINT,
    CLIError,
    _Parser,
    _print_json,
    _show_warning,
    _write,
)
from ._output import (
    _say as _say,
)
from ._serve import (
    _exposure as _exposure,
)
from ._serve import (
    _rate_limit,
    _warn_if_exposed,
)
from ._session import (
    _Session as _Session,
)

__all__ = ["main"]

# -- arguments ------------------------------------------------------------------------------------


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, not {text!r}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}")
    return value


# (flags, argparse keywords) of each option group; the environment variable a flag overrides
# is named in its help, and read by the Client itself (docs/configuration.md).
# fmt: off
_CONNECTION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--local", {"action": "store_true", "help": "start a local server in-process and use it"}),
    ("--base-url", {"metavar": "URL", "help": "the server root (OPENASSISTANT_BASE_URL; default https://open-assistant.io)"}),
    ("--api", {"choices": ("website", "inference"), "help": "the API the server speaks (OPENASSISTANT_API)"}),
    ("--session-token", {"metavar": "TOKEN", "help": "website session token (OPENASSISTANT_SESSION_TOKEN)"}),
    ("--token", {"metavar": "TOKEN", "help": "inference server bearer token (OPENASSISTANT_TOKEN)"}),
    ("--debug-user", {"metavar": "USER", "help": "inference server debug login as this user (OPENASSISTANT_DEBUG_USER)"}),
    ("--timeout", {"type": _seconds, "metavar": "SECONDS", "help": "seconds for each request (default 30)"}),
    ("--max-retries", {"type": _count, "metavar": "N", "help": "retries after a failed request (default 2)"}),
    ("--json", {"action": "store_true", "help": "print one JSON object per line, for scripts"}),
)
_GENERATION: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--model", {"metavar": "NAME", "help": f"model config name (OPENASSISTANT_MODEL; default {DEFAULT_MODEL})"}),
    ("--preset", {"metavar": "NAME", "help": "start from a server sampling preset (k50, k50-Creative, ...)"}),
    ("--temperature", {"type": float, "metavar": "T", "help": "sampling temperature, > 0"}),
    ("--top-k", {"type": int, "metavar": "K", "help": "sample from the K likeliest tokens, >= 1"}),
    ("--top-p", {"type": float, "metavar": "P", "help": "nucleus sampling, in (0, 1]"}),
    ("--typical-p", {"type": float, "metavar": "P", "help": "typical sampling, in (0, 1]"}),
    ("--repetition-penalty", {"type": float, "metavar": "R", "help": "penalty for repeated tokens, > 0"}),
    ("--max-new-tokens", {"type": int, "metavar": "N", "help": "length limit of the reply, >= 1"}),
    ("--system-prompt", {"metavar": "TEXT", "help": "a system prompt for the model"}),
    ("--stall-timeout", {"type": _seconds, "metavar": "SECONDS", "help": "seconds a reply may go without a token (default 120)"}),
)
_SERVE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--host", {"default": "127.0.0.1", "help": "interface to listen on; any other than loopback is reachable from other machines (default: 127.0.0.1)"}),
    ("--port", {"type": _port, "default": 8080, "help": "port to listen on (default: 8080)"}),
    ("--token-delay", {"type": float, "metavar": "SECONDS", "help": "seconds between generated tokens (default: 0.05)"}),
    ("--workers", {"type": _count, "metavar": "N", "help": "simulated workers per model; 0: messages stay queued (default: 4)"}),
    ("--rate-limit", {"metavar": "N/SECONDS|off", "help": "assistant messages per user and window (default: 20/660)"}),
    ("--cors-origin", {"action": "append", "metavar": "ORIGIN", "help": "let web pages from ORIGIN call the API with credentials; repeatable; * for any (INFERENCE_CORS_ORIGINS, comma-separated; default: none)"}),
    ("--no-debug-login", {"action": "store_true", "help": "turn off the debug login, which logs anyone in as any user (default: on)"}),
    ("--no-trusted-client", {"action": "store_true", "help": "accept no TrustedClient key (default: the well-known key 6969)"}),
    ("--no-admin", {"action": "store_true", "help": "turn off the /_local/... fault and introspection routes (default: on)"}),
    ("--emulate-delete-loss", {"action": "store_true", "help": "lose the next queued message after a chat is deleted mid-reply, as the real server does (default: off)"}),
    ("--access-log", {"action": "store_true", "help": "log one line per request on stdout (default: off)"}),
)
SERVE_DESCRIPTION = (
    "Run the local Open Assistant server (the inference API and the website API on one port) "
    "in the foreground until Ctrl-C. State lives in memory; the built-in models need no "
    "weights. It is made for your own machine: by default anyone who can reach it can log in "
    "as any user (debug login, TrustedClient key 6969) and inject faults (/_local/...); it "
    "warns when it listens beyond loopback with any of them on."
)
_BACKEND: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--backend", {"metavar": "URL", "help": "an OpenAI-compatible model server's URL ending in /v1 serves the models (OPENASSISTANT_BACKEND)"}),
    ("--backend-api-key", {"metavar": "KEY", "help": "the backend's API key (OPENASSISTANT_BACKEND_API_KEY)"}),
    ("--alias", {"action": "append", "metavar": "OA_NAME=BACKEND_MODEL", "help": "serve a model config name with a backend model (repeatable)"}),
)
# fmt: on


def _backend_config(args: argparse.Namespace) -> dict[str, Any]:
    """Return the local server's backend fields from the flags, then the environment."""
    backend = args.backend or os.environ.get("OPENASSISTANT_BACKEND") or None
    key = args.backend_api_key or os.environ.get("OPENASSISTANT_BACKEND_API_KEY") or None
    aliases = {}
    for alias in args.alias or ():
        name, sep, model = alias.partition("=")
        if not (sep and name.strip() and model.strip()):
            raise CLIError(f"--alias must be OA_NAME=BACKEND_MODEL, not {alias!r}", status=2)
        aliases[name.strip()] = model.strip()
    if backend is None:
        if aliases or args.backend_api_key:
            raise CLIError("--alias and --backend-api-key need --backend", status=2)
        return {}
    return {"backend": backend, "backend_api_key": key, "aliases": aliases}


def _add(group: Any, options: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    for flag, keywords in options:
        group.add_argument(flag, **keywords)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``openassistant`` command and its subcommands."""
    parser = _Parser(prog=PROG, description="Chat with Open Assistant models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _Parser(add_help=False)
    _add(
        common.add_argument_group("connection (flags win over OPENASSISTANT_* variables)"),
        _CONNECTION,
    )

    chat = commands.add_parser(
        "chat",
        parents=[common],
        help="stream the reply to a prompt, or chat interactively",
        description="Stream the reply to PROMPT. Without PROMPT, chat: one prompt per line; "
        "Ctrl-C cancels a reply, Ctrl-C or Ctrl-D at the prompt ends the conversation.",
    )
    chat.add_argument(
        "prompt", nargs="?", help="the message to send (omit it to chat interactively)"
    )
    _add(chat.add_argument_group("generation"), _GENERATION)
    _add(chat.add_argument_group("local model server (with --local)"), _BACKEND)
    chat.set_defaults(run=_run_chat)
    models = commands.add_parser(
        "models", parents=[common], help="list the model configs and their presets"
    )
    _add(models.add_argument_group("local model server (with --local)"), _BACKEND)
    models.set_defaults(run=_run_models)
    serve = commands.add_parser(
        "serve", help="run the local server in the foreground", description=SERVE_DESCRIPTION
    )
    _add(serve, _SERVE)
    _add(serve.add_argument_group("real models"), _BACKEND)
    serve.set_defaults(run=_run_serve)
    return parser


# -- connecting -----------------------------------------------------------------------------------


def _sampling(args: argparse.Namespace) -> SamplingParameters | None:
    """Return the sampling flags on top of ``--preset`` (or k50), or None if none was given."""
    overrides = {name: getattr(args, name) for name in SAMPLING_FIELDS}
    overrides = {name: value for name, value in overrides.items() if value is not None}
    if args.preset is None and not overrides:
        return None
    try:
        base = SamplingParameters.preset(args.preset) if args.preset else DEFAULT_SAMPLING
        return base.replace(**overrides)
    except ValueError as err:
        raise CLIError(str(err), status=2) from None


@contextlib.contextmanager
def _local_server(args: argparse.Namespace) -> Iterator[str | None]:
    """Yield the URL of a local server started for ``--local``, or None without it."""
    if not args.local:
        if args.backend or args.alias or args.backend_api_key:
            raise CLIError("--backend, --backend-api-key and --alias need --local", status=2)
        yield None
        return
    if args.base_url:
        raise CLIError("--local and --base-url exclude each other", status=2)
    backend = _backend_config(args)
    try:
        from openassistant_sdk.testing import LocalServer

        server = LocalServer(**backend)  # imports the server, and with it the [server] extra
    except ImportError:
        raise CLIError(SERVER_HINT, status=2) from None
    except ValueError as err:
        raise CLIError(str(err), status=2) from None
    with server:
        if backend:
            _say_backend_model(server.url, getattr(args, "model", None))
        yield server.url


def _say_backend_model(url: str, model: str | None) -> None:
    """Name, on stderr, the backend model that serves the chosen model config."""
    name = model or os.environ.get("OPENASSISTANT_MODEL") or DEFAULT_MODEL
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
        configs = http.get("/configs/model_configs").json()
    description = next((c["description"] for c in configs if c["name"] == name), "")
    if description:  # "served by MODEL at URL": the URL is the one just given
        _say("note", f"{name} is {description.split(' at ')[0]}")


def _auth(args: argparse.Namespace, local_url: str | None) -> dict[str, Any]:
    """Return the Client's address and credentials: the flags, or the local server's."""
    if local_url is None:  # what is None here, the Client takes from the environment
        return {
            "base_url": args.base_url,
            "api": args.api,
            "session_token": args.session_token,
            "token": args.token,
            "debug_user": args.debug_user,
        }
    if args.api == "website":  # the local server takes any session token
        return {"base_url": local_url, "api": "website", "session_token": "local-cli"}
    return {"base_url": local_url, "api": "inference", "debug_user": args.debug_user or "cli"}


@contextlib.contextmanager
def _connect(args: argparse.Namespace) -> Iterator[Client]:
    """Yield a client configured by the flags, then the environment (flags win)."""
    sampling = _sampling(args) if args.command == "chat" else None
    model, stall = getattr(args, "model", None), getattr(args, "stall_timeout", None)
    with _local_server(args) as local_url:
        if model is None:
            model = os.environ.get("OPENASSISTANT_MODEL") or None
        try:
            client = Client(
                **_auth(args, local_url),
                model=model,
                sampling=sampling,
                timeout=NOT_GIVEN if args.timeout is None else args.timeout,
                max_retries=NOT_GIVEN if args.max_retries is None else args.max_retries,
                stall_timeout=NOT_GIVEN if stall is None else stall,
            )
        except ValueError as err:
            raise CLIError(str(err), status=2) from None
        with client:
            try:
                yield client
            except APIConnectionError as err:
                raise CLIError(f"cannot reach {client.base_url}: {err}") from err
            except MissingCredentialsError:
                raise CLIError(NO_CREDENTIALS[client.api], status=2) from None
            finally:
                if client._sender.janitor.waiting:  # closing waits for them (docs/chats.md)
                    _say("note", "waiting for a cancelled reply to finish, to delete its chat")


def _run_chat(args: argparse.Namespace) -> int:
    """``openassistant chat [PROMPT]``."""
    with _connect(args) as client, _Session(client, args) as session:
        if args.prompt is None:
            if sys.stdin.isatty() and not args.json:
                session.banner()
            return session.interact()
        session.turn(args.prompt)
        return 0


# -- models and serve -----------------------------------------------------------------------------


def _model_json(config: ModelConfig) -> dict[str, Any]:
    presets = [
        {"name": p.name, "description": p.description, "sampling_parameters": p.sampling_parameters.to_json()}
        for p in config.presets
    ]  # fmt: skip
    return {"name": config.name, "description": config.description, "presets": presets}


def _run_models(args: argparse.Namespace) -> int:
    """``openassistant models``: a table of model configs and their presets."""
    with _connect(args) as client:
        configs = client.models()
    if args.json:
        for config in configs:
            _print_json(_model_json(config))
        return 0
    rows = [("MODEL", "PRESETS")]
    rows += [(c.name, ", ".join(p.name for p in c.presets) or "-") for c in configs]
    width = max(len(name) for name, _ in rows)
    _write("".join(f"{name:<{width}}  {presets}\n" for name, presets in rows))
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    """``openassistant serve``: the local server in the foreground until Ctrl-C."""
    try:
        import openassistant_server as server
    except ImportError:
        raise CLIError(SERVER_HINT, status=2) from None
    changes = {"token_delay": args.token_delay, "workers": args.workers}
    changes = {name: value for name, value in changes.items() if value is not None}
    changes.update(_backend_config(args))
    if args.rate_limit is not None:
        changes["rate_limit"] = _rate_limit(args.rate_limit)
    changes.update(_exposure(args))
    try:
        config = server.ServerConfig(**changes)
    except ValueError as err:
        raise CLIError(str(err), status=2) from None
    url = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}"
    try:  # uvicorn exits on a busy port with its own log line: say it our way first
        socket.create_server((args.host, args.port)).close()
    except OSError as err:
        raise CLIError(f"cannot listen on {url}: {err.strerror or err}") from None
    _warn_if_exposed(args.host, url, config)
    _write(f"Serving the Open Assistant API (inference and website) on {url}; Ctrl-C stops it\n")
    if config.backend:
        _write(f"Models from the backend at {config.backend} (GET {url}/configs/model_configs)\n")
    server.run(host=args.host, port=args.port, config=config, access_log=args.access_log)
    return 0


# -- entry point ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``openassistant`` command line and return its exit status.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        0 on success, 1 for an SDK or API error, 2 for a usage error, 130 after Ctrl-C.
    """
    try:
        args = build_parser().parse_args(argv)
    except CLIError as err:
        _say("error", err)
        return err.status
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    _SECRETS[:] = [s for s in (getattr(args, "token", None), getattr(args, "session_token", None), getattr(args, "backend_api_key", None)) if s]  # fmt: skip
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # a reply never dies on the terminal's encoding
    run: Callable[[argparse.Namespace], int] = args.run
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return run(args)
        except CLIError as err:
            _say("error", err)
            return err.status
        except OpenAssistantError as err:
            _say("error", err)
            return 1
        except KeyboardInterrupt:
            sys.stderr.write("\n")
            return 130
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's exit quiet too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except Exception as err:
            if os.environ.get("OPENASSISTANT_LOG", "").lower() == "debug":
                raise
            hint = "(OPENASSISTANT_LOG=debug shows the traceback)"
            _say("error", f"unexpected {type(err).__name__}: {err} {hint}")
            return 1
