"""A bounded load test: hundreds of concurrent replies with faults injected, nothing leaked.

Each reply is a different user (the server cancels a user's other pending messages, 5.1), all
of them through one shared connection pool, as a service would run it. The test reports the
outcome counts, chats leaked (must be 0), connections left (must be 0) and memory.
"""

from __future__ import annotations

import collections
import resource
import tracemalloc
from collections.abc import Iterator

import anyio
import pytest

from openassistant_sdk import AsyncClient, OpenAssistantError, RetryPolicy, ServiceUnavailableError
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault

from .conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONCURRENT = 200


@pytest.fixture(scope="module")
def busy_server() -> Iterator[LocalServer]:
    with LocalServer(
        workers=64, token_delay=0.001, rate_limit=None, work_queue_max_size=None
    ) as running:
        yield running


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_hundreds_of_concurrent_replies_with_faults(
    busy_server: LocalServer, anyio_backend: str
) -> None:
    server = busy_server
    server.clear_faults()
    server.add_fault(Fault(action="stream_reset", op="events", after_events=3, times=20))
    server.add_fault(Fault(action="stream_end", op="events", after_events=5, times=10))
    server.add_fault(Fault(action="respond", op="assistant_message", status=503, times=5))
    server.add_fault(Fault(action="unhandled_500", op="create_chat", times=5))
    server.add_fault(Fault(action="reset", op="prompter_message", times=5))
    outcomes: collections.Counter[str] = collections.Counter()
    retry = RetryPolicy(max_retries=3, backoff_base=0.05)
    tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base = AsyncClient(base_url=server.url, debug_user="load", model="_lorem", env={}, retry=retry)
    async with base:

        async def one(index: int) -> None:
            # One connection pool (base's), one user per reply.
            client = base.with_options(debug_user=f"load-{anyio_backend}-{index}")
            try:
                stream = client.stream([{"role": "user", "content": f"question {index}"}])
                async with stream:
                    text = "".join([piece async for piece in stream])
                assert stream.message is not None
                assert text == stream.message.content
                outcomes["complete"] += 1
            except ServiceUnavailableError:
                outcomes["503 (not resent)"] += 1
            except OpenAssistantError as err:
                outcomes[f"{type(err).__name__}: {err}"[:120]] += 1
            finally:
                await client.aclose()

        with anyio.fail_after(90):
            async with anyio.create_task_group() as group:
                for index in range(CONCURRENT):
                    group.start_soon(one, index)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    leaked = server.chats_alive()
    print(
        f"\n{CONCURRENT} concurrent replies ({anyio_backend}): {dict(outcomes)}; chats leaked: {leaked}; "
        f"Python heap peak {peak / 2**20:.1f} MiB; max RSS +{(rss_after - rss_before) / 1024:.1f} MiB"
    )
    assert outcomes["complete"] + outcomes["503 (not resent)"] == CONCURRENT, outcomes
    assert outcomes["503 (not resent)"] == 5
    assert leaked == 0
    assert wait_for(lambda: server.open_connections() == 0)
    server.clear_faults()
