"""A client's chats, with no I/O: creating one, deleting one now or later, paging through them.

Strategy
--------
Creating a chat is one request that must not be cut short: cut short, the chat would exist
on the server with nobody knowing its id. ``CreateFlow`` asks for it shielded; a facade
interrupted meanwhile (Ctrl-C held back until the end) then knows the chat, and deletes it.

A chat whose reply may still be generating is never deleted at once: on the inference server
that loses the next message any user queues (docs/chats.md). Such a chat waits in the
client's ``Janitor`` until a look at its message says the reply has finished. Two flows do
the deleting, in the reply flow's protocol (``next_action()`` returns ``Call``, ``Sleep`` or
``Finished``; the facade answers a ``Call`` with ``receive_response`` or
``receive_failure``), so one driver in the facade performs them all:

- ``DeleteFlow`` deletes one chat; a chat already gone is fine.
- ``SettleFlow`` looks at every waiting chat, deletes the finished ones, and looks again
  every ``SETTLE_POLL`` seconds until none is left or its time is up.

A reply that is garbage-collected unfinished cannot do I/O from its finalizer: its
``Leftovers`` are queued in the janitor (``orphaned``) and released at the client's next
request or when it closes.

``Paging`` follows a chat list's cursors to the end, each chat once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ._actions import FINISHED, Action, Call, Cleanup, PendingDeletion, Sleep
from ._config import CallOptions
from ._exceptions import CleanupWarning, NotFoundError, OpenAssistantError
from ._flow import ReplyFlow
from ._logging import logger
from ._models import ChatInfo, ChatPage
from ._requests import Routes
from ._responses import answer_json

__all__ = [
    "SETTLE_INTERVAL",
    "SETTLE_POLL",
    "CreateFlow",
    "DeleteFlow",
    "Flow",
    "Janitor",
    "Leftovers",
    "Paging",
    "SettleFlow",
    "chat_cleanup",
    "orphaned",
    "warn_left",
]

SETTLE_INTERVAL = 1.0  # waiting chats are looked at before a request this often at most
SETTLE_POLL = 0.25  # and this often while a client closes


class Flow(Protocol):
    """What the facade's driver performs: a reply, a deletion, a settling."""

    def next_action(self) -> Action:
        """Return what to do next."""

    def receive_response(self, status: int, content_type: str, body: bytes) -> None:
        """Take the successful answer to the last ``Call``."""

    def receive_failure(self, error: OpenAssistantError) -> None:
        """Take the failure of the last ``Call``."""


def warn_left(chat_id: str, error: BaseException, *, stacklevel: int = 2) -> None:
    """Say that a chat could not be deleted, and why: a ``CleanupWarning``."""
    warnings.warn(
        f"could not delete chat {chat_id}: {error}", CleanupWarning, stacklevel=stacklevel + 1
    )


class Leftovers:
    """What an unfinished reply holds: its flow (and so its chat) and its open response."""

    __slots__ = ("flow", "response")

    def __init__(self, flow: ReplyFlow) -> None:
        self.flow = flow
        self.response: Any = None  # the facade's open response, if any


def orphaned(orphans: list[Leftovers], leftovers: Leftovers) -> None:
    """Queue what a garbage-collected reply left, then warn (a finalizer: no I/O here).

    Queued first: under ``-W error`` the warning raises, and the chat is released anyway.
    """
    if leftovers.response is None and leftovers.flow.chat_id is None:
        return
    orphans.append(leftovers)
    warnings.warn(
        "an unfinished openassistant_sdk reply stream was garbage-collected; close streams "
        "(or use `with`) so their connection and chat are released at once",
        ResourceWarning,
        stacklevel=2,
    )


def chat_cleanup(chat_id: str, flows: Sequence[ReplyFlow]) -> Cleanup:
    """Say how to delete a chat: now, or once the last of its replies that may still be
    generating (``flows``, oldest first) has finished."""
    for flow in reversed(flows):
        later = flow.pending_deletion()
        if later is not None:
            return Cleanup(drain=False, defer=later)
    return Cleanup(drain=False, delete=chat_id)


class _OneCall:
    """A flow of one request: the ``Call``, then ``Finished``."""

    def __init__(self, call: Call) -> None:
        self._next: Action = call

    def next_action(self) -> Action:
        """Return the request, then ``Finished``."""
        action, self._next = self._next, FINISHED
        return action


class CreateFlow(_OneCall):
    """Create a chat, shielded. ``info`` is the chat, once created."""

    def __init__(self, routes: Routes, options: CallOptions | None = None) -> None:
        self.info: ChatInfo | None = None
        self._spec = routes.create_chat()
        super().__init__(Call(self._spec, shield=True, options=options))

    @property
    def chat(self) -> ChatInfo:
        """The chat created (once the flow has finished without an error)."""
        if self.info is None:
            raise RuntimeError("the chat was not created")
        return self.info

    def receive_response(self, status: int, content_type: str, body: bytes) -> None:
        """Take the chat."""
        self.info = ChatInfo.from_json(answer_json(self._spec, status, content_type, body))

    def receive_failure(self, error: OpenAssistantError) -> None:
        """The chat could not be created: raise why."""
        raise error

    def cleanup(self) -> Cleanup:
        """Say what to release when the creation is interrupted: the chat, if it exists."""
        return Cleanup(drain=False, delete=self.info.id if self.info is not None else None)


class DeleteFlow(_OneCall):
    """Delete one chat. ``error`` holds the failure, if any (a chat already gone is fine)."""

    def __init__(self, routes: Routes, chat_id: str) -> None:
        self.chat_id = chat_id
        self.error: OpenAssistantError | None = None
        super().__init__(Call(routes.delete_chat(chat_id)))

    def receive_response(self, status: int, content_type: str, body: bytes) -> None:
        """The chat is deleted."""

    def receive_failure(self, error: OpenAssistantError) -> None:
        """Keep the failure, unless it says the chat was gone already."""
        if not isinstance(error, NotFoundError):
            self.error = error


class Janitor:
    """A client's chats waiting to be deleted, and what its abandoned replies left."""

    def __init__(self, routes: Routes, clock: Callable[[], float] = time.monotonic) -> None:
        self.routes = routes
        self.clock = clock
        self.waiting: dict[str, PendingDeletion] = {}
        self.orphans: list[Leftovers] = []
        self.settling = False
        self.last_settled = float("-inf")

    def keep(self, cleanup: Cleanup) -> None:
        """Note a chat to delete once its reply has finished (no I/O: maybe a finalizer)."""
        if cleanup.defer is not None:
            self.waiting[cleanup.defer.chat_id] = cleanup.defer

    def due(self) -> bool:
        """Whether a request should first look at the waiting chats (at most once a second)."""
        return (
            bool(self.waiting)
            and not self.settling
            and self.clock() - self.last_settled >= SETTLE_INTERVAL
        )

    def delete(self, chat_id: str) -> DeleteFlow:
        """Return the flow that deletes ``chat_id`` now."""
        return DeleteFlow(self.routes, chat_id)

    def settle(self, wait: float) -> SettleFlow:
        """Return the flow that deletes the finished waiting chats, waiting ``wait`` s for more.

        Call ``settled()`` when it ends, however it ends.
        """
        self.settling = True
        return SettleFlow(self, wait)

    def settled(self) -> None:
        """Note that a settling ended (the next is due a second later)."""
        self.settling = False
        self.last_settled = self.clock()

    def abandon(self) -> list[str]:
        """Give up the waiting chats (the client closes); return their ids."""
        left = list(self.waiting)
        self.waiting.clear()
        return left


class SettleFlow:
    """Look at the waiting chats and delete those whose replies have finished.

    ``failures`` collects the chats whose DELETE failed, with why, for the facade to warn.
    """

    def __init__(self, janitor: Janitor, wait: float) -> None:
        self._janitor = janitor
        self._deadline = janitor.clock() + wait
        self._round = list(janitor.waiting.values())
        self._asked: PendingDeletion | None = None  # the chat being looked at
        self._deleting: DeleteFlow | None = None
        self.failures: list[tuple[str, OpenAssistantError]] = []

    def next_action(self) -> Action:
        """Look at the next chat; delete it if finished; sleep between rounds; then finish."""
        janitor = self._janitor
        if self._deleting is not None:
            action = self._deleting.next_action()
            if action is not FINISHED:
                return action
            self._done_deleting(self._deleting)
        if self._round:
            self._asked = self._round.pop(0)
            return Call(self._asked.check(janitor.routes))
        remaining = self._deadline - janitor.clock()
        if not janitor.waiting or remaining <= 0:
            return FINISHED
        self._round = list(janitor.waiting.values())
        return Sleep(min(SETTLE_POLL, remaining))

    def receive_response(self, status: int, content_type: str, body: bytes) -> None:
        """Take the answer to a look (delete the chat if finished) or to a DELETE."""
        if self._deleting is not None:
            return
        item = self._take()
        if item.finished(answer_json(item.check(self._janitor.routes), status, content_type, body)):
            self._delete(item)

    def receive_failure(self, error: OpenAssistantError) -> None:
        """A failed look means "not known yet"; a chat gone already is deleted harmlessly."""
        if self._deleting is not None:
            self._deleting.receive_failure(error)
            return
        item = self._take()
        if isinstance(error, NotFoundError):
            self._delete(item)
        else:
            logger.debug("could not look at chat %s: %s", item.chat_id, error)

    def _take(self) -> PendingDeletion:
        item, self._asked = self._asked, None
        if item is None:
            raise RuntimeError("the settle flow received an answer it did not ask for")
        return item

    def _delete(self, item: PendingDeletion) -> None:
        del self._janitor.waiting[item.chat_id]
        self._deleting = self._janitor.delete(item.chat_id)

    def _done_deleting(self, flow: DeleteFlow) -> None:
        self._deleting = None
        if flow.error is not None:
            self.failures.append((flow.chat_id, flow.error))


class Paging:
    """Follow a chat list's cursors to the end, each chat once (cursors may repeat)."""

    def __init__(self) -> None:
        self.after: str | None = None  # the cursor of the next page
        self.done = False
        self._seen: set[str] = set()

    def take(self, page: ChatPage) -> list[ChatInfo]:
        """Take a page; return its chats not seen before."""
        new = []
        for chat in page.chats:
            if chat.id not in self._seen:
                self._seen.add(chat.id)
                new.append(chat)
        if not page.chats or page.next is None or page.next == self.after:
            self.done = True
        self.after = page.next
        return new
