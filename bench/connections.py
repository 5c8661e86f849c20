"""Connection reuse: how many TCP connections the server accepts for a client's work.

A sequential one-shot reply (five requests) should use one pooled connection, and a second
reply on the same client no new one. For the concurrent runs, the count says how well each
pool keeps its connections: a pool that drops idle connections opens new ones mid-run.
"""

from __future__ import annotations

import asyncio

from openassistant_sdk import AsyncClient, Client

from ._flows import MESSAGES
from ._harness import Row
from ._server import BenchServer

__all__ = ["run"]


def run(server: BenchServer, *, quick: bool) -> list[Row]:
    """Count connections for sequential replies, sync and async, and for the concurrent runs."""
    from . import concurrency

    base = server.base(2000)
    rows = []

    def sync_replies() -> None:
        with Client(base_url=base, api="website", session_token="bench-session") as client:
            for _ in range(3):
                for _text in client.stream(MESSAGES):
                    pass

    async def async_replies() -> None:
        async with AsyncClient(base_url=base, api="website", session_token="bench-session") as c:
            for _ in range(3):
                async for _text in c.stream(MESSAGES):
                    pass

    for name, work in (
        ("Client: 3 sequential one-shot replies (15 requests)", sync_replies),
        (
            "AsyncClient: 3 sequential one-shot replies (15 requests)",
            lambda: asyncio.run(async_replies()),
        ),
    ):
        with server.count_connections() as count:
            work()
        rows.append(
            Row(
                bench="connections opened",
                variant=name,
                median=count["accepted"],
                unit="count",
                target="1",
                met=count["accepted"] == 1,
            )
        )
    replies, tokens = (50, 500) if quick else (200, 500)
    loop = asyncio.new_event_loop()
    try:
        for name, fn in concurrency.VARIANTS.items():
            with server.count_connections() as count:
                loop.run_until_complete(fn(server.base(tokens), replies))
            rows.append(
                Row(
                    bench="connections opened",
                    variant=f"{name}: {replies} concurrent replies",
                    median=count["accepted"],
                    unit="count",
                )
            )
    finally:
        loop.close()
    return rows
