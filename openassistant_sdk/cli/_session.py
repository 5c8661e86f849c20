"""``openassistant chat``: one reply, or an interactive conversation, on a terminal or a pipe."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from openassistant_sdk._events import (
    ErrorEvent,
    Event,
    MessageEvent,
    PendingEvent,
    TokenEvent,
)
from openassistant_sdk._exceptions import (
    GenerationError,
    OpenAssistantError,
    UnprocessableEntityError,
)
from openassistant_sdk._sync import Chat, Client

from ._output import (
    PLACEHOLDER_MODELS,
    PROG,
    _clean,
    _event_json,
    _paint,
    _print_json,
    _say,
    _UnknownModelError,
    _write,
)

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
