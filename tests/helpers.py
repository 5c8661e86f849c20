"""Helpers that let one test body drive the sync and the async client alike."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


async def call(value: Any) -> Any:
    """Await ``value`` if the async client returned an awaitable."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any) -> list[Any]:
    if hasattr(stream, "__aiter__"):
        return [item async for item in stream]
    return list(stream)


@asynccontextmanager
async def using(manager: Any) -> AsyncIterator[Any]:
    if hasattr(manager, "__aenter__"):
        async with manager as value:
            yield value
    else:
        with manager as value:
            yield value


async def close(obj: Any) -> None:
    await call(obj.aclose() if hasattr(obj, "aclose") else obj.close())


async def read_into(stream: Any, got: list[Any]) -> None:
    """Read a stream (sync or async) into ``got``, inside its ``with``; errors propagate."""
    async with using(stream):
        if hasattr(stream, "__aiter__"):
            async for item in stream:
                got.append(item)
        else:
            got.extend(stream)
