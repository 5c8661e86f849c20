"""The reply flow: one reply, from its first request to its last event, with no I/O.

Strategy
--------
A reply is a short conversation with the server: (for a one-shot call) create a chat, post the
prompter message, post the assistant message, open its event stream and read it; if the
stream ends early, fetch the message until it is finished and reopen the stream between
fetches; when it stalls, fetch the message to see whether it finished anyway. Every one of
those decisions lives here, in ``ReplyFlow``; the facades only perform its actions.

The facade asks ``next_action()`` what to do and reports what happened:

==================  =======================================================================
action              the facade does it, then reports
==================  =======================================================================
``Call``            send the request (retries, auth: the client's request loop); then
                    ``receive_response(status, content_type, body)`` or ``receive_failure(err)``
``OpenStream``      open the event stream with this HTTP read timeout; then
                    ``stream_opened(status, content_type)`` or ``receive_failure(err)``
``Read``            read one chunk (timing the read itself when ``timed``); then
                    ``receive_data(chunk)``, ``receive_end()``, ``receive_timeout()`` or
                    ``receive_broken(err)``
``CloseStream``     close the open event stream; nothing to report
``Sleep``           sleep; nothing to report
``Finished``        stop: the reply is over; ``cleanup()`` says what to release
==================  =======================================================================

Events for the user collect in ``events``; the facade hands them out before it asks for the
next action. "Not yet" is never a callback: it is the next action. An error the user must see
is raised from the ``receive_*`` call that learned of it. The flow reads time only through
the ``clock`` it is given, so tests drive it with canned responses, lists of bytes and a
fake clock. The wire rules it follows are in docs/protocol.md (sections 3 and 5).
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ._actions import (
    CLOSE,
    FINISHED,
    UNTIMED_READ,
    Action,
    Call,
    Cleanup,
    OpenStream,
    PendingDeletion,
    Read,
    Sleep,
)
from ._events import ErrorEvent, Event
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    OpenAssistantError,
    StreamError,
)
from ._logging import logger
from ._models import ChatInfo, Message, SamplingParameters
from ._reply import ReplyTracker, failure_text, recovery_step
from ._requests import RequestSpec, Routes
from ._responses import parse_json_body
from ._sse import EventDecoder, MalformedPolicy
from ._turns import Thread

__all__ = ["ReplyFlow", "State"]

#: Waits between fetches of a message while a broken reply is recovered.
RECOVERY_POLL = (0.25, 0.5, 1.0, 2.0)
#: While only ``pending`` events arrive, look at the message this often: a cancelled message
#: streams ``pending`` forever (docs/protocol.md 3.3, 5.1), and waiting for the stall timeout
#: to say so would waste minutes.
PENDING_CHECK = 10.0
#: Content types an event stream may come with (the website passes the upstream's through).
EVENT_CONTENT_TYPES = ("", "text/event-stream", "text/plain", "application/octet-stream")


class State(enum.Enum):
    """Where a reply stands."""

    IDLE = "idle"  #: made; nothing sent
    CREATING_CHAT = "creating chat"  #: a one-shot reply creates its own chat
    POSTING_PROMPT = "posting prompt"  #: the prompter message is on its way
    POSTING_REPLY = "posting reply"  #: the assistant message is on its way
    OPENING = "opening"  #: the event stream is being opened (maybe after a wait)
    STREAMING = "streaming"  #: reading events
    CHECKING = "checking"  #: streaming, and fetching the message: did it die in the queue?
    EXPIRING = "expiring"  #: a time limit passed: fetching the message for a last look
    RECOVERING = "recovering"  #: the stream ended early: fetching the message
    DONE = "done"  #: the final events are queued


class _Purpose(enum.Enum):
    CREATE = "create"
    PROMPT = "prompt"
    REPLY = "reply"
    CHECK = "check"
    EXPIRE = "expire"
    RECOVER = "recover"
    OPEN = "open"


# -- the flow ------------------------------------------------------------------------------------


class ReplyFlow:
    """One reply as a state machine; see the module's docstring for the protocol.

    Args:
        routes: The API's request builders.
        thread: The chat's thread, or ``None`` for a one-shot reply, which creates its own
            chat and owns it.
        content: The prompter message's text.
        model: The model config name.
        sampling: The sampling parameters.
        extra: Optional assistant-message fields (``system_prompt``, ``user_profile``,
            ``user_response_instructions``); ``None`` values are not sent.
        stall_timeout: Seconds without progress before the reply expires; ``None``: no limit.
        stream_timeout: Seconds the whole reply may take from its assistant message on.
        recover: Recover a reply whose stream broke (otherwise: ``StreamError``).
        max_recoveries: Fetches of an unfinished message before giving up.
        on_malformed: What the event decoder does with a malformed event.
        max_event_size: The event decoder's size limit.
        reads_bounded: Whether the transport times out every read by the HTTP read timeout.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        routes: Routes,
        thread: Thread | None,
        content: str,
        *,
        model: str,
        sampling: SamplingParameters,
        extra: Mapping[str, str | None] | None = None,
        stall_timeout: float | None = None,
        stream_timeout: float | None = None,
        recover: bool = True,
        max_recoveries: int = 3,
        on_malformed: MalformedPolicy = "raise",
        max_event_size: int | None = None,
        reads_bounded: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routes = routes
        self.thread = thread
        self.content = content
        self.model = model
        self.sampling = sampling
        self.extra = dict(extra or {})
        self.stall = stall_timeout
        self.span = stream_timeout
        self.recover = recover
        self.max_recoveries = max_recoveries
        self._decoder_options: dict[str, Any] = {"on_malformed": on_malformed}
        if max_event_size is not None:
            self._decoder_options["max_event_size"] = max_event_size
        self._decoder = EventDecoder(**self._decoder_options)
        self._clock = clock
        # A stream is opened with the stall timeout as its HTTP read timeout. If the transport
        # enforces that on every read and no stream_timeout shortens it, a timer of the
        # facade's own per chunk would only repeat it, at a price that exceeds the rest of a
        # chunk's handling when each event comes in a chunk of its own.
        self.timed = stream_timeout is not None or not reads_bounded
        self.tracker = ReplyTracker()
        self.events: deque[Event] = deque()
        self.state = State.IDLE
        self._actions: deque[Action] = deque()
        self._purpose: _Purpose | None = None
        self._spec: RequestSpec | None = None  # the request awaiting its answer
        self._owned_chat: str | None = None
        self._maybe_generating = False
        self._recoveries = 0
        self._reason = ""
        self._deadline: float | None = None
        self._last_progress = 0.0
        self._last_check = 0.0
        self._seen_bytes = False
        self.chat_id: str | None = thread.chat_id if thread is not None else None
        self.prompter_message: Message | None = None
        self.assistant_message: Message | None = None

    # -- what the facade reads ------------------------------------------------------------------

    @property
    def final(self) -> Message | None:
        """The complete (or failed) assistant message, once known."""
        return self.tracker.final

    @property
    def skipped(self) -> int:
        """Malformed events skipped under ``on_malformed="skip"``."""
        return self._decoder.skipped

    @property
    def done(self) -> bool:
        """Whether the final events are queued."""
        return self.state is State.DONE

    @property
    def generating(self) -> bool:
        """Whether the server may still be generating this reply's assistant message.

        True from the moment the assistant message may have been stored until a final
        event, or a fetched final state, says it is finished.
        """
        return self._maybe_generating and self.state is not State.DONE

    # -- driving ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin: the first action creates the chat (one-shot) or posts the prompt.

        Raises:
            OpenAssistantError: The chat cannot take another reply.
        """
        if self.state is not State.IDLE:
            return
        if self.thread is None:
            self._call(_Purpose.CREATE, self.routes.create_chat(), State.CREATING_CHAT, True)
        else:
            self.thread.check_continuable()
            self._post_prompt()

    def next_action(self) -> Action:
        """Return what the facade must do next."""
        if self._actions:
            return self._actions.popleft()
        state = self.state
        if state is State.STREAMING:
            return self._read_action()
        if state is State.DONE:
            return FINISHED
        raise RuntimeError(f"the reply flow waits for an answer in state {state.value!r}")

    def receive_response(self, status: int, content_type: str, body: bytes) -> None:
        """Take the successful answer to the last ``Call``.

        Raises:
            InvalidResponseError: The answer is not what the API promises.
            APITimeoutError, StreamError: The reply cannot end well (see the module docs).
        """
        purpose, spec = self._answered()
        data = parse_json_body(
            body,
            status=status,
            content_type=content_type,
            method=spec.method,
            path=spec.log_path,
        )
        if purpose is _Purpose.CREATE:
            self.chat_id = self._owned_chat = ChatInfo.from_json(data).id
            self._post_prompt()
        elif purpose is _Purpose.PROMPT:
            self.prompter_message = Message.from_json(data)
            if self.thread is not None:
                self.thread.started = True
            self._post_reply()
        elif purpose is _Purpose.REPLY:
            self.assistant_message = Message.from_json(data)
            now = self._clock()
            self._last_progress = now
            if self.span is not None:
                self._deadline = now + self.span
            self._open()
        elif purpose is _Purpose.CHECK:
            self._checked(Message.from_json(data))
        elif purpose is _Purpose.EXPIRE:
            self._expire(Message.from_json(data))
        else:
            self._recovery_step(Message.from_json(data))

    def receive_failure(self, error: OpenAssistantError) -> None:
        """Take the failure of the last ``Call`` or ``OpenStream``.

        A failed look at the message while streaming or after a timeout only means "not
        known"; any other failure ends the reply, and is raised here.
        """
        purpose, _ = self._answered()
        if purpose is _Purpose.CHECK:
            self.state = State.STREAMING
            return
        if purpose is _Purpose.EXPIRE:
            self._expire(None)
            return
        if purpose is _Purpose.REPLY:
            # Stored, or maybe stored, and so maybe generating: a 503 comes after the server
            # stored the message (docs/protocol.md 5.1); a failure after sending leaves it open.
            failure = getattr(error, "failure", None)
            status = getattr(error, "status_code", None)
            self._maybe_generating = status == 503 or (
                status is None and failure in ("read", "timeout", None)
            )
        raise error

    def stream_opened(self, status: int, content_type: str) -> bool:
        """Take the answer to ``OpenStream``; return whether the facade keeps the stream.

        Raises:
            StreamError: The answer is not an event stream.
        """
        self._answered()
        if status == 204:  # already finished (docs/protocol.md 3.3): fetch it
            if not self.tracker.recovering:
                self._begin_recovery("the server reported the message finished", normal=True)
            else:
                self._fetch(_Purpose.RECOVER, State.RECOVERING)
            return False
        kind = content_type.split(";")[0].strip().lower()
        if kind not in EVENT_CONTENT_TYPES:
            raise StreamError(f"expected an event stream, got {kind!r} (status {status})")
        self.state = State.STREAMING
        return True

    def receive_data(self, data: bytes) -> None:
        """Take a chunk of the event stream.

        Raises:
            StreamError: A malformed event (unless skipped).
            APITimeoutError: A time limit passed and the message is not finished (raised
                after the look at the message that the next actions take).
        """
        self._seen_bytes = True
        events = self._decoder.feed(data)
        progress, finished = self.tracker.accept_all(events, self.events)
        if finished:
            # The final events go out first; the drain comes when the stream is shut down.
            self._finish()
        now = self._clock()
        if progress:
            self._last_progress = now  # so the stall timer cannot have run out
            if finished or self._deadline is None or now <= self._deadline:
                return
        elif finished:
            return
        if (self._deadline is not None and now > self._deadline) or (
            self.stall is not None and now - self._last_progress > self.stall
        ):
            self.receive_timeout()
        elif (
            not progress  # (after progress, _last_progress is now)
            and events
            and self.state is State.STREAMING
            and now - max(self._last_progress, self._last_check) > PENDING_CHECK
        ):
            self._last_check = now
            self._fetch(_Purpose.CHECK, State.CHECKING)

    def receive_end(self) -> None:
        """Take the end of the event stream."""
        self._actions.append(CLOSE)
        self._decoder.flush()
        if not self.tracker.finished:
            # An empty body is the website's way of saying "finished" (a 204 upstream, 1.2).
            empty = not self._seen_bytes
            self._begin_recovery("the stream ended without a final event", normal=empty)

    def receive_timeout(self) -> None:
        """Take a read that timed out (the stall or the total limit)."""
        self._actions.append(CLOSE)
        self._fetch(_Purpose.EXPIRE, State.EXPIRING)

    def receive_broken(self, error: APIConnectionError) -> None:
        """Take a stream whose connection broke.

        Raises:
            APIConnectionError: ``error``, when recovery is off.
        """
        self._actions.append(CLOSE)
        if not self.recover:
            raise error
        self._begin_recovery(f"the connection broke: {error}")

    def cleanup(self, error: BaseException | None) -> Cleanup:
        """Say what to release now that the reply stops (normally, or because of ``error``).

        A one-shot reply's chat is deleted, but never while its assistant message may still
        be generating: on the inference server that DELETE makes the worker's handler fail,
        and the next message any user queues is lost (docs/protocol.md 10.14). Such a chat
        is handed back as ``defer``, to be deleted once the message has finished.
        """
        drain = error is None and self.state is State.DONE
        chat, self._owned_chat = self._owned_chat, None
        later = self.pending_deletion() if chat is not None else None
        if later is not None:
            return Cleanup(drain=drain, defer=later)
        return Cleanup(drain=drain, delete=chat)

    def pending_deletion(self) -> PendingDeletion | None:
        """Return how to delete this reply's chat later, if its message may be generating."""
        if self.chat_id is None or not self.generating:
            return None
        message = self.assistant_message.id if self.assistant_message is not None else None
        return PendingDeletion(self.chat_id, message)

    # -- transitions -----------------------------------------------------------------------------

    def _call(self, purpose: _Purpose, spec: RequestSpec, state: State, shield: bool) -> None:
        self._purpose, self._spec, self.state = purpose, spec, state
        self._actions.append(Call(spec, shield))

    def _answered(self) -> tuple[_Purpose, RequestSpec]:
        purpose, spec = self._purpose, self._spec
        if purpose is None or spec is None:
            raise RuntimeError("the reply flow received an answer it did not ask for")
        self._purpose = self._spec = None
        return purpose, spec

    def _post_prompt(self) -> None:
        assert self.chat_id is not None
        parent = self.thread.tail if self.thread is not None else None
        spec = self.routes.prompter_message(self.chat_id, parent, self.content)
        self._call(_Purpose.PROMPT, spec, State.POSTING_PROMPT, False)

    def _post_reply(self) -> None:
        assert self.chat_id is not None
        assert self.prompter_message is not None
        spec = self.routes.assistant_message(
            self.chat_id,
            self.prompter_message.id,
            self.model,
            self.sampling,
            system_prompt=self.extra.get("system_prompt"),
            user_profile=self.extra.get("user_profile"),
            user_response_instructions=self.extra.get("user_response_instructions"),
        )
        self._maybe_generating = True  # from here on the message may exist
        self._call(_Purpose.REPLY, spec, State.POSTING_REPLY, False)

    def _message_spec(self) -> RequestSpec:
        assert self.chat_id is not None
        assert self.assistant_message is not None
        return self.routes.get_message(self.chat_id, self.assistant_message.id)

    def _fetch(self, purpose: _Purpose, state: State) -> None:
        self._call(purpose, self._message_spec(), state, False)

    def _open(self) -> None:
        assert self.chat_id is not None
        assert self.assistant_message is not None
        spec = self.routes.events(self.chat_id, self.assistant_message.id)
        self._purpose, self._spec = _Purpose.OPEN, spec
        self.state = State.RECOVERING if self.tracker.recovering else State.OPENING
        self._actions.append(OpenStream(spec, self._read_timeout()))

    def _read_action(self) -> Read:
        if not self.timed:
            return UNTIMED_READ
        return Read(self._read_timeout(), True)

    def _read_timeout(self) -> float | None:
        limits = [x for x in (self.stall, self._remaining()) if x is not None]
        return max(min(limits), 0.001) if limits else None

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - self._clock()

    def _finish(self) -> None:
        self.state = State.DONE
        final = self.tracker.final
        if self.thread is not None and final is not None and final.state == "complete":
            self.thread.tail = final.id

    def _fail(self, message: Message) -> None:
        self.tracker.error = ErrorEvent(failure_text(message), message)
        self.events.append(self.tracker.error)
        self._finish()

    def _checked(self, message: Message) -> None:
        """End a reply whose message died while queued (cancelled or timed out)."""
        if message.state in ("cancelled", "timeout"):
            self._fail(message)
            self._actions.append(CLOSE)
        else:
            self.state = State.STREAMING

    def _expire(self, message: Message | None) -> None:
        """The stall or total timeout passed: take the final text if the server has it."""
        if message is not None and recovery_step(message) == "done":
            self.tracker.recovering = True
            self.events.extend(self.tracker.finish(message))
            self._finish()
            return
        state = f"; the message is {message.state!r}" if message is not None else ""
        if message is not None and message.state in ("cancelled", "timeout"):
            state += f" ({failure_text(message)})"
        remaining = self._remaining()
        limit = "stream_timeout" if remaining is not None and remaining <= 0 else "stall_timeout"
        raise APITimeoutError(f"no reply within {limit}{state}", failure=None)

    def _begin_recovery(self, reason: str, *, normal: bool = False) -> None:
        """Get the rest of the reply after the stream ended early (docs/design.md, decision 5).

        ``normal`` is the server's own "already finished" answer (204, or an empty 200
        through the website, docs/protocol.md 3.3): the final message is fetched even when
        recovery is off.
        """
        if not normal and not self.recover:
            raise StreamError(f"the reply is incomplete: {reason} (recovery is off)")
        self.tracker.recovering = True
        self._reason = reason
        self._fetch(_Purpose.RECOVER, State.RECOVERING)

    def _recovery_step(self, message: Message) -> None:
        step = recovery_step(message)
        if step == "done":
            self.events.extend(self.tracker.finish(message))
            self._finish()
            return
        if step == "failed":
            self._fail(message)
            return
        self._recoveries += 1
        if self._recoveries > self.max_recoveries:
            raise StreamError(
                f"the reply could not be recovered after {self._recoveries - 1} attempts: "
                f"{self._reason}"
            )
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            self._expire(message)
            return
        logger.info("recovering reply %s: %s", message.id, self._reason)
        self._actions.append(Sleep(RECOVERY_POLL[min(self._recoveries, len(RECOVERY_POLL)) - 1]))
        self._decoder = EventDecoder(**self._decoder_options)
        self._seen_bytes = False
        self._open()
