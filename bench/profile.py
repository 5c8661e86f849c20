"""Profile one benchmark scenario with pyinstrument, or run it bare for py-spy.

python -m bench.profile concurrency          # 200 replies at once through one AsyncClient
python -m bench.profile reply                # one 20k-token reply, 4 KiB chunks
python -m bench.profile reply-per-event      # the same, one HTTP chunk per event
python -m bench.profile decoding             # EventDecoder over 200k events
py-spy record -o /tmp/reply.svg -- python -m bench.profile reply-per-event --bare
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from ._flows import MESSAGES
from ._server import BenchServer

SCENARIOS = ("concurrency", "reply", "reply-per-event", "decoding")


def _scenario(name: str, server: BenchServer | None) -> Callable[[], object]:
    from openassistant_sdk import AsyncClient

    if name == "decoding":
        from . import _stream
        from .decoding import sdk_texts

        chunks = _stream.chunked(_stream.render_stream(200_000), 4096)
        return lambda: sdk_texts(chunks)
    assert server is not None
    if name == "concurrency":
        from .concurrency import SDK, VARIANTS

        base = server.base(500)
        return lambda: asyncio.run(VARIANTS[SDK](base, 200))  # type: ignore[arg-type]
    base = server.base(20_000, per_event=name == "reply-per-event")

    async def replies() -> None:
        async with AsyncClient(base_url=base, api="website", session_token="bench") as client:
            for _ in range(5):
                async for _text in client.stream(MESSAGES):
                    pass

    return lambda: asyncio.run(replies())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--bare", action="store_true", help="no profiler (run under py-spy)")
    args = parser.parse_args()
    server = None if args.scenario == "decoding" else BenchServer().__enter__()
    try:
        run = _scenario(args.scenario, server)
        run()  # warm up: imports, the server's rendering, connections
        if args.bare:
            start = time.perf_counter()
            run()
            print(f"{args.scenario}: {time.perf_counter() - start:.3f} s")
            return
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        run()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
    finally:
        if server is not None:
            server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
