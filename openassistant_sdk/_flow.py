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

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal

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
    State,
)
from ._config import CallOptions
from ._events import ErrorEvent, Event
from ._exceptions import APIConnectionError, APITimeoutError, OpenAssistantError, StreamError
from ._logging import logger
from ._models import ChatInfo, Message, SamplingParameters
from ._reply import (
    EVENT_CONTENT_TYPES,
    PENDING_CHECK,
    RECOVERY_POLL,
    ReplySettings,
    ReplyTimers,
    ReplyTracker,
    expiry_error,
    failure_text,
    recovery_step,
)
from ._requests import RequestSpec, Routes
from ._responses import answer_json
from ._turns import Thread

__all__ = ["ReplyFlow", "State"]


# What the request awaiting its answer is for.
_Purpose = Literal["create", "prompt", "reply", "check", "expire", "recover", "open"]


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
        settings: Time limits, recovery and decoding (the client's, with the call's limits).
        options: The call's own timeout and headers, for each of its requests.
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
        settings: ReplySettings = ReplySettings(),  # noqa: B008 - frozen, so shared safely
        options: CallOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routes = routes
        self.thread = thread
        self.content = content
        self.model = model
        self.sampling = sampling
        self.extra = dict(extra or {})
        self.settings = settings
        self.options = options
        self.timers = ReplyTimers(settings.stall_timeout, settings.stream_timeout, clock)
        self._decoder = self.settings.decoder()
        self._clock = clock
        # A stream is opened with the stall timeout as its HTTP read timeout. If the transport
        # enforces that on every read and no stream_timeout shortens it, a timer of the
        # facade's own per chunk would only repeat it, at a price that exceeds the rest of a
        # chunk's handling when each event comes in a chunk of its own.
        self.timed = settings.stream_timeout is not None or not settings.reads_bounded
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
        """Begin: create the chat (one-shot) or post the prompt; raise if the chat cannot."""
        if self.state is not State.IDLE:
            return
        if self.thread is None:
            self._call("create", self.routes.create_chat(), State.CREATING_CHAT, True)
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
        """Take the successful answer to the last ``Call`` (raise if the reply cannot end well)."""
        purpose, spec = self._answered()
        data = answer_json(spec, status, content_type, body)
        if purpose == "create":
            self.chat_id = self._owned_chat = ChatInfo.from_json(data).id
            self._post_prompt()
        elif purpose == "prompt":
            self.prompter_message = Message.from_json(data)
            if self.thread is not None:
                self.thread.started = True
            self._post_reply()
        elif purpose == "reply":
            self.assistant_message = Message.from_json(data)
            self.timers.start()
            self._open()
        elif purpose == "check":
            self._checked(Message.from_json(data))
        elif purpose == "expire":
            self._expire(Message.from_json(data))
        else:
            self._recovery_step(Message.from_json(data))

    def receive_failure(self, error: OpenAssistantError) -> None:
        """Take the failure of the last ``Call`` or ``OpenStream``.

        A failed look at the message while streaming or after a timeout only means "not
        known"; any other failure ends the reply, and is raised here.
        """
        purpose, _ = self._answered()
        if purpose == "check":
            self.state = State.STREAMING
            return
        if purpose == "expire":
            self._expire(None)
            return
        if purpose == "reply":
            # Stored, or maybe stored, and so maybe generating: a 503 comes after the server
            # stored the message (docs/protocol.md 5.1); a failure after sending leaves it open.
            failure = getattr(error, "failure", None)
            status = getattr(error, "status_code", None)
            self._maybe_generating = status == 503 or (
                status is None and failure in ("read", "timeout", None)
            )
        raise error

    def stream_opened(self, status: int, content_type: str) -> bool:
        """Take the answer to ``OpenStream``; return whether the facade keeps the stream."""
        self._answered()
        if status == 204:  # already finished (docs/protocol.md 3.3): fetch it
            if not self.tracker.recovering:
                self._begin_recovery("the server reported the message finished", normal=True)
            else:
                self._fetch("recover", State.RECOVERING)
            return False
        kind = content_type.split(";")[0].strip().lower()
        if kind not in EVENT_CONTENT_TYPES:
            raise StreamError(f"expected an event stream, got {kind!r} (status {status})")
        self.state = State.STREAMING
        return True

    def receive_data(self, data: bytes) -> None:
        """Take a chunk of the event stream (``StreamError`` for a malformed event)."""
        self._seen_bytes = True
        events = self._decoder.feed(data)
        progress, finished = self.tracker.accept_all(events, self.events)
        if finished:
            # The final events go out first; the drain comes when the stream is shut down.
            self._finish()
        timers = self.timers
        now = self._clock()
        if progress:
            timers.last_progress = now  # so the stall timer cannot have run out
            if finished or timers.deadline is None or now <= timers.deadline:
                return
        elif finished:
            return
        if timers.expired(now):
            self.receive_timeout()
        elif (
            not progress  # (after progress, last_progress is now)
            and events
            and self.state is State.STREAMING
            and timers.check_due(now, PENDING_CHECK)
        ):
            self._fetch("check", State.CHECKING)

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
        self._fetch("expire", State.EXPIRING)

    def receive_broken(self, error: APIConnectionError) -> None:
        """Take a read that timed out, or broke (raised again when recovery is off)."""
        if isinstance(error, APITimeoutError):
            self.receive_timeout()
            return
        self._actions.append(CLOSE)
        if not self.settings.recover:
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
        self._actions.append(Call(spec, shield, self.options))

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
        self._call("prompt", spec, State.POSTING_PROMPT, False)

    def _post_reply(self) -> None:
        assert self.chat_id is not None
        assert self.prompter_message is not None
        extra = self.extra
        spec = self.routes.assistant_message(
            self.chat_id, self.prompter_message.id, self.model, self.sampling,
            system_prompt=extra.get("system_prompt"), user_profile=extra.get("user_profile"),
            user_response_instructions=extra.get("user_response_instructions"),
        )  # fmt: skip
        self._maybe_generating = True  # from here on the message may exist
        self._call("reply", spec, State.POSTING_REPLY, False)

    def _fetch(self, purpose: _Purpose, state: State) -> None:
        assert self.chat_id is not None
        assert self.assistant_message is not None
        spec = self.routes.get_message(self.chat_id, self.assistant_message.id)
        self._call(purpose, spec, state, False)

    def _open(self) -> None:
        assert self.chat_id is not None
        assert self.assistant_message is not None
        spec = self.routes.events(self.chat_id, self.assistant_message.id)
        self._purpose, self._spec = "open", spec
        self.state = State.RECOVERING if self.tracker.recovering else State.OPENING
        self._actions.append(OpenStream(spec, self.timers.read_timeout(), self.options))

    def _read_action(self) -> Read:
        if not self.timed:
            return UNTIMED_READ
        return Read(self.timers.read_timeout(), True)

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
        raise expiry_error(message, self.timers.limit_name())

    def _begin_recovery(self, reason: str, *, normal: bool = False) -> None:
        """Get the rest of the reply after the stream ended early (docs/design.md, decision 5).

        ``normal`` is the server's own "already finished" answer (204, or an empty 200
        through the website, docs/protocol.md 3.3): the final message is fetched even when
        recovery is off.
        """
        if not normal and not self.settings.recover:
            raise StreamError(f"the reply is incomplete: {reason} (recovery is off)")
        self.tracker.recovering = True
        self._reason = reason
        self._fetch("recover", State.RECOVERING)

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
        if self._recoveries > self.settings.max_recoveries:
            raise StreamError(
                f"the reply could not be recovered after {self._recoveries - 1} attempts: "
                f"{self._reason}"
            )
        remaining = self.timers.remaining()
        if remaining is not None and remaining <= 0:
            self._expire(message)
            return
        logger.info("recovering reply %s: %s", message.id, self._reason)
        self._actions.append(Sleep(RECOVERY_POLL[min(self._recoveries, len(RECOVERY_POLL)) - 1]))
        self._decoder = self.settings.decoder()
        self._seen_bytes = False
        self._open()
