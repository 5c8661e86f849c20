"""Sending requests: one spec over httpx, with the core's retry and login decisions.

Everything a client shares between its chats and replies lives here: the HTTP client, the
credentials, the login lock, and what abandoned replies left behind.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import httpx

from openassistant_sdk._auth import Credentials
from openassistant_sdk._config import ClientOptions
from openassistant_sdk._exceptions import (
    APIConnectionError,
    CleanupWarning,
    MissingCredentialsError,
    NotFoundError,
    OpenAssistantError,
)
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._models import TokenPair
from openassistant_sdk._requests import RequestSpec, routes_for
from openassistant_sdk._responses import body_limit, json_body
from openassistant_sdk._retry import Attempts, Next, redact

from . import _primitives as primitives
from ._http import HTTPX_ERRORS, build_request, raise_translated, read_body

__all__ = ["AsyncSender", "Leftovers"]

_NO_CREDENTIALS = {
    "website": "no website session: pass session_token= or cookies=, or set OPENASSISTANT_SESSION_TOKEN",
    "inference": "no inference-server credentials: pass token=, debug_user= or trusted_client=, "
    "or set OPENASSISTANT_TOKEN or OPENASSISTANT_DEBUG_USER",
}


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
    ) -> None:
        self.options = options
        self.credentials = credentials
        self.routes = routes_for(options.api)
        self.http = http
        self.owns_http = owns_http
        self.reads_bounded = reads_bounded
        self.timeout = timeout
        self.orphans: list[Leftovers] = []
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()  # replies not yet shut down
        self.closed = False
        self._login_lock = primitives.Lock()

    def check_open(self) -> None:
        """Raise if the client is closed."""
        if self.closed:
            raise OpenAssistantError("this client is closed")

    def redact(self, error: OpenAssistantError) -> OpenAssistantError:
        """Keep the credentials out of an error (the core's one scrubber)."""
        return redact(error, self.credentials.secrets())

    async def send(self, spec: RequestSpec, *, read_timeout: float | None = None) -> httpx.Response:
        """Send one request; return its successful response.

        A stream request's response comes back unread; any other is read and closed.
        """
        self.check_open()
        if spec.authenticated and not self.credentials.has_any:
            raise MissingCredentialsError(_NO_CREDENTIALS[self.options.api], status_code=403)
        if self.orphans:
            await self.reap_orphans()
        attempts = Attempts(spec, self.options.retry, self.credentials, primitives.now)
        while True:
            if spec.authenticated:
                await self.ensure_login()
            request = build_request(
                self.http, self.options, self.credentials, spec, read_timeout=read_timeout
            )
            if self.timeout is not None and not spec.stream:
                request.extensions["timeout"] = self.timeout.as_dict()
            attempts.begin()
            try:
                try:
                    response = await self.http.send(request, stream=True)
                except HTTPX_ERRORS as exc:
                    raise_translated(spec, exc)
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

    async def json(self, spec: RequestSpec) -> Any:
        """Send a request and return its JSON answer."""
        response = await self.send(spec)
        return json_body(
            response.content,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            method=spec.method,
            path=spec.log_path,
        )

    async def ensure_login(self) -> None:
        """Run the debug login if the credentials need one (once, whoever asks first)."""
        if not self.credentials.needs_login:
            return
        async with self._login_lock:
            if self.credentials.needs_login:
                pair = TokenPair.from_json(await self.json(self.credentials.login_spec()))
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
            chat_id = leftovers.flow.cleanup(None).delete
            if chat_id is not None:
                error = await self.delete_chat(chat_id)
                if error is not None:
                    warnings.warn(
                        f"could not delete abandoned chat {chat_id}: {error}",
                        CleanupWarning,
                        stacklevel=2,
                    )
