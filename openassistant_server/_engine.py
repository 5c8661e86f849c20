"""The server's shared state and the inference logic routes call into.

`ServerCore` owns the store, queues, rate limiter, faults and token signer, and implements
upstream's repository operations (`add_prompter_message`, `initiate_assistant_message`) with
their checks in upstream's order (docs/protocol.md 5.2).
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel

from ._backend import Backend, is_backend
from ._data import ECHO_MODEL_CONFIG, UPSTREAM_MODEL_CONFIGS, ModelConfig
from ._faults import FaultBook
from ._http import HTTPError
from ._ids import utcnow, uuid7
from ._queues import MessageQueue, RateLimiter, WorkQueue
from ._settings import ServerConfig
from ._store import Message, Store, require_storable
from ._tokens import TokenSigner

__all__ = ["ServerCore"]


class ServerCore:
    """Everything one running server knows.

    Args:
        config: The server configuration.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = Store()
        self.signer = TokenSigner(config.auth_secret or os.urandom(32))
        self.faults = FaultBook()
        self.rng = random.Random(config.seed)
        limit = config.rate_limit
        self.rate_limiter = RateLimiter(limit.times, limit.seconds) if limit else None
        self.work_queues: dict[str, WorkQueue] = {}
        self.message_queues: dict[str, MessageQueue] = {}
        self.served = config.served_models()
        #: The bridge to an OpenAI-compatible model server, when `config.backend` is set.
        self.backend = Backend(config) if config.backend else None
        #: The running `uvicorn.Server`, when the runner attached one.
        self.server: Any = None
        self.closing: anyio.Event | None = None
        self.workers_paused = False
        self._token: Any = None
        #: Chats deleted with an unfinished reply; losses armed by them and suffered (10.14).
        self.unsafe_deletes = 0
        self.losses_armed = 0
        self.lost_messages = 0

    # -- lifecycle ---------------------------------------------------------------------------
    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the simulated workers for the lifetime of the application."""
        from ._workers import run_workers

        self.closing = anyio.Event()
        self._token = anyio.lowlevel.current_token()
        if self.backend is not None:
            await self.backend.start(self)
        async with anyio.create_task_group() as tg:
            run_workers(self, tg)
            try:
                yield
            finally:
                self.closing.set()
                tg.cancel_scope.cancel()
        if self.backend is not None:
            await self.backend.aclose()
        self._token = None

    def begin_shutdown(self) -> None:
        """End open event streams (called on the event loop when the server stops)."""
        if self.closing is not None:
            self.closing.set()

    def call_in_loop(self, func: Callable[[], Any]) -> Any:
        """Run `func` on the server's event loop from another thread and return its result."""
        token = self._token
        if token is None:
            raise RuntimeError("the server is not running")
        import anyio.from_thread

        return anyio.from_thread.run_sync(func, token=token)

    # -- models and queues -------------------------------------------------------------------
    def model_config(self, name: str) -> ModelConfig:
        """Resolve a model config name as `chat_utils.get_model_config` does (5.2).

        Raises:
            HTTPError: 422 `Model X not in allowed models: ...` for a known upstream name that
                is not served here, 422 `Model X not found` for an unknown one.
        """
        if name not in self.served:
            allowed = ",".join(self.listed_models())
            if name in UPSTREAM_MODEL_CONFIGS:
                raise HTTPError(422, f"Model {name} not in allowed models: {allowed}")
            # Upstream stops at "not found"; naming the choices tells the caller what to do.
            raise HTTPError(422, f"Model {name} not found; available models: {allowed}")
        if self.backend is not None and is_backend(self.served[name]):
            return self.backend.model_config(name, UPSTREAM_MODEL_CONFIGS.get(name))
        if name in UPSTREAM_MODEL_CONFIGS:
            return UPSTREAM_MODEL_CONFIGS[name]
        if name == "echo":
            return ECHO_MODEL_CONFIG
        return ModelConfig(model_id=name)

    def listed_models(self) -> list[str]:
        """Return the served names in the order `/configs/model_configs` lists them (4.2)."""
        return self.config.listed_models(self.served)

    def model_description(self, name: str) -> str:
        """Return a model config's `description`: upstream's `""`, or its backend model."""
        generator = self.served.get(name)
        if self.backend is not None and is_backend(generator):
            assert generator is not None
            return self.backend.describe(generator)
        return ""

    def cancel_generation(self, message_id: str) -> None:
        """Cancel a message's backend request, if one is running (its chat was deleted)."""
        if self.backend is not None:
            self.backend.cancel(message_id)

    def work_queue(self, compat_hash: str) -> WorkQueue:
        """Return the work queue of a model config (created on first use)."""
        queue = self.work_queues.get(compat_hash)
        if queue is None:
            queue = WorkQueue(
                compat_hash,
                max_size=self.config.work_queue_max_size,
                position_expire=self.config.message_queue_expire,
            )
            self.work_queues[compat_hash] = queue
        return queue

    def message_queue(self, message_id: str) -> MessageQueue:
        """Return the event buffer of one assistant message."""
        queue = self.message_queues.get(message_id)
        if queue is None:
            queue = MessageQueue(self.config.message_queue_expire)
            self.message_queues[message_id] = queue
        return queue

    def set_workers_paused(self, paused: bool) -> None:
        """Stop or resume taking new work (generation in progress continues)."""
        self.workers_paused = paused
        for queue in self.work_queues.values():
            queue.changed.notify()

    # -- repository operations (user_chat_repository.py) ------------------------------------
    def add_prompter_message(
        self, user_id: str, chat_id: str, parent_id: str | None, content: str
    ) -> Message:
        """Add a prompter message, with upstream's checks in its order.

        Raises:
            HTTPError: 413 or 400 as in 5.2.
            LookupError: Unknown chat (upstream's `.one()`; answered as a handled 500).
        """
        config = self.config
        if config.message_max_length is not None and len(content) > config.message_max_length:
            raise HTTPError(413, "Message content exceeds max length")
        chat = self.store.chats.get(chat_id)
        if chat is None or chat.user_id != user_id:
            raise LookupError(chat_id)
        if (
            config.chat_max_messages is not None
            and len(chat.message_ids) >= config.chat_max_messages
        ):
            raise HTTPError(413, "Maximum number of messages reached for this chat")
        if parent_id is None:
            if chat.message_ids:
                raise HTTPError(400, "Trying to add first message to non-empty chat")
        else:
            parent = self.store.messages.get(parent_id)
            if parent is None or parent.chat_id != chat.id:
                raise HTTPError(400, "Parent message not found")
            if parent.role != "assistant":
                raise HTTPError(400, "Parent message is not an assistant message")
            if parent.state != "complete":
                raise HTTPError(400, "Parent message is not complete")
        require_storable(content)  # upstream's commit fails: nothing is stored
        if parent_id is None and chat.title is None:
            chat.title = content
        message = Message(
            id=uuid7(),
            chat_id=chat.id,
            role="prompter",
            parent_id=parent_id,
            content=content,
            created_at=utcnow(),
            state="manual",
        )
        self.store.add_message(chat, message)
        chat.modified_at = message.created_at
        return message

    def initiate_assistant_message(
        self,
        user_id: str,
        parent_id: str,
        work_parameters: dict[str, Any],
        model_config: ModelConfig,
        generator: str | None,
    ) -> Message:
        """Create a pending assistant message, with upstream's side effects in its order.

        First every pending assistant message of the user with a different parent is
        cancelled, even if this request then fails (drafts on one parent survive, 10.4).

        Raises:
            LookupError: Unknown parent or a parent that is not a prompter message.
            HTTPError: 400 `Message not found` (another user's parent), 413 (max messages).
        """
        store = self.store
        for message in list(store.messages.values()):
            if (
                message.role == "assistant"
                and message.state == "pending"
                and message.parent_id != parent_id
                and store.chats[message.chat_id].user_id == user_id
            ):
                message.state = "cancelled"
        parent = store.messages.get(parent_id)
        if parent is None or parent.role != "prompter":
            raise LookupError(parent_id)
        chat = store.chats[parent.chat_id]
        if chat.user_id != user_id:
            raise HTTPError(400, "Message not found")
        limit = self.config.chat_max_messages
        if limit is not None and len(chat.message_ids) >= limit:
            raise HTTPError(413, "Maximum number of messages reached for this chat")
        require_storable(work_parameters)  # the cancellations above are committed already
        message = Message(
            id=uuid7(),
            chat_id=chat.id,
            role="assistant",
            parent_id=parent_id,
            content=None,
            created_at=utcnow(),
            state="pending",
            work_parameters=work_parameters,
            compat_hash=model_config.compat_hash,
            generator=generator,
        )
        return store.add_message(chat, message)

    # -- the real server's delete-mid-generation loss (10.14) --------------------------------
    def chat_deleting(self, messages: list[Message]) -> None:
        """Note a chat about to be deleted; arm a loss if a reply in it is unfinished.

        Upstream's worker handler fails when the message it works on has gone, and the next
        message any user queues is lost (docs/protocol.md 10.14). Unsafe deletes are counted
        always; the loss happens only with `emulate_delete_loss`.
        """
        if any(
            m.role == "assistant" and m.state in ("pending", "in_progress") and not m.lost
            for m in messages
        ):
            self.unsafe_deletes += 1
            if self.config.emulate_delete_loss:
                self.losses_armed += 1

    def message_queued(self, message: Message) -> None:
        """Lose a newly queued assistant message if an unsafe delete armed a loss."""
        if self.losses_armed:
            self.losses_armed -= 1
            self.lost_messages += 1
            message.lost = True

    def state_snapshot(self) -> dict[str, Any]:
        """Return counts for introspection (`GET /_local/state`)."""
        from ._conn import open_connection_count

        return {
            "users": len(self.store.users),
            "chats": len(self.store.chats),
            "messages": self.store.state_counts(),
            "connections": open_connection_count(self.server),
            "workers": {"per_model": self.config.workers, "paused": self.workers_paused},
            "queues": {
                key: {
                    "length": len(q.items),
                    "enqueued": q.enqueued,
                    "dequeued": q.dequeued,
                }
                for key, q in self.work_queues.items()
            },
            "faults": self.faults.snapshot(),
            "delete_loss": {
                "emulated": self.config.emulate_delete_loss,
                "unsafe_deletes": self.unsafe_deletes,
                "armed": self.losses_armed,
                "lost": self.lost_messages,
            },
        }
