"""The async side's waiting and shielding, on anyio so it runs under asyncio and trio.

Each side writes its own: ``_sync/_primitives.py`` is not generated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio

__all__ = ["Lock", "current_loop", "drain", "now", "read_chunk", "shielded", "sleep"]


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


def shielded(timeout: float | None) -> anyio.CancelScope:
    """Return a scope that runs cleanup to its end even if the task is being cancelled.

    It is cancelled only by its own bound, ``timeout`` seconds from now (``None``: no bound of
    its own; the requests inside are bounded by their timeouts); ``cancelled_caught`` then
    says the bound cut the cleanup short.
    """
    return anyio.move_on_after(timeout, shield=True)


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
