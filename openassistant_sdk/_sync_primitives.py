"""The sync side's waiting and shielding: the blocking twins of ``_async_primitives``.

A blocking read cannot be interrupted; its bound is the HTTP read timeout, which the client
sets from the stall timeout when it opens a stream.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import TracebackType

__all__ = ["Lock", "ShieldCancellation", "now", "read_chunk", "sleep"]


def now() -> float:
    """Monotonic seconds."""
    return time.monotonic()


def sleep(seconds: float) -> None:
    """Block for ``seconds``."""
    time.sleep(seconds)


class Lock:
    """A lock for threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()


class ShieldCancellation:
    """Nothing to shield in blocking code; kept so both clients read the same."""

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @property
    def timed_out(self) -> bool:
        """Always False: blocking cleanup is bounded by the HTTP timeouts."""
        return False


def read_chunk(chunks: Iterator[bytes], wait: float | None) -> bytes | None:
    """Return the next chunk or ``None`` at the end (a blocking read is bounded by the HTTP read timeout)."""
    del wait  # enforced by the HTTP read timeout
    return next(chunks, None)
