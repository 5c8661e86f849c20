"""The ``openassistant`` command line: chat with a model, list the models, run the local server.

``openassistant chat "Hello"`` streams one reply; ``openassistant chat`` alone is an interactive
conversation; ``--local`` talks to a local server started in-process (docs/cli.md). Exit status: 0 ok, 1 API error, 2 usage, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import attrs
import httpx

from ._config import DEFAULT_SAMPLING, NOT_GIVEN
from ._events import ErrorEvent, Event, MessageEvent, PendingEvent, TokenEvent, UnknownEvent
from ._exceptions import (
    APIConnectionError,
    GenerationError,
    MissingCredentialsError,
    OpenAssistantError,
    UnprocessableEntityError,
)
from ._logging import scrub
from ._models import DEFAULT_MODEL, Message, ModelConfig, SamplingParameters
from ._sync import Chat, Client
from ._version import __version__

__all__ = ["main"]

PROG = "openassistant"
SERVER_HINT = "this needs the local server: pip install 'openassistant-sdk[server]'"
NO_CREDENTIALS = {
    "website": "no website session: pass --session-token or set OPENASSISTANT_SESSION_TOKEN",
    "inference": "no inference server credentials: pass --token or --debug-user, "
    "or set OPENASSISTANT_TOKEN or OPENASSISTANT_DEBUG_USER",
}
SAMPLING_FIELDS = tuple(field.name for field in attrs.fields(SamplingParameters))
_SECRET_VARIABLES = (
    "OPENASSISTANT_TOKEN",
    "OPENASSISTANT_SESSION_TOKEN",
    "OPENASSISTANT_BACKEND_API_KEY",
)
_SECRETS: list[str] = []  # the secrets given as flags, kept out of every message


class CLIError(Exception):
    """A failure reported as one line on stderr with its exit status (2: usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _UnknownModelError(OpenAssistantError):
    """The server's 422 for an unknown model, with the names it serves."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not usage plus error."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')", status=2)


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


# -- output ---------------------------------------------------------------------------------------


#: SGR codes of the coloured parts: message kinds on stderr, the prompt, the banner.
_STYLES = {"error": "1;31", "warning": "1;33", "note": "2", "prompt": "1;32", "banner": "2"}
PLACEHOLDER_MODELS = {
    "_lorem": "a placeholder model: lorem ipsum text",
    "echo": "a placeholder model: it repeats your prompt",
}


def _colour(stream: Any) -> bool:
    """Whether to colour `stream`: a terminal, and no ``NO_COLOR`` (no-color.org) or dumb TERM."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _paint(text: str, style: str, stream: Any) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if _colour(stream) else text


def _clean(message: object) -> str:
    """Return `message` as one line without secrets."""
    secrets = [os.environ.get(name, "") for name in _SECRET_VARIABLES] + _SECRETS
    return " ".join(scrub(str(message), secrets).split())


def _say(kind: str, message: object) -> None:
    """Write ``openassistant: <kind>: <message>`` as one line on stderr, without secrets."""
    prefix = _paint(f"{PROG}: {kind}:", kind, sys.stderr)
    sys.stderr.write(f"{prefix} {_clean(message)}\n")
    sys.stderr.flush()


def _show_warning(message: Warning | str, category: type[Warning], *_args: Any, **_kw: Any) -> None:
    _say("warning", message)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _print_json(obj: dict[str, Any]) -> None:
    _write(json.dumps(obj, ensure_ascii=False) + "\n")


def _message_json(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    fields = ("id", "chat_id", "parent_id", "role", "state", "content")
    return {name: getattr(message, name) for name in fields}


def _event_json(event: Event) -> dict[str, Any]:
    """Return the ``--json`` line of an event: ``{"type": ..., <its fields>}``."""
    if isinstance(event, TokenEvent):
        return {"type": "token", "text": event.text}
    if isinstance(event, PendingEvent):
        return {"type": "pending", "queue_position": event.queue_position, "queue_size": event.queue_size}  # fmt: skip
    if isinstance(event, MessageEvent):
        return {"type": "message", "message": _message_json(event.message)}
    if isinstance(event, ErrorEvent):
        return {"type": "error", "error": event.error, "message": _message_json(event.message)}
    if isinstance(event, UnknownEvent):
        return {"type": "unknown", "event_type": event.event_type, "data": dict(event.data)}
    return {"type": "plugin_intermediate", **attrs.asdict(event)}


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
        from .testing import LocalServer

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


# -- chat -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C for a moment (deleting the chat must not be interrupted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Session:
    """A conversation on one chat, printed as text or JSON lines; the chat is deleted at exit."""

    def __init__(self, client: Client, args: argparse.Namespace) -> None:
        self._client = client
        self._json: bool = args.json
        self._system_prompt: str | None = args.system_prompt
        self._chat: Chat | None = None
        self._used = False
        self._open_line = False  # reply text was written without its final newline
        self._status = False  # a queue status is shown on stderr, to be rewritten in place

    def __enter__(self) -> _Session:
        self._chat = self._client.create_chat()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self._chat is None:
            return
        try:
            with _sigint_ignored():
                self._chat.delete()
        except OpenAssistantError as err:
            if exc_type is None:
                raise
            _say("warning", f"could not delete chat {self._chat.id}: {err}")

    def _ready_chat(self) -> Chat:
        """Return the chat, replaced by a new one if an earlier turn left no reply in it.

        The first prompter message of a chat must have no parent and a second one is refused
        (docs/protocol.md 5.2), so a chat whose first reply failed or was cancelled is useless.
        """
        assert self._chat is not None
        if self._used and self._chat.last_message_id is None:
            old, self._chat = self._chat, None
            old.delete()
            self._chat = self._client.create_chat()
        self._used = True
        return self._chat

    def turn(self, prompt: str) -> None:
        """Send one prompt and print its reply as it streams.

        Raises:
            OpenAssistantError: The reply failed (``GenerationError`` for an in-stream error).
            KeyboardInterrupt: Ctrl-C; the reply's stream is closed.
        """
        reported = False
        try:
            chat = self._ready_chat()
            with chat.events(prompt, system_prompt=self._system_prompt) as events:
                for event in events:
                    if self._json:
                        _print_json(_event_json(event))
                    if isinstance(event, ErrorEvent):
                        reported = True
                        raise GenerationError(event.error, event.message)
                    if not self._json:
                        self._show(event)
        except OpenAssistantError as err:
            explained = self._explain(err)
            if self._json and not reported:
                _print_json({"type": "error", "error": str(explained), "message": None})
            if explained is err:
                raise
            raise explained from err
        finally:
            self._clear_status()
            if self._open_line:
                self._open_line = False
                _write("\n")

    def _explain(self, err: OpenAssistantError) -> OpenAssistantError:
        """Add the available model names to the server's 422 for an unknown model."""
        model = getattr(self._client.options, "model", None)
        if not isinstance(err, UnprocessableEntityError) or f"Model {model} " not in str(err):
            return err
        if "available models" in str(err):  # the local server names them itself
            return err
        try:
            names = [config.name for config in self._client.models()]
        except OpenAssistantError:
            return err
        return _UnknownModelError(f"{err} (available models: {', '.join(names)})")

    def banner(self) -> None:
        """Write the interactive banner on stderr: where, which model, how to leave."""
        model = str(getattr(self._client.options, "model", ""))
        about = PLACEHOLDER_MODELS.get(model, "")
        if not about:
            with contextlib.suppress(OpenAssistantError):
                found = [c for c in self._client.models() if c.name == model]
                about = found[0].description if found else ""
        model_text = f"{model} ({_clean(about)})" if about else model
        where = f"{self._client.base_url} ({self._client.api} API)"
        text = f"{PROG} chat: {where}, model {model_text}; Ctrl-D leaves, Ctrl-C cancels a reply"
        sys.stderr.write(_paint(text, "banner", sys.stderr) + "\n")
        sys.stderr.flush()

    def _show_status(self, event: PendingEvent) -> None:
        """Rewrite the queue status in place (carriage return, cleared line)."""
        if event.queue_position > 0:
            text = f"queued: position {event.queue_position} of {event.queue_size}"
        else:  # taken by a worker, or no longer in the queue: no position to show
            text = "waiting for the server to start the reply"
        sys.stderr.write("\r\x1b[K" + _paint(f"{PROG}: note: {text}", "note", sys.stderr))
        sys.stderr.flush()
        self._status = True

    def _clear_status(self) -> None:
        if self._status:
            self._status = False
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def _show(self, event: Event) -> None:
        if not isinstance(event, PendingEvent):
            self._clear_status()
        if isinstance(event, TokenEvent) and event.text:
            self._open_line = True  # before writing: Ctrl-C may land right after the write
            _write(event.text)
            self._open_line = not event.text.endswith("\n")
        elif isinstance(event, MessageEvent):
            self._open_line = False
            _write("\n")
        elif isinstance(event, PendingEvent) and sys.stderr.isatty():
            self._show_status(event)

    def interact(self) -> int:
        """Read prompts until EOF (status 0, or 1 if a turn failed) or Ctrl-C at the prompt (130)."""
        tty = sys.stdin.isatty()
        if tty:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        failed = False
        while True:
            try:
                line = _read_line(tty)
            except KeyboardInterrupt:
                sys.stderr.write("\n")
                return 130
            if line is None:
                return 1 if failed else 0
            if not line.strip():
                continue
            try:
                self.turn(line)
            except KeyboardInterrupt:
                _say("note", "reply cancelled")
            except OpenAssistantError as err:
                failed = True
                _say("error", err)


def _read_line(tty: bool) -> str | None:
    """Return the next prompt, or None at EOF; on a terminal, show ``> `` on stderr."""
    if tty:
        sys.stderr.write(_paint(">", "prompt", sys.stderr) + " ")
        sys.stderr.flush()
        try:
            return input()
        except EOFError:
            sys.stderr.write("\n")
            return None
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


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


def _rate_limit(text: str) -> Any:
    from openassistant_server import RateLimit

    if text.strip().lower() in ("off", "none", "0"):
        return None
    times, _, seconds = text.partition("/")
    try:
        return RateLimit(times=int(times), seconds=float(seconds or 660))
    except ValueError:
        raise CLIError(f"--rate-limit must be N/SECONDS or off, not {text!r}", status=2) from None


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


def _exposure(args: argparse.Namespace) -> dict[str, Any]:
    """Return the ServerConfig fields of the CORS, login, admin and delete-loss flags."""
    origins = args.cors_origin
    if origins is None:  # the real server's setting: a comma-separated list
        origins = os.environ.get("INFERENCE_CORS_ORIGINS", "").split(",")
    changes: dict[str, Any] = {"cors_origins": tuple(o.strip() for o in origins if o.strip())}
    if args.no_debug_login:
        changes["allow_debug_auth"] = False
    if args.no_trusted_client:
        changes["trusted_client_keys"] = ()
    if args.no_admin:
        changes["admin_routes"] = False
    if args.emulate_delete_loss:
        changes["emulate_delete_loss"] = True
    return changes


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may well be reachable


def _warn_if_exposed(host: str, url: str, config: Any) -> None:
    """Warn on stderr when a non-loopback address serves what lets anyone act as anyone."""
    risks = [
        (config.allow_debug_auth, "log in as any user (--no-debug-login)"),
        (
            bool(config.trusted_client_keys),
            "act as any user with a TrustedClient key (--no-trusted-client)",
        ),
        (config.admin_routes, "read its state and inject faults (--no-admin)"),
    ]
    on = [text for enabled, text in risks if enabled]
    if on and not _is_loopback(host):
        _say(
            "warning",
            f"{url} is reachable from other machines, and anyone who reaches it can {'; '.join(on)}",
        )


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
