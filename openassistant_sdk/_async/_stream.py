"""Reply streams: the driver that performs a ``ReplyFlow``'s actions, and the user's iterators.

The flow (in the core) decides every step of a reply; ``AsyncReply`` only sends, reads,
sleeps and closes, and hands the flow's events to ``AsyncReplyStream`` (text) and
``AsyncEventStream`` (typed events).
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from openassistant_sdk._actions import Call, CloseStream, Finished, OpenStream, Read, Sleep
from openassistant_sdk._config import CallOptions
from openassistant_sdk._events import ErrorEvent, Event, TokenEvent
from openassistant_sdk._exceptions import (
    APIConnectionError,
    APITimeoutError,
    CleanupWarning,
    GenerationError,
    OpenAssistantError,
)
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._logging import logger
from openassistant_sdk._models import Message
from openassistant_sdk._requests import RequestSpec

from . import _primitives as primitives
from ._http import HTTPX_ERRORS, raise_translated
from ._sender import AsyncSender, Leftovers, orphaned

__all__ = ["AsyncEventStream", "AsyncReply", "AsyncReplyStream"]

_DRAIN_BYTES = 64 * 1024
_DRAIN_TIMEOUT = 1.0


class AsyncReply:
    """Perform one reply's flow: send, read, sleep, close; then release what it holds."""

    def __init__(
        self, sender: AsyncSender, flow: ReplyFlow, siblings: list[AsyncReply] | None = None
    ) -> None:
        self._sender = sender
        self._siblings = siblings  # a chat's replies: one at a time
        self.flow = flow
        self.events = flow.events
        self._leftovers = Leftovers(flow)
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._stream_spec: RequestSpec | None = None
        self.started = False
        self.closed = False

    async def start(self) -> None:
        """Send the requests that start the reply (once)."""
        if self.started:
            return
        self.started = True
        sender = self._sender
        sender.check_open()
        self._finalizer = weakref.finalize(self, orphaned, sender.orphans, self._leftovers)
        sender.live.add(self)
        try:
            if self._siblings is not None:  # one reply at a time in a chat
                for previous in self._siblings:
                    await previous.aclose()
                # A reply still being generated is kept in mind: its chat waits for it.
                self._siblings[:] = [r for r in self._siblings if r.flow.generating] + [self]
            self.flow.start()
            while not self.flow.events and self._chunks is None and not self.flow.done:
                await self._perform(self.flow.next_action())
        except BaseException as exc:
            await self.shutdown(exc)
            raise

    async def next_event(self) -> Event:
        """Return the next event the user should see; raise StopAsyncIteration at the end."""
        flow = self.flow
        events = self.events
        if self.closed and not events:
            raise StopAsyncIteration
        try:
            if not self.started:
                await self.start()
            while True:
                if events:
                    return events.popleft()
                action = flow.next_action()
                if type(action) is not Read:
                    if type(action) is Finished:
                        await self.shutdown(None)
                        raise StopAsyncIteration
                    await self._perform(action)
                    continue
                # Reading a chunk, inline: this runs for every chunk. Plain try blocks, no
                # context manager and no wrapper when the transport times each read out.
                chunks = self._chunks
                assert chunks is not None
                try:
                    try:
                        if action.timed:
                            chunk = await primitives.read_chunk(chunks, action.timeout)
                        else:
                            try:
                                chunk = await chunks.__anext__()
                            except StopAsyncIteration:
                                chunk = None
                    except HTTPX_ERRORS as exc:
                        assert self._stream_spec is not None
                        raise_translated(self._stream_spec, exc)
                except (TimeoutError, APITimeoutError):
                    flow.receive_timeout()
                    continue
                except APIConnectionError as err:
                    flow.receive_broken(err)
                    continue
                if chunk is None:
                    flow.receive_end()
                else:
                    flow.receive_data(chunk)
        except StopAsyncIteration:
            raise
        except BaseException as exc:
            await self.shutdown(exc)
            if isinstance(exc, OpenAssistantError):
                self._sender.redact(exc)
            raise

    async def _perform(self, action: Any) -> None:
        """Do one action other than a read, and report its outcome to the flow."""
        flow = self.flow
        kind = type(action)
        if kind is Call:
            await self._call(action)
        elif kind is OpenStream:
            response = await self._send(action.spec, action.options, action.read_timeout)
            if response is None:
                return
            self._leftovers.response = response
            self._stream_spec = action.spec
            if flow.stream_opened(response.status_code, response.headers.get("content-type", "")):
                self._chunks = response.aiter_bytes()
            else:
                await self._close_response()
        elif kind is CloseStream:
            await self._close_response()
        elif kind is Sleep:
            await primitives.sleep(action.seconds)
        else:  # a read before the stream is open, or Finished: nothing to do yet
            assert kind is Finished, kind

    async def _call(self, action: Call) -> None:
        if not action.shield:
            self._answer(await self._send(action.spec, action.options))
            return
        # Never bounded: the request's own timeouts bound it. The answer reaches the flow
        # inside the shield, so an interruption held back until its end finds the chat known
        # (and so released).
        with primitives.ShieldCancellation(None):
            self._answer(await self._send(action.spec, action.options))

    async def _send(
        self, spec: RequestSpec, options: CallOptions | None, read_timeout: float | None = None
    ) -> httpx.Response | None:
        try:
            return await self._sender.send(spec, read_timeout=read_timeout, options=options)
        except OpenAssistantError as err:
            self.flow.receive_failure(err)  # raises it, unless it only means "not known"
            return None

    def _answer(self, response: httpx.Response | None) -> None:
        if response is not None:
            content_type = response.headers.get("content-type", "")
            self.flow.receive_response(response.status_code, content_type, response.content)

    async def _drain(self) -> None:
        """Read what is left of a finished stream, briefly, so its connection can be pooled."""
        chunks, response = self._chunks, self._leftovers.response
        if chunks is not None and response is not None:
            # A broken connection is not pooled anyway: nothing to report.
            with contextlib.suppress(*HTTPX_ERRORS):
                await primitives.drain(chunks, response, _DRAIN_BYTES, _DRAIN_TIMEOUT)
        await self._close_response()

    async def _close_response(self) -> None:
        chunks, self._chunks = self._chunks, None
        response, self._leftovers.response = self._leftovers.response, None
        try:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()  # close the body iterator itself, not only the response (trio)
        finally:
            if response is not None:
                await response.aclose()

    async def aclose(self) -> None:
        """Release the connection and, for a one-shot reply, delete its chat (idempotent)."""
        await self.shutdown(None)

    async def shutdown(self, exc: BaseException | None) -> None:
        """Release what the reply holds, as its flow says, bounded and shielded."""
        if self.closed:
            return
        self.closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        sender = self._sender
        sender.live.discard(self)
        cleanup = self.flow.cleanup(exc)
        shield = primitives.ShieldCancellation(sender.options.cleanup_timeout)
        error: Exception | None = None
        with shield:
            try:
                if cleanup.drain:
                    await self._drain()
                else:
                    await self._close_response()
            except Exception as err:  # a broken connection is already released
                logger.debug("closing a reply stream failed: %s", err)
            error = await sender.release(cleanup)
        if shield.timed_out and cleanup.delete is not None and error is None:
            error = APITimeoutError(f"deleting chat {cleanup.delete} took too long")
        if error is not None:
            # The reply (or the original error) matters more than a failed cleanup.
            warnings.warn(
                f"could not delete chat {cleanup.delete}: {error}", CleanupWarning, stacklevel=3
            )


_Stream = TypeVar("_Stream", bound="_AsyncStreamBase")


class _AsyncStreamBase:
    def __init__(self, reply: AsyncReply) -> None:
        self._reply = reply

    @property
    def message(self) -> Message | None:
        """The final assistant message, once the stream is exhausted."""
        return self._reply.flow.final

    @property
    def prompter_message(self) -> Message | None:
        """The prompter message this reply answers, once sent."""
        return self._reply.flow.prompter_message

    @property
    def chat_id(self) -> str | None:
        """The chat the reply belongs to, once known."""
        return self._reply.flow.chat_id

    @property
    def skipped_events(self) -> int:
        """Malformed events skipped under ``on_malformed="skip"``."""
        return self._reply.flow.skipped

    async def aclose(self) -> None:
        """Stop the reply: release its connection (and delete a one-shot chat). Idempotent."""
        await self._reply.aclose()

    async def __aenter__(self: _Stream) -> _Stream:
        await self._reply.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._reply.shutdown(exc)


class AsyncReplyStream(_AsyncStreamBase):
    """The text of a reply, token by token: ``async for text in stream``.

    Never yields an empty string. An in-stream error raises ``GenerationError``.
    """

    def __aiter__(self) -> AsyncReplyStream:
        return self

    async def __anext__(self) -> str:
        reply = self._reply
        events = reply.events
        while True:
            # Events already decoded are handed out without a call into the reply.
            event = events.popleft() if events else await reply.next_event()
            kind = type(event)
            if kind is TokenEvent:
                assert isinstance(event, TokenEvent)
                if event.text:
                    return event.text
            elif kind is ErrorEvent:
                assert isinstance(event, ErrorEvent)
                await reply.aclose()
                raise reply._sender.redact(GenerationError(event.error, event.message))


class AsyncEventStream(_AsyncStreamBase):
    """A reply as typed events: ``async for event in stream``.

    Yields ``PendingEvent``, ``TokenEvent``, ``PluginIntermediateEvent``,
    unknown events, and ends with a ``MessageEvent`` or an ``ErrorEvent``.
    """

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        events = self._reply.events
        return events.popleft() if events else await self._reply.next_event()
