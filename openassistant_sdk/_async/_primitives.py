"""The async side's waiting and shielding, on anyio so it runs under asyncio and trio.

Each side writes its own: ``_sync/_primitives.py`` is not generated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import anyio

__all__ = ["Lock", "ShieldCancellation", "current_loop", "drain", "now", "read_chunk", "sleep"]


#: Monotonic seconds (the clock itself, not a wrapper: a stream reads it for every chunk).
now = time.monotonic


def current_loop() -> object:
    """Return the running event loop (asyncio) or run (trio), to tell one from the next."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio (anyio runs on nothing else)
        import trio

        return trio.lowlevel.current_trio_token()


#: Wait without blocking the event loop.
sleep = anyio.sleep

#: A lock for the event loop's tasks (``async with lock:``).
Lock = anyio.Lock


class ShieldCancellation:
    """Run cleanup to its end even if the task is being cancelled, but no longer than a bound.

    The bound counts from entering the block; ``None`` sets none of its own (the requests
    inside are bounded by their timeouts).
    """

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    def __enter__(self) -> None:
        # One scope: shielded from the task's cancellation, cancelled by its own deadline.
        self._scope = anyio.move_on_after(self._timeout, shield=True)
        self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self._scope.__exit__(exc_type, exc, tb)

    @property
    def timed_out(self) -> bool:
        """True if the cleanup was cut short by the bound."""
        return self._scope.cancelled_caught


async def read_chunk(chunks: AsyncIterator[bytes], wait: float | None) -> bytes | None:
    """Return the next chunk, ``None`` at the end, or raise ``TimeoutError`` after ``wait`` seconds.

    ``wait=None`` waits without a limit.
    """
    with anyio.fail_after(wait):
        return await anext(chunks, None)


async def drain(chunks: AsyncIterator[bytes], response: Any, max_bytes: int, wait: float) -> bool:
    """Read and drop what is left of a body: at most ``max_bytes``, for at most ``wait`` seconds.

    Returns:
        True if the body ended (its connection can go back to the pool).
    """
    # ``response`` goes unused: the async read is interrupted by the cancel scope, not by
    # shutting its socket down.
    total = 0
    with anyio.move_on_after(wait):
        while total < max_bytes:
            chunk = await anext(chunks, None)
            if chunk is None:
                return True
            total += len(chunk)
    return False
