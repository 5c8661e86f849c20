"""The Redis structures upstream uses, in memory: work queues, per-message event buffers and
the rate limiter (docs/protocol.md 3.3, 5.1, 10.3, 10.6).
"""

from __future__ import annotations

import time
from collections import deque

import anyio

__all__ = ["MessageQueue", "QueueFull", "RateLimiter", "WorkQueue"]


class QueueFull(Exception):
    """The work queue reached `work_queue_max_size` (5.1)."""


class _Signal:
    """A broadcast 'something changed' for waiters on one event loop."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()


class WorkQueue:
    """One model config's FIFO of message ids, with upstream's enqueue/dequeue counters.

    Upstream stores `pos:<message id>` = the enqueue counter at enqueue time, expiring after
    `MESSAGE_QUEUE_EXPIRE`, and reports `queue_position = max(pos - dequeued, 0)`,
    `queue_size = max(enqueued - dequeued, position)` (chats.py `event_generator`). Cancelled
    messages stay in the list until a worker pops and skips them, so they still count (10.6).
    """

    def __init__(self, key: str, *, max_size: int | None, position_expire: float) -> None:
        self.key = key
        self.max_size = max_size
        self.position_expire = position_expire
        self.items: deque[str] = deque()
        self.enqueued = 0
        self.dequeued = 0
        self._positions: dict[str, tuple[int, float]] = {}
        self.changed = _Signal()

    def enqueue(self, message_id: str, *, enforce_max_size: bool = True) -> int:
        """Append a message id and return its position counter.

        Raises:
            QueueFull: The queue holds `max_size` ids already.
        """
        if enforce_max_size and self.max_size is not None and len(self.items) >= self.max_size:
            raise QueueFull(self.key)
        now = time.monotonic()
        for key in [k for k, (_, expires) in self._positions.items() if expires <= now]:
            del self._positions[key]  # like the Redis keys, positions expire
        self.items.append(message_id)
        self.enqueued += 1
        self._positions[message_id] = (self.enqueued, now + self.position_expire)
        self.changed.notify()
        return self.enqueued

    def pop(self) -> str | None:
        """Pop the oldest id (counting the dequeue), or None when empty."""
        if not self.items:
            return None
        self.dequeued += 1
        return self.items.popleft()

    def pending_numbers(self, message_id: str) -> tuple[int, int]:
        """Return `(queue_position, queue_size)` for a `pending` event (1-based, 10.6)."""
        entry = self._positions.get(message_id)
        position = 0
        if entry is not None:
            if time.monotonic() < entry[1]:
                position = entry[0]
            else:
                del self._positions[message_id]
        queue_position = max(position - self.dequeued, 0)
        return queue_position, max(self.enqueued - self.dequeued, queue_position)


class MessageQueue:
    """The per-message list the worker pushes events to and readers pop from (3.3).

    Popping consumes: two readers split the events, a reconnect does not replay, a late
    reader gets what is still buffered. Like the Redis key, the buffer expires
    `expire` seconds after the last push.
    """

    def __init__(self, expire: float) -> None:
        self._expire = expire
        self._items: deque[tuple[bytes, bool]] = deque()
        self._expires_at = 0.0
        self._changed = _Signal()

    def push(self, data: bytes, *, terminal: bool = False) -> None:
        """Append one encoded event; `terminal` marks the `message`/`error` event."""
        self._drop_if_expired()
        self._items.append((data, terminal))
        self._expires_at = time.monotonic() + self._expire
        self._changed.notify()

    def __len__(self) -> int:
        self._drop_if_expired()
        return len(self._items)

    def _drop_if_expired(self) -> None:
        if self._items and time.monotonic() >= self._expires_at:
            self._items.clear()

    async def pop(self, wait: float) -> tuple[bytes, bool] | None:
        """Pop the next event, waiting at most `wait` seconds (Redis `BLPOP`)."""
        with anyio.move_on_after(wait):
            while True:
                self._drop_if_expired()
                if self._items:
                    return self._items.popleft()
                await self._changed.wait()
        return None


class RateLimiter:
    """fastapi-limiter's fixed window: the first hit opens a window of `seconds` (5.1).

    Requests over the limit are rejected without being counted, as its Lua script does.
    """

    def __init__(self, times: int, seconds: float) -> None:
        self.times = times
        self.seconds = seconds
        self._windows: dict[str, tuple[int, float]] = {}

    def hit(self, key: str) -> bool:
        """Count one request for `key`; return False when it is over the limit."""
        now = time.monotonic()
        count, ends = self._windows.get(key, (0, 0.0))
        if count == 0 or now >= ends:
            self._windows[key] = (1, now + self.seconds)
            return True
        if count + 1 > self.times:
            return False
        self._windows[key] = (count + 1, ends)
        return True
