"""The memory measurements, each in a fresh process (``python -m bench._memory_child ...``).

``stream MODE URL TOKENS``: read one reply of TOKENS tokens without keeping its text, sampling
the resident set size every 10,000 tokens; prints JSON. ``open MODE URL COUNT``: open COUNT
streams at once, read the first token of each, and print the resident set size before and
while they are open. MODE is ``sdk``, ``raw`` (httpx + the minimal loop) or ``seed`` (aiohttp,
``open`` only).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from typing import Any

__all__ = ["rss"]

_SAMPLE_EVERY = 10_000


def rss() -> int:
    """This process's resident set size in bytes (Linux ``/proc/self/status``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _stream(mode: str, url: str, tokens: int) -> dict[str, Any]:
    import httpx

    from openassistant_sdk import Client

    from ._flows import COOKIE, MESSAGES, raw_sync_reply

    base = f"{url}/t/{tokens}"
    warm = f"{url}/t/2000"
    if mode == "sdk":
        client = Client(base_url=base, api="website", session_token="bench-session")
        warm_client = Client(base_url=warm, api="website", session_token="bench-session")

        def reply(warmup: bool) -> Any:
            return (warm_client if warmup else client).stream(MESSAGES)
    else:
        http = httpx.Client(cookies=COOKIE)

        def reply(warmup: bool) -> Any:
            return raw_sync_reply(http, warm if warmup else base)

    for _ in reply(True):  # code paths, caches and buffers in use once before measuring
        pass
    gc.collect()
    before = rss()
    samples = []
    count = 0
    for _text in reply(False):
        count += 1
        if count % _SAMPLE_EVERY == 0:
            samples.append(rss())
    after = rss()
    return {"before": before, "samples": samples, "after": after, "tokens": count}


async def _open(mode: str, url: str, count: int) -> dict[str, Any]:
    import httpx

    from openassistant_sdk import AsyncClient

    from ._flows import COOKIE, MESSAGES, raw_async_reply, seed_reply

    base = f"{url}/hold"
    if mode == "sdk":
        client = AsyncClient(base_url=base, api="website", session_token="bench-session")

        def reply() -> Any:
            return client.stream(MESSAGES)
    elif mode == "raw":
        http = httpx.AsyncClient(cookies=COOKIE)

        def reply() -> Any:
            return raw_async_reply(http, base)
    else:

        def reply() -> Any:
            return seed_reply(base)

    async def first(stream: Any) -> None:
        await stream.__anext__()

    async def close(stream: Any) -> None:
        await stream.aclose()

    warm = [reply() for _ in range(2)]
    await asyncio.gather(*(first(s) for s in warm))
    await asyncio.gather(*(close(s) for s in warm))
    gc.collect()
    before = rss()
    streams = [reply() for _ in range(count)]
    await asyncio.gather(*(first(s) for s in streams))
    gc.collect()
    during = rss()
    await asyncio.gather(*(close(s) for s in streams))
    return {"before": before, "during": during, "streams": count}


def main(argv: list[str]) -> None:
    what, mode, url, number = argv
    if what == "stream":
        result = _stream(mode, url, int(number))
    else:
        result = asyncio.run(_open(mode, url, int(number)))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
