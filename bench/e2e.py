"""One streamed reply end to end: ``Client.stream`` against raw httpx doing the same requests.

20k tokens from the benchmark server (pre-rendered, keep-alive), so the client's cost is what
is measured. Each run is a whole one-shot reply: five requests and the stream, on a client
made before the rounds start (its pooled connection is reused, as in an application). The
body comes in 4 KiB HTTP chunks, and then with one HTTP chunk per event, as the real server
writes it when tokens arrive one at a time (the client's cost per chunk then counts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Iterable

import httpx

from openassistant_sdk import AsyncClient, Client

from ._flows import COOKIE, MESSAGES, raw_async_reply, raw_sync_reply
from ._harness import Row, interleave, rows_for
from ._server import BenchServer

__all__ = ["run"]

SDK_SYNC = "Client.stream"
RAW_SYNC = "httpx.Client + minimal loop"
SDK_ASYNC = "AsyncClient.stream"
RAW_ASYNC = "httpx.AsyncClient + minimal loop"
_SESSION = COOKIE[next(iter(COOKIE))]
_TARGET = ("<= 1.10x raw httpx", lambda ratio: ratio <= 1.10)


def _count(texts: Iterable[str]) -> int:
    total = 0
    for text in texts:
        total += len(text)
    return total


async def _acount(texts: AsyncIterable[str]) -> int:
    total = 0
    async for text in texts:
        total += len(text)
    return total


def _case(base: str, label: str, repeats: int) -> list[Row]:
    loop = asyncio.new_event_loop()
    sdk = Client(base_url=base, api="website", session_token=_SESSION)
    raw = httpx.Client(cookies=COOKIE)
    asdk = AsyncClient(base_url=base, api="website", session_token=_SESSION)
    araw = httpx.AsyncClient(cookies=COOKIE)

    def sync_variant(make: Callable[[], Iterable[str]]) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            _count(make())
            return time.perf_counter() - start

        return once

    def async_variant(make: Callable[[], AsyncIterable[str]]) -> Callable[[], float]:
        async def main() -> float:
            start = time.perf_counter()
            await _acount(make())
            return time.perf_counter() - start

        return lambda: loop.run_until_complete(main())

    variants = {
        SDK_SYNC: sync_variant(lambda: sdk.stream(MESSAGES)),
        RAW_SYNC: sync_variant(lambda: raw_sync_reply(raw, base)),
        SDK_ASYNC: async_variant(lambda: asdk.stream(MESSAGES)),
        RAW_ASYNC: async_variant(lambda: raw_async_reply(araw, base)),
    }
    try:
        lengths = {
            _count(sdk.stream(MESSAGES)),
            _count(raw_sync_reply(raw, base)),
            loop.run_until_complete(_acount(asdk.stream(MESSAGES))),
            loop.run_until_complete(_acount(raw_async_reply(araw, base))),
        }
        if len(lengths) != 1:
            raise AssertionError(f"the variants received different texts: {lengths}")
        samples = interleave(variants, repeats=repeats, warmup=2, label=label)
    finally:
        sdk.close()
        raw.close()
        loop.run_until_complete(asdk.aclose())
        loop.run_until_complete(araw.aclose())
        loop.close()
    sync = {k: samples[k] for k in (SDK_SYNC, RAW_SYNC)}
    asyn = {k: samples[k] for k in (SDK_ASYNC, RAW_ASYNC)}
    return rows_for(
        f"{label}, sync", sync, unit="s", baseline=RAW_SYNC, targets={SDK_SYNC: _TARGET}
    ) + rows_for(
        f"{label}, async", asyn, unit="s", baseline=RAW_ASYNC, targets={SDK_ASYNC: _TARGET}
    )


def run(server: BenchServer, *, quick: bool) -> list[Row]:
    """Stream 20k tokens (2k with ``quick``) per reply, sync and async, both chunkings."""
    tokens = 2_000 if quick else 20_000
    rows = _case(
        server.base(tokens),
        f"one reply, {tokens // 1000}k tokens, 4 KiB chunks",
        5 if quick else 21,
    )
    rows += _case(
        server.base(tokens, per_event=True),
        f"one reply, {tokens // 1000}k tokens, a chunk per event",
        3 if quick else 11,
    )
    return rows
