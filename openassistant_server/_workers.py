"""Simulated inference workers: pop message ids, check timeout and cancellation, stream tokens.

Mirrors `routes/workers.py` and the worker's `work.py` (docs/protocol.md 3, 5.1): a message
older than `assistant_message_timeout` when picked gets state `timeout` and an `error`
event; a cancelled one is skipped; otherwise tokens go to the message's event buffer, then
the `message` event right after the last token (10.8).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from ._backend import is_backend
from ._eventsource import encode_data, sse_json
from ._generators import generate_tokens
from ._store import Message

if TYPE_CHECKING:
    from ._engine import ServerCore
    from ._queues import WorkQueue

__all__ = ["run_workers"]


def run_workers(core: ServerCore, tg: anyio.abc.TaskGroup) -> None:
    """Start `config.workers` workers for every model config that has a generator."""
    compat_hashes = []
    for name, generator in core.served.items():
        if generator is None:
            continue  # accepted, but no worker ever connects for it (4.3)
        compat_hash = core.model_config(name).compat_hash
        if compat_hash not in compat_hashes:
            compat_hashes.append(compat_hash)
    for compat_hash in compat_hashes:
        queue = core.work_queue(compat_hash)
        for _ in range(core.config.workers):
            tg.start_soon(_worker, core, queue)


async def _worker(core: ServerCore, queue: WorkQueue) -> None:
    while True:
        message_id = None if core.workers_paused else queue.pop()
        if message_id is None:
            await queue.changed.wait()
            continue
        await _work(core, queue, message_id)


def _push_error(core: ServerCore, message: Message, error: str) -> None:
    event = {"event_type": "error", "error": error, "message": message.to_json()}
    core.message_queue(message.id).push(encode_data(sse_json(event)), terminal=True)


async def _work(core: ServerCore, queue: WorkQueue, message_id: str) -> None:
    message = core.store.messages.get(message_id)
    if message is None:
        return  # its chat was deleted
    if message.lost:
        return  # taken by a crashed handler (emulate_delete_loss): `pending` forever
    timeout = core.config.assistant_message_timeout
    # `ChatRepository.start_work`: the age check comes before the cancellation check.
    if timeout > 0 and time.monotonic() - message.created_monotonic > timeout:
        message.state = "timeout"
        _push_error(core, message, "Timeout")
        return
    if message.state != "pending":
        return  # cancelled (or otherwise no longer waiting)
    message.state = "in_progress"
    await _generate(core, queue, message)


def _prompt_of(core: ServerCore, message: Message) -> str:
    parent = core.store.messages.get(message.parent_id or "")
    return parent.content or "" if parent is not None else ""


async def _generate(core: ServerCore, queue: WorkQueue, message: Message) -> None:
    if core.backend is not None and is_backend(message.generator):
        assert message.generator is not None
        await core.backend.generate(core, message, message.generator)
        return
    params = message.work_parameters or {}
    sampling = params.get("sampling_parameters") or {}
    tokens = generate_tokens(
        message.generator or "lorem",
        prompt=_prompt_of(core, message),
        max_new_tokens=int(sampling.get("max_new_tokens", 1024)),
        rng=core.rng,
    )
    buffer = core.message_queue(message.id)
    delay = core.config.token_delay
    fault = message.worker_fault
    for index, token in enumerate(tokens):
        if fault is not None and index >= fault[0]:
            _fail(core, queue, message, sent=index, error=fault[1])
            return
        # The worker's token buffer holds one token back, so the last token follows the
        # one before it at once, together with the final message (10.8).
        if index < len(tokens) - 1 or len(tokens) == 1:
            await anyio.sleep(delay)
        if message.id not in core.store.messages:
            return
        event = {"event_type": "token", "text": token}
        buffer.push(encode_data(sse_json(event)))
    if fault is not None and fault[0] == len(tokens) > 0:
        _fail(core, queue, message, sent=len(tokens), error=fault[1])
        return
    message.content = "".join(tokens)
    message.state = "complete"
    buffer.push(
        encode_data(sse_json({"event_type": "message", "message": message.to_json()})),
        terminal=True,
    )


def _fail(core: ServerCore, queue: WorkQueue, message: Message, *, sent: int, error: str) -> None:
    message.worker_fault = None
    if sent == 0:
        # A worker that fails before any output has its message reset and re-queued.
        message.state = "pending"
        message.compat_hash = None
        queue.enqueue(message.id, enforce_max_size=False)
        return
    message.state = "aborted_by_worker"
    message.error = error
    _push_error(core, message, error)
