"""Reply streams: each performs its reply's ``ReplyFlow`` and hands out the events.

The flow (in the core) decides every step of a reply; a stream only sends, reads, sleeps and
closes. ``AsyncReplyStream`` yields the text, ``AsyncEventStream`` the typed events.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, TypeVar

from openassistant_sdk._actions import Call, Cleanup, Finished, OpenStream, Read, Sleep
from openassistant_sdk._chats import Leftovers, orphaned, warn_left
from openassistant_sdk._events import ErrorEvent, Event, TokenEvent
from openassistant_sdk._exceptions import APIConnectionError, GenerationError, OpenAssistantError
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._logging import logger
from openassistant_sdk._models import Message
from openassistant_sdk._requests import RequestSpec

from . import _primitives as primitives
from ._http import HTTPX_ERRORS, raise_translated
from ._sender import AsyncSender

__all__ = ["AsyncEventStream", "AsyncReply", "AsyncReplyStream"]

_DRAIN_BYTES = 64 * 1024
_DRAIN_TIMEOUT = 1.0

_Stream = TypeVar("_Stream", bound="AsyncReply")


class AsyncReply:
    """A reply: performs its flow (send, read, sleep, close), then releases what it holds.

    The base of both streams. It starts on entering ``async with`` or on first iteration,
    and is closed at its end, by ``aclose`` or on leaving ``async with``.
    """

    def __init__(
        self, sender: AsyncSender, flow: ReplyFlow, siblings: list[AsyncReply] | None = None
    ) -> None:
        self._sender = sender
        self._siblings = siblings  # a chat's replies: one at a time
        self._flow = flow
        self._events = flow.events
        self._leftovers = Leftovers(flow)
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._chunks: Any = None  # its body, chunk by chunk
        self._spec: RequestSpec | None = None  # the event stream's request, once opened
        self._started = self._closed = False

    @property
    def message(self) -> Message | None:
        """The final assistant message, once the stream is exhausted."""
        return self._flow.final

    @property
    def prompter_message(self) -> Message | None:
        """The prompter message this reply answers, once sent."""
        return self._flow.prompter_message

    @property
    def chat_id(self) -> str | None:
        """The chat the reply belongs to, once known."""
        return self._flow.chat_id

    @property
    def skipped_events(self) -> int:
        """Malformed events skipped under ``on_malformed="skip"``."""
        return self._flow.skipped

    async def __aenter__(self: _Stream) -> _Stream:
        await self._start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._shutdown(exc_info[1])

    async def aclose(self) -> None:
        """Stop the reply: release its connection (and delete a one-shot chat). Idempotent."""
        await self._shutdown(None)

    async def _start(self) -> None:
        """Send the requests that start the reply (once), up to its first event or stream."""
        if self._started:
            return
        self._started = True
        sender = self._sender
        sender.check_open()
        self._finalizer = weakref.finalize(self, orphaned, sender.janitor.orphans, self._leftovers)
        sender.live.add(self)
        try:
            if self._siblings is not None:  # one reply at a time in a chat
                for previous in self._siblings:
                    await previous.aclose()
                # A reply still being generated is kept in mind: its chat waits for it.
                self._siblings[:] = [r for r in self._siblings if r._flow.generating] + [self]
            self._flow.start()
            while not self._events and self._chunks is None and not self._flow.done:
                await self._perform(self._flow.next_action())
        except BaseException as exc:
            await self._shutdown(exc)
            raise

    async def _next_event(self) -> Event:
        """Return the next event the user should see; raise StopAsyncIteration at the end."""
        flow, events = self._flow, self._events
        if self._closed and not events:
            raise StopAsyncIteration
        try:
            if not self._started:
                await self._start()
            while not events:
                action = flow.next_action()
                if type(action) is not Read:
                    await self._perform(action)
                    continue
                # Reading a chunk, inline: this runs for every chunk. Plain try blocks, no
                # wrapper when the transport times each read out.
                try:
                    try:
                        if action.timed:
                            chunk = await primitives.read_chunk(self._chunks, action.timeout)
                        else:
                            chunk = await self._chunks.__anext__()
                    except HTTPX_ERRORS as exc:
                        assert self._spec is not None
                        raise_translated(self._spec, exc)
                except StopAsyncIteration:
                    chunk = None
                except TimeoutError:
                    flow.receive_timeout()
                    continue
                except APIConnectionError as err:
                    flow.receive_broken(err)  # a timeout, or a broken connection
                    continue
                if chunk is None:
                    flow.receive_end()
                else:
                    flow.receive_data(chunk)
            return events.popleft()
        except BaseException as exc:
            await self._shutdown(exc)
            if isinstance(exc, OpenAssistantError):
                self._sender.redact(exc)
            raise

    async def _perform(self, action: Any) -> None:
        """Do one action other than a read, and report its outcome to the flow."""
        kind = type(action)
        if kind is Call:
            await self._sender.call(self._flow, action)
        elif kind is OpenStream:
            await self._open(action)
        elif kind is Sleep:
            await primitives.sleep(action.seconds)
        elif kind is Finished:
            await self._shutdown(None)
            raise StopAsyncIteration
        else:
            await self._close_response()  # CloseStream

    async def _open(self, action: OpenStream) -> None:
        try:
            response = await self._sender.send(
                action.spec, read_timeout=action.read_timeout, options=action.options
            )
        except OpenAssistantError as err:
            self._flow.receive_failure(err)  # raises it, unless it only means "not known"
            return
        self._leftovers.response = response  # the open event stream
        self._spec = action.spec
        if self._flow.stream_opened(response.status_code, response.headers.get("content-type", "")):
            self._chunks = response.aiter_bytes()
        else:
            await self._close_response()

    async def _close_response(self, drain: bool = False) -> None:
        """Close the event stream; after a normal end, read its rest briefly to pool it."""
        chunks, self._chunks = self._chunks, None
        response, self._leftovers.response = self._leftovers.response, None
        try:
            if drain and chunks is not None:
                # A broken connection is not pooled anyway: nothing to report.
                with contextlib.suppress(*HTTPX_ERRORS):
                    await primitives.drain(chunks, response, _DRAIN_BYTES, _DRAIN_TIMEOUT)
            if chunks is not None:
                await chunks.aclose()  # the body iterator itself, not only the response (trio)
        finally:
            if response is not None:
                await response.aclose()

    async def _shutdown(self, exc: BaseException | None) -> None:
        """Release what the reply holds, as its flow says, bounded and shielded (once)."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        self._sender.live.discard(self)
        cleanup = self._flow.cleanup(exc)
        deleting = f"deleting chat {cleanup.delete}" if cleanup.delete is not None else None
        error = await self._sender.cleanly(deleting, self._release, cleanup)
        if error is not None:  # the reply (or the original error) matters more
            warn_left(str(cleanup.delete), error, stacklevel=3)

    async def _release(self, cleanup: Cleanup) -> Exception | None:
        try:
            await self._close_response(cleanup.drain)
        except Exception as err:  # a broken connection is already released
            logger.debug("closing a reply stream failed: %s", err)
        return await self._sender.release(cleanup)


class AsyncReplyStream(AsyncReply):
    """The text of a reply, token by token: ``async for text in stream``.

    Never yields an empty string. An in-stream error raises ``GenerationError``.
    """

    def __aiter__(self) -> AsyncReplyStream:
        return self

    async def __anext__(self) -> str:
        events = self._events
        while True:
            # Events already decoded are handed out without a call into the reply.
            event = events.popleft() if events else await self._next_event()
            if type(event) is TokenEvent:
                if event.text:
                    return event.text
            elif type(event) is ErrorEvent:
                await self.aclose()
                error = GenerationError(event.error, event.message)
                raise self._sender.redact(error)


class AsyncEventStream(AsyncReply):
    """A reply as typed events: ``async for event in stream``.

    Yields ``PendingEvent``, ``TokenEvent``, ``PluginIntermediateEvent``,
    unknown events, and ends with a ``MessageEvent`` or an ``ErrorEvent``.
    """

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        events = self._events
        return events.popleft() if events else await self._next_event()
