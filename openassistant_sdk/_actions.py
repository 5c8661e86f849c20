"""What a reply asks of a facade: the actions of ``ReplyFlow``, and what to release after.

Each action is a plain value; the facades perform them (see ``_flow.py`` for the protocol).
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._config import CallOptions
from ._models import ChatInfo, Message
from ._requests import RequestSpec, Routes

__all__ = [
    "Action",
    "Call",
    "Cleanup",
    "CloseStream",
    "Finished",
    "OpenStream",
    "PendingDeletion",
    "Read",
    "Sleep",
    "State",
]


class State(enum.Enum):
    """Where a reply stands."""

    IDLE = "idle"  #: made; nothing sent
    CREATING_CHAT = "creating chat"  #: a one-shot reply creates its own chat
    POSTING_PROMPT = "posting prompt"  #: the prompter message is on its way
    POSTING_REPLY = "posting reply"  #: the assistant message is on its way
    OPENING = "opening"  #: the event stream is being opened (maybe after a wait)
    STREAMING = "streaming"  #: reading events
    CHECKING = "checking"  #: streaming, and fetching the message: did it die in the queue?
    EXPIRING = "expiring"  #: a time limit passed: fetching the message for a last look
    RECOVERING = "recovering"  #: the stream ended early: fetching the message
    DONE = "done"  #: the final events are queued


# -- actions -------------------------------------------------------------------------------------


@attrs.frozen
class Call:
    """Send ``spec`` and read its JSON answer.

    Attributes:
        spec: The request.
        shield: Finish the request even if the caller is interrupted meanwhile (creating a
            chat: cut short, the chat would exist on the server with nobody knowing its id).
    """

    spec: RequestSpec
    shield: bool = False
    options: CallOptions | None = None


@attrs.frozen
class OpenStream:
    """Open the event stream ``spec`` with ``read_timeout`` as its HTTP read timeout."""

    spec: RequestSpec
    read_timeout: float | None
    options: CallOptions | None = None


@attrs.frozen
class Read:
    """Read one chunk of the open stream.

    Attributes:
        timeout: Seconds the read may take (``None``: no limit).
        timed: Whether the facade must time the read itself; when False, the transport's
            read timeout (set by ``OpenStream``) already bounds it.
    """

    timeout: float | None
    timed: bool


@attrs.frozen
class CloseStream:
    """Close the open event stream (its connection is not reused)."""


@attrs.frozen
class Sleep:
    """Wait ``seconds`` before the next action."""

    seconds: float


@attrs.frozen
class Finished:
    """The reply is over: every event is in ``events``."""


Action = Call | OpenStream | Read | CloseStream | Sleep | Finished

CLOSE = CloseStream()
FINISHED = Finished()
UNTIMED_READ = Read(None, False)


# -- cleanup -------------------------------------------------------------------------------------


@attrs.frozen
class PendingDeletion:
    """A chat to delete once its reply has finished (never while it is generating).

    Attributes:
        chat_id: The chat.
        message_id: Its unfinished assistant message, when known; otherwise the whole chat
            is looked at.
    """

    chat_id: str
    message_id: str | None = None

    def check(self, routes: Routes) -> RequestSpec:
        """Return the request that tells whether the reply has finished."""
        if self.message_id is not None:
            return routes.get_message(self.chat_id, self.message_id)
        return routes.get_chat(self.chat_id)

    def finished(self, body: Any) -> bool:
        """Tell from the answer to ``check()`` whether the chat may be deleted now."""
        if self.message_id is not None:
            return Message.from_json(body).state not in ("pending", "in_progress")
        chat = ChatInfo.from_json(body)
        return not any(m.state in ("pending", "in_progress") for m in chat.messages)


@attrs.frozen
class Cleanup:
    """What a reply leaves to release when it stops.

    Attributes:
        drain: Read the rest of the stream briefly so its connection can be reused (only
            after a normal end).
        delete: A chat the reply owns, to delete now.
        defer: A chat the reply owns whose reply may still be generating: delete it later.
    """

    drain: bool
    delete: str | None = None
    defer: PendingDeletion | None = None
