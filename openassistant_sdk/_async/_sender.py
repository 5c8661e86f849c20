"""Sending requests: one spec over httpx, with the core's retry and login decisions.

Everything a client shares between its chats and replies lives here: the HTTP client, the
credentials, the login lock, and what abandoned replies left behind.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import httpx

from openassistant_sdk._actions import Cleanup, PendingDeletion
from openassistant_sdk._auth import Credentials
from openassistant_sdk._config import CallOptions, ClientOptions, NotGiven
from openassistant_sdk._exceptions import (
    NO_CREDENTIALS,
    APIConnectionError,
    CleanupWarning,
    MissingCredentialsError,
    NotFoundError,
    OpenAssistantError,
)
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._logging import logger
from openassistant_sdk._models import TokenPair
from openassistant_sdk._reply import ReplySettings
from openassistant_sdk._requests import RequestSpec
from openassistant_sdk._responses import body_limit, parse_json_body
from openassistant_sdk._retry import Attempts, Next, redact
from openassistant_sdk._routes import routes_for

from . import _primitives as primitives
from ._http import HTTPX_ERRORS, build_request, make_timeout, raise_translated, read_body

__all__ = ["AsyncSender", "Leftovers"]

_SETTLE_INTERVAL = 1.0  # queued deletions are looked at before requests this often at most
_SETTLE_POLL = 0.25  # and this often while closing


_T = TypeVar("_T")


def _as_is(value: Any) -> Any:
    return value


class Leftovers:
    """What an unfinished reply holds on the server and the client: released once."""

    __slots__ = ("flow", "response")

    def __init__(self, flow: ReplyFlow) -> None:
        self.flow = flow
        self.response: httpx.Response | None = None


def orphaned(orphans: list[Leftovers], leftovers: Leftovers) -> None:
    """Note a reply that was garbage-collected unfinished; the client releases it later.

    No I/O here (a finalizer may run anywhere): the client cleans up at its next request
    or when it closes. Queued first, then warned: under ``-W error`` the warning raises.
    """
    if leftovers.response is None and leftovers.flow.chat_id is None:
        return
    orphans.append(leftovers)
    warnings.warn(
        "an unfinished openassistant_sdk reply stream was garbage-collected; close streams "
        "(or use `with`) so their connection and chat are released at once",
        ResourceWarning,
        stacklevel=2,
    )


class AsyncSender:
    """Send specs for one client: auth, retries, logging; release what replies left."""

    def __init__(
        self,
        options: ClientOptions,
        credentials: Credentials,
        http: httpx.AsyncClient,
        *,
        owns_http: bool,
        reads_bounded: bool,
        timeout: httpx.Timeout | None,
        rebuild: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.options = options
        self.credentials = credentials
        self.routes = routes_for(options.api)
        self.http = http
        self.owns_http = owns_http
        self.reads_bounded = reads_bounded
        self.timeout = timeout
        self.orphans: list[Leftovers] = []
        # Chats to delete once their replies have finished, by chat id (docs/chats.md).
        self.deletions: dict[str, PendingDeletion] = {}
        self._settling = False
        self._last_settle = float("-inf")
        self._rebuild = rebuild
        self._loop: object = None
        self._watch: AsyncGenerator[None, None] | None = None
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()  # replies not yet shut down
        self.closed = False
        self._login_lock = primitives.Lock()

    def reply_settings(self) -> ReplySettings:
        """How this client reads its replies (before a call's own time limits)."""
        options = self.options
        return ReplySettings(
            stall_timeout=options.stall_timeout,
            stream_timeout=options.stream_timeout,
            recover=options.recover,
            max_recoveries=options.max_recoveries,
            on_malformed=options.on_malformed,
            max_event_size=options.max_event_size,
            reads_bounded=self.reads_bounded,
        )

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
        if spec.authenticated and not self.credentials.has_any:
            raise MissingCredentialsError(NO_CREDENTIALS)
        if primitives.current_loop() is not self._loop:
            await self._enter_loop()
        if self.orphans:
            await self.reap_orphans()
        if self.deletions and primitives.now() - self._last_settle >= _SETTLE_INTERVAL:
            await self.settle(0.0)
        attempts = Attempts(spec, self.options.retry, self.credentials, primitives.now)
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
            try:
                try:
                    # Never a redirect, whatever the http client says: the credentials (a
                    # TrustedClient header too, which httpx does not strip) stay here.
                    response = await self.http.send(request, stream=True, follow_redirects=False)
                except HTTPX_ERRORS as exc:
                    raise_translated(spec, exc, self.options.base_url)
            except APIConnectionError as err:
                await primitives.sleep(attempts.after_failure(err))
                continue
            status = response.status_code
            body = b""
            if not spec.stream or status >= 400:
                try:
                    try:
                        body = await read_body(response, body_limit(status))
                    except HTTPX_ERRORS as exc:
                        raise_translated(spec, exc)
                except APIConnectionError as err:
                    await primitives.sleep(attempts.after_failure(err, status=status))
                    continue
                finally:
                    await response.aclose()
            step = attempts.after_answer(status, response.headers, body)
            if step is Next.RETURN:
                return response
            if step is Next.CREATE_USER:  # the website creates its users so (protocol 1.4)
                await self.send(self.routes.trusted_login())  # type: ignore[union-attr]
            elif step is Next.RETRY:
                await primitives.sleep(attempts.delay)

    async def json(
        self,
        spec: RequestSpec,
        parse: Callable[[Any], _T] = _as_is,
        options: CallOptions | None = None,
    ) -> _T:
        """Send a request and return its JSON answer, parsed by ``parse``."""
        response = await self.send(spec, options=options)
        try:
            return parse(
                parse_json_body(
                    response.content,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    method=spec.method,
                    path=spec.log_path,
                )
            )
        except OpenAssistantError as err:
            raise self.redact(err) from None

    async def ensure_login(self) -> None:
        """Run the debug login if the credentials need one (once, whoever asks first)."""
        if not self.credentials.needs_login:
            return
        async with self._login_lock:
            if self.credentials.needs_login:
                pair = await self.json(self.credentials.login_spec(), TokenPair.from_json)
                self.credentials.accept_login(pair)

    async def delete_chat(self, chat_id: str) -> Exception | None:
        """Delete a chat a reply owned; return what went wrong (a chat already gone is fine)."""
        try:
            await self.send(self.routes.delete_chat(chat_id))
        except NotFoundError:
            pass
        except Exception as err:  # the caller reports it, never masking another error
            return err
        return None

    async def reap_orphans(self) -> None:
        """Release what garbage-collected replies left: their connections and chats."""
        while self.orphans:
            leftovers = self.orphans.pop()
            response, leftovers.response = leftovers.response, None
            if response is not None:
                await response.aclose()
            await self.release(leftovers.flow.cleanup(None), abandoned=True)

    async def release(self, cleanup: Cleanup, *, abandoned: bool = False) -> Exception | None:
        """Delete the chat a reply owned now, or queue it until its reply has finished.

        Returns:
            What went wrong deleting it (a chat already gone is fine); an abandoned reply's
            failure is warned about here instead.
        """
        if cleanup.defer is not None:
            self.deletions[cleanup.defer.chat_id] = cleanup.defer  # no I/O: maybe a finalizer
        if cleanup.delete is None:
            return None
        error = await self.delete_chat(cleanup.delete)
        if error is not None and abandoned:
            warnings.warn(
                f"could not delete abandoned chat {cleanup.delete}: {error}",
                CleanupWarning,
                stacklevel=2,
            )
        return error

    async def settle(self, wait: float) -> None:
        """Delete the queued chats whose replies have finished; wait up to ``wait`` s for the rest."""
        if self._settling:
            return
        self._settling = True
        deadline = primitives.now() + wait
        try:
            while self.deletions:
                for item in list(self.deletions.values()):
                    if await self._finished(item):
                        del self.deletions[item.chat_id]
                        await self.release(
                            Cleanup(drain=False, delete=item.chat_id), abandoned=True
                        )
                remaining = deadline - primitives.now()
                if not self.deletions or remaining <= 0:
                    break
                await primitives.sleep(min(_SETTLE_POLL, remaining))
        finally:
            self._settling = False
            self._last_settle = primitives.now()

    async def _finished(self, item: PendingDeletion) -> bool:
        try:
            return item.finished(await self.json(item.check(self.routes)))
        except NotFoundError:
            return True  # gone already: deleting it again says so, harmlessly
        except OpenAssistantError as err:
            logger.debug("could not look at chat %s: %s", item.chat_id, err)
            return False

    def abandon_deletions(self) -> list[str]:
        """Give up the queued deletions (the client closes); return the chats left."""
        left = list(self.deletions)
        self.deletions.clear()
        return left

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

    async def close_pool(self) -> None:
        """Close the connections this client made (not a caller's http_client)."""
        watch, self._watch = self._watch, None
        if watch is not None:
            await watch.aclose()
        if self.owns_http:
            await self.http.aclose()
