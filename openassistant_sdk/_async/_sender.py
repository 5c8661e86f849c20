"""Sending requests: one spec over httpx, with the core's retry and login decisions.

Everything a client shares between its chats and replies lives here: the HTTP client, the
credentials, the login lock, and the janitor (chats waiting to be deleted, what abandoned
replies left). ``run`` performs the core's flows: a deletion, a settling.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from openassistant_sdk._actions import Call, Cleanup, Sleep
from openassistant_sdk._arguments import reply_flow
from openassistant_sdk._auth import Credentials
from openassistant_sdk._chats import Flow, Janitor, warn_left
from openassistant_sdk._config import NOT_GIVEN, CallOptions, ClientOptions, NotGiven
from openassistant_sdk._exceptions import (
    APIConnectionError,
    APITimeoutError,
    CleanupWarning,
    OpenAssistantError,
)
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._logging import logger
from openassistant_sdk._models import TokenPair
from openassistant_sdk._requests import RequestSpec
from openassistant_sdk._responses import answer_json, body_limit
from openassistant_sdk._retry import Attempts, Next, redact
from openassistant_sdk._routes import routes_for
from openassistant_sdk._turns import Thread

from . import _primitives as primitives
from ._http import HTTPX_ERRORS, build_request, make_timeout, raise_translated, read_body

__all__ = ["AsyncSender"]

_T = TypeVar("_T")


class AsyncSender:
    """Send specs for one client: auth, retries, logging; release what replies left."""

    def __init__(
        self,
        options: ClientOptions,
        credentials: Credentials,
        http: httpx.AsyncClient,
        timeout: httpx.Timeout | None,
        rebuild: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        """Send with ``http``; ``rebuild`` makes a new one for a new event loop (``None``: the
        caller's http client, which is never closed here)."""
        self.options = options
        self.credentials = credentials
        self.routes = routes_for(options.api)
        self.http = http
        # httpx's own transports bound every socket read by the read timeout; a caller's
        # transport may not.
        self.reads_bounded = rebuild is not None
        self.timeout = timeout
        # Chats to delete once their replies have finished (docs/chats.md), and orphans.
        self.janitor = Janitor(self.routes, primitives.now)
        self._rebuild = rebuild
        self._loop: object = None
        self._watch: AsyncGenerator[None, None] | None = None
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()  # replies not yet shut down
        self.closed = False
        self._login_lock = primitives.Lock()

    def reply_flow(
        self, thread: Thread | None, content: object, arguments: Mapping[str, Any]
    ) -> ReplyFlow:
        """Return the flow of a reply, for a call's arguments (the client's options fill in)."""
        self.check_open()
        return reply_flow(
            self.options, self.routes, thread, content, arguments,
            reads_bounded=self.reads_bounded, clock=primitives.now,
        )  # fmt: skip

    def check_open(self) -> None:
        """Raise if the client is closed."""
        if self.closed:
            raise OpenAssistantError("this client is closed")

    def redact(self, error: OpenAssistantError) -> OpenAssistantError:
        """Keep the credentials out of an error (the core's one scrubber)."""
        return redact(error, self.credentials.secrets())

    async def send(
        self,
        spec: RequestSpec,
        *,
        read_timeout: float | None = None,
        options: CallOptions | None = None,
    ) -> httpx.Response:
        """Send one request, with a call's own options; return its successful response.

        A stream request's response comes back unread; any other is read and closed.
        """
        timeout = self.timeout
        if options is not None:
            spec = options.apply(spec)
            if not isinstance(options.timeout, NotGiven):
                timeout = make_timeout(options.timeout)
        self.check_open()
        attempts = Attempts(spec, self.options.retry, self.credentials, primitives.now)
        if primitives.current_loop() is not self._loop:
            await self._enter_loop()
        if self.janitor.orphans:
            await self.reap_orphans()
        if self.janitor.due():
            await self.settle(0.0)
        while True:
            if spec.authenticated:
                await self.ensure_login()
            request = build_request(
                self.http,
                self.options,
                self.credentials,
                spec,
                read_timeout=read_timeout,
                timeout=timeout,
            )
            attempts.begin()
            response = None
            body = b""
            try:
                try:
                    # Never a redirect, whatever the http client says: the credentials (a
                    # TrustedClient header too, which httpx does not strip) stay here.
                    response = await self.http.send(request, stream=True, follow_redirects=False)
                    if not spec.stream or response.status_code >= 400:
                        try:
                            body = await read_body(response, body_limit(response.status_code))
                        finally:
                            await response.aclose()
                except HTTPX_ERRORS as exc:
                    raise_translated(spec, exc, self.options.base_url)
            except APIConnectionError as err:
                status = response.status_code if response is not None else None
                await primitives.sleep(attempts.after_failure(err, status=status))
                continue
            step = attempts.after_answer(response.status_code, response.headers, body)
            if step is Next.RETURN:
                return response
            if step is Next.CREATE_USER:  # the website creates its users so (protocol 1.4)
                await self.send(self.routes.trusted_login())  # type: ignore[union-attr]
            elif step is Next.RETRY:
                await primitives.sleep(attempts.delay)

    async def json(
        self,
        spec: RequestSpec,
        parse: Callable[[Any], _T],
        timeout: Any = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
    ) -> _T:
        """Send a request with a call's own options; return its JSON answer, ``parse``d."""
        response = await self.send(spec, options=CallOptions.of(timeout, extra_headers))
        try:
            content_type = response.headers.get("content-type", "")
            return parse(answer_json(spec, response.status_code, content_type, response.content))
        except OpenAssistantError as err:
            raise self.redact(err) from None

    async def ensure_login(self) -> None:
        """Run the debug login if the credentials need one (once, whoever asks first)."""
        if not self.credentials.needs_login:
            return
        async with self._login_lock:
            if self.credentials.needs_login:
                await self.log_in()

    async def log_in(self) -> TokenPair:
        """Run the debug login now and keep its tokens."""
        pair = await self.json(self.credentials.login_spec(), TokenPair.from_json)
        self.credentials.accept_login(pair)
        return pair

    async def run(self, flow: Flow) -> None:
        """Perform a flow's calls and sleeps until it is finished."""
        while True:
            action = flow.next_action()
            if type(action) is Call:
                await self.call(flow, action)
            elif type(action) is Sleep:
                await primitives.sleep(action.seconds)
            else:
                return

    async def call(self, flow: Flow, action: Call) -> None:
        """Send a flow's request and report its answer, or its failure, to the flow.

        A shielded call is never cut short (its own timeouts bound it), and its answer
        reaches the flow inside the shield: an interruption held back until the end finds
        what the request made (a chat) known to the flow, and so released.
        """
        with primitives.shielded(None) if action.shield else contextlib.nullcontext():
            try:
                response = await self.send(action.spec, options=action.options)
            except OpenAssistantError as err:
                flow.receive_failure(err)
                return
            content_type = response.headers.get("content-type", "")
            try:
                flow.receive_response(response.status_code, content_type, response.content)
            except OpenAssistantError as err:
                raise self.redact(err) from None

    async def cleanly(
        self,
        what: str | None,
        step: Callable[..., Awaitable[Exception | None]],
        *args: Any,
        timeout: float | None = None,
    ) -> Exception | None:
        """Run a cleanup step to its end: shielded from cancellation, bounded in time.

        Args:
            what: What the step does, for the error when the bound cuts it short (``None``:
                being cut short is no error).
            step: The step; it returns what went wrong, or raises it.
            args: Its arguments.
            timeout: The bound (by default the client's ``cleanup_timeout``).

        Returns:
            What went wrong, for the caller to report: the step's error, or an
            ``APITimeoutError`` if the bound cut it short.
        """
        timeout = self.options.cleanup_timeout if timeout is None else timeout
        shield = primitives.shielded(timeout)
        error: Exception | None = None
        with shield:
            try:
                error = await step(*args)
            except Exception as err:  # reported by the caller, never masking another error
                error = err
        if shield.cancelled_caught and error is None and what is not None:
            error = APITimeoutError(f"{what} took longer than {timeout}s")
        return error

    async def release(self, cleanup: Cleanup, *, warn: bool = False) -> Exception | None:
        """Delete a chat now, or keep it until its reply has finished.

        Returns:
            What went wrong deleting it, unless ``warn``: then it is a ``CleanupWarning``.
        """
        self.janitor.keep(cleanup)
        if cleanup.delete is None:
            return None
        deletion = self.janitor.delete(cleanup.delete)
        await self.run(deletion)
        if warn and deletion.error is not None:
            warn_left(cleanup.delete, deletion.error, stacklevel=3)
            return None
        return deletion.error

    async def settle(self, wait: float) -> None:
        """Delete the waiting chats whose replies have finished; wait ``wait`` s for the rest."""
        settling = self.janitor.settle(wait)
        try:
            await self.run(settling)
        finally:
            self.janitor.settled()
        for chat_id, error in settling.failures:
            warn_left(chat_id, error)

    async def reap_orphans(self) -> None:
        """Release what garbage-collected replies left: their connections and chats."""
        orphans = self.janitor.orphans
        while orphans:
            leftovers = orphans.pop()
            if leftovers.response is not None:
                await leftovers.response.aclose()
            await self.release(leftovers.flow.cleanup(None), warn=True)

    async def _close_replies(self) -> None:
        for reply in list(self.live):
            await reply.aclose()
        await self.reap_orphans()

    async def _enter_loop(self) -> None:
        """Use connections of the running event loop (a client may outlive one loop).

        Scripts and notebooks run one ``asyncio.run()`` after another with the same client.
        Connections pooled in one loop cannot be used, nor closed, in the next: so the pool
        is closed when its loop shuts down (asyncio and trio close the async generators left
        open then, and ``_until_the_loop_ends`` is one), and a new loop gets a new pool.
        """
        if self._loop is not None:
            if self._rebuild is None:
                raise OpenAssistantError(
                    "this client's http_client was used in another event loop, and its "
                    "connections belong to that loop: create the http_client (and the client) "
                    "in the event loop that uses them"
                )
            logger.debug("a new event loop: new connections")
            self.http = self._rebuild()
        self._loop = primitives.current_loop()
        if self._rebuild is not None:
            self._watch = self._until_the_loop_ends(self.http)
            await self._watch.__anext__()

    async def _until_the_loop_ends(self, http: httpx.AsyncClient) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:  # the loop shuts down, or the client closes
            with contextlib.suppress(Exception):
                await http.aclose()

    async def close(self) -> None:
        """Release what replies hold, delete the chats that wait for them, close the pool.

        Replies first (their chats may wait for their messages), then those chats: a bound
        for each, so that waiting for a generation never eats the time of the cleanup.
        """
        if self.closed:
            return
        options = self.options
        cut = await self.cleanly("closing the replies", self._close_replies)
        late = await self.cleanly(
            "waiting for replies to finish",
            self.settle,
            options.close_timeout,
            timeout=options.close_timeout + options.cleanup_timeout,
        )
        self.closed = True
        left = self.janitor.abandon()
        if cut is not None or late is not None or left:
            # Cut short by a bound: say so, rather than leave chats behind in silence.
            chats = f": chat {', '.join(left)} left on the server" if left else ""
            warnings.warn(
                f"closing the client took longer than its cleanup bounds{chats}",
                CleanupWarning,
                stacklevel=3,
            )
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch.aclose()
        if self._rebuild is not None:
            await self.http.aclose()
