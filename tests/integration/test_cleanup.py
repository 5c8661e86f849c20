"""Cleanup that cannot be skipped: cancellation, abandoned streams, Ctrl-C, a closing client."""

from __future__ import annotations

import gc
from typing import Any

import anyio
import attrs
import pytest

from openassistant_sdk import AsyncClient, CleanupWarning
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault

from .conftest import wait_for

pytestmark = [pytest.mark.integration]

ASK = [{"role": "user", "content": "Tell me something"}]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _unfinished(server: LocalServer) -> int:
    states = server.messages_by_state()
    return states.get("pending", 0) + states.get("in_progress", 0)


def client_for(server: LocalServer, user: str) -> AsyncClient:
    return AsyncClient(base_url=server.url, debug_user=user, model="_lorem", env={})


@pytest.mark.anyio
async def test_a_cancelled_task_leaves_at_once_and_its_chat_goes_when_the_reply_is_done(
    server: LocalServer, clean: None, anyio_backend: str
) -> None:
    server.pause_workers()  # the reply does not start: only pending events arrive
    async with client_for(server, f"cancel-{anyio_backend}") as client:
        with anyio.move_on_after(0.6) as scope:
            async with client.chat() as chat:
                async for _ in chat.stream("answered later"):
                    pass
        assert scope.cancelled_caught  # leaving did not wait for the generation
        assert chat.deleted  # queued: never a DELETE while its message is pending
        assert server.chats_alive() >= 1
        server.resume_workers()
    # Closing the client waited for the reply to finish, then deleted the chat (`clean`).


@pytest.mark.anyio
async def test_a_cancelled_one_shot_call_deletes_its_chat_once_the_reply_is_done(
    server: LocalServer, clean: None, anyio_backend: str
) -> None:
    server.pause_workers()
    async with client_for(server, f"cancel1-{anyio_backend}") as client:
        with anyio.move_on_after(0.6) as scope:
            await client.complete(ASK)
        assert scope.cancelled_caught
        assert server.chats_alive() >= 1
        server.resume_workers()


@pytest.mark.anyio
async def test_a_reply_that_never_finishes_leaves_its_chat_with_a_warning(
    server: LocalServer, anyio_backend: str
) -> None:
    server.pause_workers()
    user = f"stuck-{anyio_backend}"
    client = AsyncClient(
        base_url=server.url, debug_user=user, model="_lorem", env={}, close_timeout=0.3
    )
    with anyio.move_on_after(0.3):
        await client.complete(ASK)
    (chat,) = (await client.list_chats()).chats
    with anyio.fail_after(5), pytest.warns(CleanupWarning, match=f"chat {chat.id} left"):
        await client.aclose()
    assert server.chats_alive() >= 1  # left, not deleted while pending
    server.resume_workers()
    assert wait_for(lambda: not _unfinished(server))  # then the test leaves nothing behind
    async with client_for(server, user) as again:
        await again.delete_chat(chat.id)


@pytest.mark.anyio
async def test_cancelling_one_task_leaves_the_others_running(
    server: LocalServer, clean: None, anyio_backend: str
) -> None:
    # Two users share one connection pool (one httpx client); one of them is cancelled.
    import httpx

    results: list[str] = []
    async with httpx.AsyncClient() as http:
        first = AsyncClient(
            base_url=server.url,
            debug_user=f"a-{anyio_backend}",
            model="_lorem",
            env={},
            http_client=http,
        )
        second = AsyncClient(
            base_url=server.url,
            debug_user=f"b-{anyio_backend}",
            model="_lorem",
            env={},
            http_client=http,
        )

        async def ask() -> None:
            results.append(await first.complete(ASK))

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            for delay in (0.0, 0.01, 0.03, 0.1):  # cancel at different points of the flow
                with anyio.move_on_after(delay):
                    await second.complete(ASK)
        await first.aclose()
        await second.aclose()
    assert len(results) == 1
    assert results[0]


@pytest.mark.anyio
async def test_an_abandoned_async_stream_warns_and_its_chat_goes_with_the_client(
    server: LocalServer, clean: None, anyio_backend: str
) -> None:
    client = client_for(server, f"gc-{anyio_backend}")
    stream = client.stream(ASK)
    await stream.__anext__()  # started: the chat exists and the stream holds a connection
    assert server.chats_alive() >= 1
    # The stream may be freed by `del` itself (refcounting) or by the collector: both inside.
    with pytest.warns(ResourceWarning, match="garbage-collected"):  # noqa: PT031
        del stream
        gc.collect()
    await client.aclose()  # the client deletes what abandoned streams left behind


def test_an_abandoned_sync_stream_is_cleaned_up_by_the_next_request(
    server: LocalServer, clean: None
) -> None:
    from openassistant_sdk import Client

    with Client(base_url=server.url, debug_user="gc-sync", model="_lorem", env={}) as client:
        stream = client.stream(ASK)
        next(stream)
        with pytest.warns(ResourceWarning, match="garbage-collected"):  # noqa: PT031 - as above
            del stream
            gc.collect()
        assert server.chats_alive() >= 1
        # Any request first finishes what was abandoned: once its reply is done, the chat.
        assert wait_for(lambda: client.models() and server.chats_alive() == 0)


@pytest.mark.anyio
async def test_a_cleanup_cut_short_by_its_bound_warns_and_does_not_hang(
    server: LocalServer, anyio_backend: str
) -> None:
    client = client_for(server, f"slow-delete-{anyio_backend}")
    options = client._sender.options
    client._sender.options = attrs.evolve(options, cleanup_timeout=0.3, close_timeout=0.3)
    stream = client.stream(ASK)
    await stream.__anext__()  # its chat exists, to be deleted when the client closes
    server.add_fault(Fault(action="delay", op="delete_chat", delay=3.0, times=1))
    with anyio.fail_after(2.5), pytest.warns(CleanupWarning):
        await client.aclose()
    # What the bound left behind is deleted here, so the test leaves nothing.
    assert wait_for(lambda: not _unfinished(server))
    server.clear_faults()
    async with client_for(server, f"slow-delete-{anyio_backend}") as again:
        for chat in (await again.list_chats()).chats:
            await again.delete_chat(chat.id)
    assert server.chats_alive() == 0


_CTRL_C_WHILE_CREATING = """
import sys, time
import httpx
from openassistant_sdk import Client

class SlowAnswerToCreate(httpx.HTTPTransport):
    # The server has stored the chat; its answer is slow to arrive (Ctrl-C comes meanwhile).
    def handle_request(self, request):
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/chats":
            response.read()
            print("stored", flush=True)
            time.sleep(3)
        return response

http = httpx.Client(transport=SlowAnswerToCreate())
client = Client(base_url=sys.argv[1], debug_user="ctrl-c", env={}, http_client=http)
client.models()
try:
    with client.chat() as chat:
        chat.send("never sent")
finally:
    print("chats left:", len(client.list_chats().chats), flush=True)
"""


def test_ctrl_c_while_a_chat_is_created_in_blocking_code_leaves_no_chat(
    server: LocalServer, tmp_path: Any
) -> None:
    import signal
    import subprocess
    import sys

    script = tmp_path / "ctrl_c.py"
    script.write_text(_CTRL_C_WHILE_CREATING)
    with subprocess.Popen(
        [sys.executable, str(script), server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "stored\n"
        proc.send_signal(signal.SIGINT)  # while the answer to POST /chats is on its way
        out, err = proc.communicate(timeout=30)
    assert "KeyboardInterrupt" in err
    assert out == "chats left: 0\n"


def test_an_async_client_works_from_one_asyncio_run_to_the_next(server: LocalServer) -> None:
    # Scripts and notebooks: a client made once, used under one event loop, then another.
    import asyncio

    before = server.chats_alive()
    client = AsyncClient(base_url=server.url, debug_user="loops", model="echo", env={})

    async def ask() -> str:
        return await client.complete([{"role": "user", "content": "Hi"}])

    assert asyncio.run(ask()).endswith("Hi")
    assert asyncio.run(ask()).endswith("Hi")  # the first loop's connections are not used
    asyncio.run(client.aclose())
    assert wait_for(lambda: server.chats_alive() == before)


def test_a_callers_http_client_in_a_second_loop_is_a_clear_error(server: LocalServer) -> None:
    import asyncio

    import httpx

    from openassistant_sdk import OpenAssistantError

    before = server.chats_alive()
    http = httpx.AsyncClient()
    client = AsyncClient(
        base_url=server.url, debug_user="loops2", model="echo", env={}, http_client=http
    )

    async def ask() -> str:
        return await client.complete([{"role": "user", "content": "Hi"}])

    async def first() -> str:
        async with http:  # the caller closes what it owns, in its loop
            return await ask()

    assert asyncio.run(first()).endswith("Hi")
    with pytest.raises(OpenAssistantError, match="another event loop"):
        asyncio.run(ask())  # before any request: nothing is left behind
    assert wait_for(lambda: server.chats_alive() == before)
