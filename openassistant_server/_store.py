"""In-memory users, chats and messages, and their JSON shapes (docs/protocol.md 2.4).

Field order of every `to_json` is upstream's (pydantic declaration order), checked against
the golden bodies. The repository methods raise what upstream's do: `HTTPError` for its
HTTPExceptions, `LookupError` where SQLAlchemy's `.one()` would raise `NoResultFound`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import attrs

from ._http import HTTPError, UnhandledError
from ._ids import isoformat, utcnow, uuid7

__all__ = [
    "FINISHED_STATES",
    "Chat",
    "Message",
    "Store",
    "UnstorableText",
    "User",
    "require_storable",
]

#: States for which the events route answers 204 (`DbMessage.has_finished`, 5.3).
FINISHED_STATES = frozenset({"manual", "complete", "aborted_by_worker"})


class UnstorableText(UnhandledError):
    """Text upstream's Postgres cannot hold: a lone surrogate has no UTF-8 encoding.

    Upstream's database driver fails to encode it, so the statement fails and nothing is
    written; the route's own error handling then decides between a handled (empty) and an
    unhandled 500, as for any other database error.
    """


def require_storable(*values: Any) -> None:
    """Raise `UnstorableText` if a string in `values` (nested in dicts and lists) is not UTF-8.

    Called before anything is changed, so a rejected request stores nothing.
    """
    for value in values:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UnstorableText("text with a lone surrogate cannot be stored") from None
        elif isinstance(value, dict):
            require_storable(*value.keys(), *value.values())
        elif isinstance(value, (list, tuple)):
            require_storable(*value)


@attrs.define(eq=False)
class User:
    """A user row as `POST /auth/trusted` returns it."""

    id: str
    provider: str
    display_name: str
    provider_account_id: str
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the user row in upstream's key order (golden 02 #19)."""
        return {
            "id": self.id,
            "provider": self.provider,
            "display_name": self.display_name,
            "provider_account_id": self.provider_account_id,
            "deleted": self.deleted,
        }


@attrs.define(eq=False)
class Message:
    """One prompter or assistant message."""

    id: str
    chat_id: str
    role: str
    parent_id: str | None
    content: str | None
    created_at: datetime
    state: str
    work_parameters: dict[str, Any] | None = None
    score: int = 0
    reports: list[dict[str, Any]] = attrs.Factory(list)
    #: The work queue key (`worker_compat_hash`); None for prompter messages and after a reset.
    compat_hash: str | None = None
    #: Which built-in generator produces the reply ("lorem", "echo"); None: no worker.
    generator: str | None = None
    #: Internal abort reason; never part of `MessageRead` (2.4).
    error: str | None = None
    created_monotonic: float = attrs.Factory(time.monotonic)
    #: An injected worker failure: (tokens before the failure, error text).
    worker_fault: tuple[int, str] | None = None
    #: Lost to an earlier unsafe delete (`emulate_delete_loss`): no worker will take it.
    lost: bool = False

    @property
    def has_finished(self) -> bool:
        """Whether the events route answers 204 for this message."""
        return self.state in FINISHED_STATES

    def to_json(self) -> dict[str, Any]:
        """Return `MessageRead` with every field in upstream's order (golden 01 #7, #11)."""
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "content": self.content,
            "chat_id": self.chat_id,
            "created_at": isoformat(self.created_at),
            "role": self.role,
            "state": self.state,
            "score": self.score,
            "reports": [dict(r) for r in self.reports],
            "work_parameters": self.work_parameters,
            "safe_content": None,
            "safety_level": None,
            "safety_label": None,
            "safety_rots": None,
            "used_plugin": None,
        }


@attrs.define(eq=False)
class Chat:
    """One chat and the ids of its messages, in creation order."""

    id: str
    user_id: str
    created_at: datetime
    modified_at: datetime
    title: str | None = None
    hidden: bool = False
    allow_data_use: bool = True
    active_thread_tail_message_id: str | None = None
    message_ids: list[str] = attrs.Factory(list)

    def to_list_json(self) -> dict[str, Any]:
        """Return `ChatListRead`; list items never carry the thread tail (2.2)."""
        return {
            "id": self.id,
            "created_at": isoformat(self.created_at),
            "modified_at": isoformat(self.modified_at),
            "title": self.title,
            "hidden": self.hidden,
            "allow_data_use": self.allow_data_use,
            "active_thread_tail_message_id": None,
        }


class Store:
    """All server state that upstream keeps in Postgres."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.chats: dict[str, Chat] = {}
        self.messages: dict[str, Message] = {}
        self.message_evals: list[dict[str, Any]] = []

    # -- users -------------------------------------------------------------------------------
    def ensure_user(
        self, user_id: str, *, provider: str, display_name: str, provider_account_id: str
    ) -> User:
        """Return the user, creating it on first use (debug and trusted logins, 2.1)."""
        user = self.users.get(user_id)
        if user is None:
            require_storable(user_id, provider, display_name, provider_account_id)
            user = User(user_id, provider, display_name, provider_account_id)
            self.users[user_id] = user
        return user

    # -- chats -------------------------------------------------------------------------------
    def create_chat(self, user_id: str) -> Chat:
        """Create an empty chat for the user."""
        require_storable(user_id)
        created = utcnow()
        chat = Chat(id=uuid7(), user_id=user_id, created_at=created, modified_at=utcnow())
        self.chats[chat.id] = chat
        return chat

    def chat_of(self, user_id: str, chat_id: str) -> Chat:
        """Return the user's chat or raise upstream's 404 (other users' chats too, 2.2)."""
        require_storable(user_id)  # a query parameter the driver cannot encode
        chat = self.chats.get(chat_id)
        if chat is None or chat.user_id != user_id:
            raise HTTPError(404, "Chat not found")
        return chat

    def chat_json(self, chat: Chat) -> dict[str, Any]:
        """Return `ChatRead`: the list shape plus the thread tail and every message."""
        data = chat.to_list_json()
        data["active_thread_tail_message_id"] = chat.active_thread_tail_message_id
        data["messages"] = [self.messages[mid].to_json() for mid in chat.message_ids]
        return data

    def delete_chat(self, chat: Chat) -> None:
        """Delete a chat with its messages, reports and evaluations."""
        ids = set(chat.message_ids)
        for mid in ids:
            self.messages.pop(mid, None)
        self.message_evals = [e for e in self.message_evals if e["selected_message_id"] not in ids]
        self.chats.pop(chat.id, None)

    def list_chats(
        self,
        user_id: str,
        *,
        include_hidden: bool,
        limit: int,
        after: str | None,
        before: str | None,
    ) -> list[Chat]:
        """Run upstream's `get_chats` query: ids compare as strings, newest first (2.2)."""
        require_storable(user_id)
        chats = [
            c
            for c in self.chats.values()
            if c.user_id == user_id and (include_hidden or not c.hidden)
        ]
        if before is not None:
            chats = [c for c in chats if c.id > before]
        if after is not None:
            chats = [c for c in chats if c.id < after]
        chats.sort(key=lambda c: (c.created_at, c.id), reverse=before is None)
        return chats[:limit]

    # -- messages ----------------------------------------------------------------------------
    def add_message(self, chat: Chat, message: Message) -> Message:
        """Store a message in its chat."""
        self.messages[message.id] = message
        chat.message_ids.append(message.id)
        return message

    def message_of(self, user_id: str, chat_id: str, message_id: str) -> Message:
        """Return a message of the user's chat; `LookupError` stands for NoResultFound.

        Upstream matches the id, the chat id and the chat owner with `.one()`, so an unknown
        id, a wrong chat id or another user's message is an unhandled 500 (golden 02 #37, #49).
        """
        message = self.messages.get(message_id)
        chat = self.chats.get(chat_id)
        if message is None or chat is None or message.chat_id != chat_id or chat.user_id != user_id:
            raise LookupError(message_id)
        return message

    def owned_message(self, user_id: str, message_id: str, *, role: str | None) -> Message:
        """Find a message by id (and role), then check its owner, as votes/reports do.

        Raises:
            LookupError: No such message (NoResultFound).
            HTTPError: 400 `Message not found` when it belongs to another user.
        """
        message = self.messages.get(message_id)
        if message is None or (role is not None and message.role != role):
            raise LookupError(message_id)
        chat = self.chats[message.chat_id]
        if chat.user_id != user_id:
            raise HTTPError(400, "Message not found")
        return message

    def state_counts(self) -> dict[str, int]:
        """Count messages by state."""
        counts: dict[str, int] = {}
        for message in list(self.messages.values()):
            counts[message.state] = counts.get(message.state, 0) + 1
        return counts
