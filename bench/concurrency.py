"""Concurrency: 200 one-shot replies at once (500 tokens each) through one client.

Each run makes its client, starts every reply at once (``asyncio.gather``), reads them all to
the end and closes the client: the time from nothing to the last reply. Variants: the SDK's
default client (16 small pools), the SDK over httpx-aiohttp, the SDK over one plain
``httpx.AsyncClient``, raw ``httpx.AsyncClient`` (default limits) with the minimal loop, and
the seed's provider (aiohttp, a new session per call, line reads).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from openassistant_sdk import AsyncClient
from openassistant_sdk._async._http import DEFAULT_SHARDS, ShardedAsyncTransport

from ._flows import COOKIE, MESSAGES, raw_async_reply, seed_reply
from ._harness import Row, interleave, rows_for
from ._server import BenchServer

__all__ = ["run"]

SDK = f"AsyncClient (default: {DEFAULT_SHARDS} pools)"
SDK_AIOHTTP = "AsyncClient(http_client=HttpxAiohttpClient())"
SDK_HTTPX = "AsyncClient(http_client=httpx.AsyncClient())"
RAW = "httpx.AsyncClient + minimal loop"
RAW_SHARDED = "httpx.AsyncClient over the SDK's pools + minimal loop"
SEED = "seed: aiohttp, a session per call"
_SESSION = COOKIE[next(iter(COOKIE))]


async def _length(texts: Any) -> int:
    total = 0
    async for text in texts:
        total += len(text)
    return total


def _sdk(make_http: Callable[[], httpx.AsyncClient] | None) -> Callable[[str, int], Awaitable[int]]:
    async def run(base: str, replies: int) -> int:
        http = make_http() if make_http is not None else None
        client = AsyncClient(base_url=base, api="website", session_token=_SESSION, http_client=http)
        try:
            # `complete` would hide the tokens; stream them, as the other variants do.
            lengths = await asyncio.gather(
                *(_length(client.stream(MESSAGES)) for _ in range(replies))
            )
        finally:
            await client.aclose()
            if http is not None:
                await http.aclose()
        return sum(lengths)

    return run


def _aiohttp_client() -> httpx.AsyncClient:
    from httpx_aiohttp import HttpxAiohttpClient

    return HttpxAiohttpClient()


async def _raw(base: str, replies: int) -> int:
    async with httpx.AsyncClient(cookies=COOKIE) as http:
        lengths = await asyncio.gather(
            *(_length(raw_async_reply(http, base)) for _ in range(replies))
        )
    return sum(lengths)


async def _raw_sharded(base: str, replies: int) -> int:
    # What the SDK's transport alone does for raw httpx: the rest of the gap to the SDK's
    # default is the SDK's own work.
    transport = ShardedAsyncTransport()
    async with httpx.AsyncClient(cookies=COOKIE, transport=transport) as http:
        lengths = await asyncio.gather(
            *(_length(raw_async_reply(http, base)) for _ in range(replies))
        )
    return sum(lengths)


async def _seed(base: str, replies: int) -> int:
    lengths = await asyncio.gather(*(_length(seed_reply(base)) for _ in range(replies)))
    return sum(lengths)


VARIANTS: dict[str, Callable[[str, int], Awaitable[int]]] = {
    SDK: _sdk(None),
    SDK_AIOHTTP: _sdk(_aiohttp_client),
    SDK_HTTPX: _sdk(httpx.AsyncClient),
    RAW: _raw,
    RAW_SHARDED: _raw_sharded,
    SEED: _seed,
}


def run(server: BenchServer, *, quick: bool, only: list[str] | None = None) -> list[Row]:
    """200 concurrent replies of 500 tokens (50 with ``quick``)."""
    replies, tokens = (50, 500) if quick else (200, 500)
    repeats = 3 if quick else 7
    base = server.base(tokens)
    loop = asyncio.new_event_loop()
    variants = {name: fn for name, fn in VARIANTS.items() if not only or name in only}

    def once(fn: Callable[[str, int], Awaitable[int]]) -> Callable[[], float]:
        def measure() -> float:
            start = time.perf_counter()
            loop.run_until_complete(fn(base, replies))
            return time.perf_counter() - start

        return measure

    try:
        lengths = {name: loop.run_until_complete(fn(base, 2)) for name, fn in variants.items()}
        if len(set(lengths.values())) != 1:
            raise AssertionError(f"the variants received different texts: {lengths}")
        bench = f"{replies} concurrent replies x {tokens} tokens"
        samples = interleave(
            {name: once(fn) for name, fn in variants.items()},
            repeats=repeats,
            warmup=1,
            label=bench,
        )
    finally:
        loop.close()
    targets = {SDK: ("<= 1.10x raw httpx", lambda r: r <= 1.10)}
    rows = rows_for(bench, samples, unit="s", baseline=RAW, targets=targets)
    by_name = {row.variant: row for row in rows}
    seed = by_name.get(SEED)
    if seed is not None:
        for name in (SDK, SDK_AIOHTTP):
            if name in by_name:
                row = by_name[name]
                row.target = "<= 1.10x raw httpx, < seed" if name == SDK else "< seed"
                row.met = row.met is not False and row.median < seed.median
    return rows
