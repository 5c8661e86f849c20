"""The asynchronous client: ``AsyncClient``, ``AsyncChat`` and the reply streams.

The facade only moves bytes and sleeps; requests, retry decisions, event decoding and reply
tracking live in the core. The sync twin, ``_client.py``, is generated from this module.
"""

from __future__ import annotations

import contextlib
import os
import warnings
import weakref
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any, Literal

import httpx

from . import _async_primitives as primitives
from ._auth import TrustedClient
from ._config import NOT_GIVEN, ClientOptions, NotGiven, resolve
from ._events import ErrorEvent, Event, TokenEvent
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    CleanupWarning,
    GenerationError,
    InvalidResponseError,
    MissingCredentialsError,
    NotFoundError,
    OpenAssistantError,
    StreamError,
    make_status_error,
)
from ._logging import logger, scrub, setup_from_env
from ._models import (
    ChatInfo,
    ChatPage,
    Message,
    ModelConfig,
    SamplingParameters,
    TokenPair,
    parse_list,
)
from ._prompt import format_prompt
from ._reply import ReplyTracker, failure_text, recovery_step
from ._requests import RequestSpec, routes_for
from ._retry import RetryPolicy, parse_retry_after, retry_delay
from ._sse import EventDecoder, MalformedPolicy
from ._transport import (
    DEFAULT_TIMEOUT,
    HTTPX_ERRORS,
    ShardedAsyncTransport,
    build_request,
    make_timeout,
    map_httpx_errors,
    raise_translated,
    sharding_is_safe,
)

__all__ = ["AsyncChat", "AsyncChatContext", "AsyncClient", "AsyncEventStream", "AsyncReplyStream"]

_MAX_ERROR_BODY = 64 * 1024
_DRAIN_BYTES = 64 * 1024
_DRAIN_TIMEOUT = 1.0
_RECOVERY_POLL = (0.25, 0.5, 1.0, 2.0)
# While only `pending` events arrive, look at the message this often: a cancelled message
# streams `pending` forever (oa-protocol.md 3.3, 5.1), and waiting for the stall timeout to
# say so would waste minutes.
_PENDING_CHECK = 10.0
_SAMPLING_FIELDS = (
    "top_k",
    "top_p",
    "typical_p",
    "temperature",
    "repetition_penalty",
    "max_new_tokens",
)
_NO_CREDENTIALS = {
    "website": "no website session: pass session_token= or cookies=, or set OPENASSISTANT_SESSION_TOKEN",
    "inference": "no inference-server credentials: pass token=, debug_user= or trusted_client=, "
    "or set OPENASSISTANT_TOKEN or OPENASSISTANT_DEBUG_USER",
}
_EVENT_CONTENT_TYPES = ("", "text/event-stream", "text/plain", "application/octet-stream")


class _Resources:
    """What an unfinished reply holds on the server and the client: cleaned up once."""

    __slots__ = ("chat_id", "response")

    def __init__(self) -> None:
        self.response: httpx.Response | None = None
        self.chat_id: str | None = None  # set for one-shot replies, which own their chat


def _orphaned(orphans: list[_Resources], resources: _Resources) -> None:
    # Runs when an unfinished reply is garbage-collected: no I/O here, only a note for the
    # client, which cleans up at its next request or when it closes.
    if resources.response is None and resources.chat_id is None:
        return
    warnings.warn(
        "an unfinished openassistant_sdk reply stream was garbage-collected; close streams "
        "(or use `with`) so their connection and chat are released at once",
        ResourceWarning,
        stacklevel=2,
    )
    orphans.append(resources)


class AsyncClient:
    """The asynchronous Open Assistant client for the website or the inference server API.

    Works under asyncio and trio. Use it as an async context manager, or call
    ``aclose`` when done. Every argument left out comes from the environment
    (``OPENASSISTANT_BASE_URL``, ``OPENASSISTANT_API``, ``OPENASSISTANT_SESSION_TOKEN``,
    ``OPENASSISTANT_TOKEN``, ``OPENASSISTANT_DEBUG_USER``, ``OPENASSISTANT_LOG``) or a default.

    Args:
        base_url: The site (``https://open-assistant.io``) or inference server root.
        api: ``"website"`` (``/api/chat...``, cookie auth) or ``"inference"`` (``/chats...``,
            bearer auth). Inferred from the credentials when left out.
        session_token: The website's next-auth session token (sent as its cookie).
        cookies: Website cookies, as a dict or a cookie jar (only the site's are sent).
        token: An inference-server bearer access token.
        debug_user: Log in to the inference server's debug login as this user (and again
            after a 401).
        trusted_client: Authenticate to the inference server as a trusted client.
        model: The default model config name (``OA_SFT_Llama_30B_6``).
        sampling: The default sampling parameters (the ``k50`` preset).
        timeout: Seconds, an ``httpx.Timeout`` or ``None`` for the control-plane requests.
        max_retries: Retries after a failed attempt (default 2); or pass ``retry=``.
        retry: A full ``RetryPolicy``.
        stall_timeout: Seconds a reply may go without a token or a final event (pings and
            ``pending`` events do not count) before ``APITimeoutError``; ``None``: no
            limit. Default 120 s.
        stream_timeout: Seconds a whole streamed reply may take; ``None`` (default): no limit.
        proxy: A proxy URL (``http://``, ``https://``, ``socks5://`` with the socks extra).
        headers: Extra headers for every request.
        http_client: An ``httpx.AsyncClient`` you own; it is not closed by ``aclose``.
        trust_env: Honour the standard proxy and certificate environment variables.
        http2: Speak HTTP/2 where the server offers it (needs the http2 extra).
        verify: Verify TLS certificates (on by default), or a path or SSL context.
        on_malformed: ``"raise"`` a ``StreamError`` on a malformed event (default) or
            ``"skip"`` it and count it.
        recover: Recover a reply whose stream broke by fetching the final message.
        user_agent: The ``User-Agent`` header (default ``openassistant-sdk/<version>``).
        event_hooks: httpx event hooks, for tracing requests.
        env: The environment to read instead of ``os.environ``.

    Raises:
        ValueError: An argument is invalid, or the credentials do not fit the API.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api: Literal["website", "inference"] | None = None,
        session_token: str | None = None,
        cookies: Mapping[str, str] | CookieJar | httpx.Cookies | None = None,
        token: str | None = None,
        debug_user: str | None = None,
        trusted_client: TrustedClient | None = None,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None = None,
        proxy: str | httpx.Proxy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        trust_env: bool = True,
        http2: bool = False,
        verify: Any = True,
        on_malformed: MalformedPolicy = "raise",
        recover: bool = True,
        user_agent: str | None = None,
        event_hooks: Mapping[str, list[Any]] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        setup_from_env(env)
        self._init_kwargs: dict[str, Any] = {
            "base_url": base_url, "api": api, "session_token": session_token, "cookies": cookies,
            "token": token, "debug_user": debug_user, "trusted_client": trusted_client,
            "model": model, "sampling": sampling, "timeout": timeout, "max_retries": max_retries,
            "retry": retry, "stall_timeout": stall_timeout, "stream_timeout": stream_timeout,
            "headers": headers, "on_malformed": on_malformed, "recover": recover,
            "user_agent": user_agent, "env": env,
        }  # fmt: skip
        self._options, self._credentials = resolve(
            env=os.environ if env is None else env,
            base_url=base_url,
            api=api,
            session_token=session_token,
            cookies=cookies,
            token=token,
            debug_user=debug_user,
            trusted_client=trusted_client,
            model=model,
            sampling=sampling,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            stall_timeout=stall_timeout,
            stream_timeout=stream_timeout,
            on_malformed=on_malformed,
            recover=recover,
            user_agent=user_agent,
            headers=headers,
        )
        self._routes = routes_for(self._options.api)
        self._timeout = None if isinstance(timeout, NotGiven) else make_timeout(timeout)
        if http_client is not None:
            if proxy is not None or http2 or event_hooks is not None or verify is not True:
                raise ValueError(
                    "configure proxy, http2, verify and event_hooks on your http_client"
                )
            self._http = http_client
            self._owns_http = False
            self._reads_bounded = False  # a transport of the caller's may not time reads out
        else:
            try:
                transport = None
                if sharding_is_safe(proxy, trust_env) and not http2:
                    transport = ShardedAsyncTransport(verify=verify, trust_env=trust_env)
                self._http = httpx.AsyncClient(
                    timeout=self._timeout or DEFAULT_TIMEOUT,
                    proxy=proxy,
                    trust_env=trust_env,
                    http2=http2,
                    verify=verify,
                    transport=transport,
                    follow_redirects=False,  # credentials never follow a redirect elsewhere
                    event_hooks=dict(event_hooks) if event_hooks else None,
                )
                self._owns_http = True
                # httpx's own transports bound every socket read by the request's read timeout.
                self._reads_bounded = True
            except ImportError as err:
                extra = "http2" if http2 else "socks"
                raise ImportError(
                    f"{err} Install it with: pip install 'openassistant-sdk[{extra}]'"
                ) from err
        self._login_lock = primitives.Lock()
        self._orphans: list[_Resources] = []
        self._live: weakref.WeakSet[_AsyncTurn] = weakref.WeakSet()
        self._closed = False

    def __repr__(self) -> str:
        return f"<AsyncClient api={self._options.api!r} base_url={self._options.base_url!r}>"

    def with_options(
        self,
        *,
        base_url: str | None = None,
        api: Literal["website", "inference"] | None = None,
        session_token: str | None = None,
        cookies: Mapping[str, str] | CookieJar | httpx.Cookies | None = None,
        token: str | None = None,
        debug_user: str | None = None,
        trusted_client: TrustedClient | None = None,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        timeout: float | httpx.Timeout | None | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> AsyncClient:
        """Return a client with some options changed that shares this one's connections.

        For a service acting for many users: one connection pool, a client per user
        (``client.with_options(debug_user="bob")``). New credentials replace all the old
        ones. The copy does not close the shared connections; close this client last.
        """
        kwargs = dict(self._init_kwargs)
        credentials = {
            "session_token": session_token, "cookies": cookies, "token": token,
            "debug_user": debug_user, "trusted_client": trusted_client,
        }  # fmt: skip
        if any(value is not None for value in credentials.values()):
            kwargs.update(credentials)
        changes = {"base_url": base_url, "api": api, "model": model, "sampling": sampling}
        kwargs.update({name: value for name, value in changes.items() if value is not None})
        for name, value in (
            ("timeout", timeout), ("max_retries", max_retries),
            ("stall_timeout", stall_timeout), ("stream_timeout", stream_timeout),
        ):  # fmt: skip
            if not isinstance(value, NotGiven):
                kwargs[name] = value
        if not isinstance(max_retries, NotGiven):
            kwargs["retry"] = None
        copy = type(self)(http_client=self._http, **kwargs)
        copy._timeout = copy._timeout or self._timeout
        copy._reads_bounded = self._reads_bounded
        return copy

    @property
    def options(self) -> ClientOptions:
        """The resolved options (no secrets)."""
        return self._options

    @property
    def api(self) -> Literal["website", "inference"]:
        """Which API this client speaks."""
        return self._options.api

    @property
    def base_url(self) -> str:
        """The server root this client talks to."""
        return self._options.base_url

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Finish what abandoned streams left, then close the connections (idempotent).

        An ``http_client`` passed in by the caller stays open (api-contract.md decision 11).
        """
        if self._closed:
            return
        shield = primitives.ShieldCancellation(self._options.cleanup_timeout)
        with shield:
            for turn in list(self._live):
                await turn.aclose()
            await self._reap_orphans()
        if shield.timed_out:
            # Cut short by the bound: say so, rather than leave chats behind in silence.
            warnings.warn(
                f"closing the client took longer than {self._options.cleanup_timeout} s: the "
                "cleanup of open replies was cut short, and chats may be left on the server",
                CleanupWarning,
                stacklevel=2,
            )
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    async def _reap_orphans(self) -> None:
        while self._orphans:
            resources = self._orphans.pop()
            if resources.response is not None:
                response, resources.response = resources.response, None
                await response.aclose()
            if resources.chat_id is not None:
                chat_id, resources.chat_id = resources.chat_id, None
                try:
                    await self.delete_chat(chat_id)
                except OpenAssistantError as err:
                    warnings.warn(
                        f"could not delete abandoned chat {chat_id}: {err}",
                        CleanupWarning,
                        stacklevel=2,
                    )

    # -- sending ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise OpenAssistantError("this client is closed")

    async def _ensure_login(self) -> None:
        if not self._credentials.needs_login:
            return
        async with self._login_lock:
            if self._credentials.needs_login:
                response = await self._send(self._credentials.login_spec())
                self._credentials.accept_login(TokenPair.from_json(_json_body(response)))

    async def _send(
        self, spec: RequestSpec, *, read_timeout: float | None = None
    ) -> httpx.Response:
        """Send one request with auth, retries and logging; return a successful response.

        A stream request returns its response unread (``None`` body); any other is read.
        """
        self._check_open()
        if spec.authenticated and not self._credentials.has_any:
            raise MissingCredentialsError(_NO_CREDENTIALS[self._options.api], status_code=403)
        if self._orphans:
            await self._reap_orphans()
        retries = 0
        relogged = trusted_created = False
        started = primitives.now()
        while True:
            if spec.authenticated:
                await self._ensure_login()
            request = build_request(
                self._http, self._options, self._credentials, spec, read_timeout=read_timeout
            )
            if self._timeout is not None and not spec.stream:
                request.extensions["timeout"] = self._timeout.as_dict()
            sent = primitives.now()
            try:
                with map_httpx_errors(spec):
                    response = await self._http.send(request, stream=True)
            except APIConnectionError as err:
                delay = retry_delay(
                    self._options.retry, spec, retries, failure=err.failure,  # type: ignore[arg-type]
                    elapsed=primitives.now() - started,
                )  # fmt: skip
                self._log_failure(spec, err, retries, delay)
                if delay is None:
                    err.retries_taken = retries
                    self._redact(err)
                    raise
                await primitives.sleep(delay)
                retries += 1
                continue
            status = response.status_code
            if status < 400 and spec.stream:
                self._log(spec, status, sent, retries)
                return response
            try:
                with map_httpx_errors(spec):
                    body = await _read_bounded(response, None if status < 400 else _MAX_ERROR_BODY)
            except APIConnectionError as err:
                await response.aclose()
                if status < 400 and spec.operation not in (
                    "assistant_message",
                    "prompter_message",
                    "create_chat",
                ):
                    delay = retry_delay(
                        self._options.retry,
                        spec,
                        retries,
                        failure="read",
                        elapsed=primitives.now() - started,
                    )
                    self._log_failure(spec, err, retries, delay)
                    if delay is not None:
                        await primitives.sleep(delay)
                        retries += 1
                        continue
                err.retries_taken = retries
                self._redact(err)
                raise
            finally:
                await response.aclose()
            self._log(spec, status, sent, retries)
            if status < 400:
                return response
            if (
                status == 401
                and spec.authenticated
                and not relogged
                and self._credentials.forget_login()
            ):
                relogged = True  # the debug login again: /auth/refresh never works (10.1)
                continue
            if (
                status == 404
                and spec.operation == "create_chat"
                and self._options.api == "inference"
                and "TrustedClient" in request.headers
                and not trusted_created
            ):
                trusted_created = True  # create the trusted user, as the website does (1.4)
                await self._send(self._routes.trusted_login())  # type: ignore[union-attr]
                continue
            headers = {k.lower(): v for k, v in response.headers.items()}
            delay = retry_delay(
                self._options.retry, spec, retries, status=status, headers=headers,
                elapsed=primitives.now() - started,
            )  # fmt: skip
            if delay is None:
                raise make_status_error(
                    status_code=status,
                    headers=headers,
                    body=body,
                    method=spec.method,
                    path=spec.log_path,
                    operation=spec.operation,
                    api=spec.api,
                    retries_taken=retries,
                    retry_after=parse_retry_after(headers.get("retry-after")),
                )
            logger.debug(
                "retrying %s %s after %d in %.2fs", spec.method, spec.log_path, status, delay
            )
            await primitives.sleep(delay)
            retries += 1

    def _log(self, spec: RequestSpec, status: int, sent: float, retries: int) -> None:
        logger.info(
            "%s %s -> %d in %.3fs (retries: %d)",
            spec.method,
            spec.log_path,
            status,
            primitives.now() - sent,
            retries,
        )

    def _redact(self, err: OpenAssistantError) -> None:
        """Keep the credentials out of an error's message, and out of its causes' (dropped)."""
        secrets = self._credentials.secrets()
        if not secrets:
            return
        text = scrub(err.message, secrets)
        if text != err.message:
            err.message = text
            err.args = (text,)
        causes = (err.__cause__, err.__context__)
        if any(c is not None and scrub(str(c), secrets) != str(c) for c in causes):
            # httpx's own error quotes the secret: the SDK's error stands alone instead.
            err.__cause__ = err.__context__ = None
            err.__suppress_context__ = True

    def _log_failure(
        self, spec: RequestSpec, err: Exception, retries: int, delay: float | None
    ) -> None:
        text = scrub(str(err), self._credentials.secrets())
        if delay is None:
            logger.info("%s %s failed (retries: %d): %s", spec.method, spec.log_path, retries, text)
        else:
            logger.debug(
                "retrying %s %s in %.2fs after: %s", spec.method, spec.log_path, delay, text
            )

    async def _json(self, spec: RequestSpec) -> Any:
        return _json_body(await self._send(spec))

    # -- chats -----------------------------------------------------------------------------------

    def chat(self) -> AsyncChatContext:
        """Return a context manager: the chat is created on enter and deleted on exit.

        Example::

            async with client.chat() as chat:
                async for text in chat.stream("Hello"):
                    print(text, end="")
        """
        return AsyncChatContext(self)

    async def create_chat(self) -> AsyncChat:
        """Create a chat; it is itself an async context manager that deletes it on exit."""
        return AsyncChat(self, await self._create_chat_info())

    async def _create_chat_info(self) -> ChatInfo:
        # Shielded: cancelled half-way, the chat would exist on the server with nobody
        # knowing its id. Finished, the caller's cleanup can delete it. The request's own
        # timeouts bound the wait.
        info: ChatInfo | None = None
        with primitives.ShieldCancellation(None):
            info = ChatInfo.from_json(await self._json(self._routes.create_chat()))
        if info is None:  # a shield without a bound never cuts the request short
            raise APITimeoutError("creating a chat was cut short")
        return info

    async def get_chat(self, chat_id: str) -> ChatInfo:
        """Return a chat with all its messages (every branch, oldest first)."""
        return ChatInfo.from_json(await self._json(self._routes.get_chat(chat_id)))

    async def list_chats(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        include_hidden: bool = False,
    ) -> ChatPage:
        """Return one page of chats, newest first (``next`` is the cursor for older ones)."""
        spec = self._routes.list_chats(
            limit=limit, after=after, before=before, include_hidden=include_hidden
        )
        return ChatPage.from_json(await self._json(spec))

    async def iter_chats(
        self, *, include_hidden: bool = False, page_size: int | None = None
    ) -> AsyncIterator[ChatInfo]:
        """Iterate over all chats, newest first, following the page cursors."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_chats(
                limit=page_size, after=after, include_hidden=include_hidden
            )
            for chat in page.chats:
                if chat.id not in seen:
                    seen.add(chat.id)
                    yield chat
            if not page.chats or page.next is None or page.next == after:
                return
            after = page.next

    async def update_chat(
        self,
        chat_id: str,
        *,
        title: str | None = None,
        hidden: bool | None = None,
        allow_data_use: bool | None = None,
        active_thread_tail_message_id: str | None = None,
    ) -> None:
        """Change a chat's title, visibility or data-use flag (``None`` leaves a field)."""
        changes = {
            "title": title,
            "hidden": hidden,
            "allow_data_use": allow_data_use,
            "active_thread_tail_message_id": active_thread_tail_message_id,
        }
        await self._send(self._routes.update_chat(chat_id, changes))

    async def delete_chat(self, chat_id: str) -> None:
        """Delete a chat and its messages."""
        await self._send(self._routes.delete_chat(chat_id))

    async def get_message(self, chat_id: str, message_id: str) -> Message:
        """Return one message of a chat."""
        return Message.from_json(await self._json(self._routes.get_message(chat_id, message_id)))

    async def vote(self, chat_id: str, message_id: str, score: Literal[-1, 0, 1]) -> None:
        """Rate an assistant message: -1, 0 or 1."""
        await self._send(self._routes.vote(chat_id, message_id, score))

    async def models(self) -> list[ModelConfig]:
        """Return the model configs the server offers, each with its sampling presets."""
        return parse_list(
            await self._json(self._routes.models()), ModelConfig.from_json, "model configs"
        )

    async def login(self) -> TokenPair:
        """Run the inference server's debug login now (it otherwise runs on first use)."""
        if self._credentials.debug_user is None:
            raise ValueError("login() needs debug_user=")
        self._credentials.forget_login()
        response = await self._send(self._credentials.login_spec())
        pair = TokenPair.from_json(_json_body(response))
        self._credentials.accept_login(pair)
        return pair

    # -- one-shot calls (the seed's five steps) --------------------------------------------------

    def stream(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> AsyncReplyStream:
        """Stream a reply to ``messages`` in a new chat that is deleted afterwards.

        Creates a chat, posts the messages formatted into one prompt, posts the assistant
        message, streams its tokens and deletes the chat, whatever happens. The requests start
        on first iteration or on entering ``async with``.

        Raises:
            ValueError: The messages or sampling parameters are invalid.
        """
        turn = self._one_shot(
            messages, model, sampling, _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
            system_prompt, stall_timeout, stream_timeout,
        )  # fmt: skip
        return AsyncReplyStream(turn)

    def events(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> AsyncEventStream:
        """Like ``stream``, with typed events instead of text."""
        turn = self._one_shot(
            messages, model, sampling, _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
            system_prompt, stall_timeout, stream_timeout,
        )  # fmt: skip
        return AsyncEventStream(turn)

    async def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> str:
        """Return the whole reply to ``messages`` as one string (the chat is deleted after).

        Raises:
            GenerationError: The server reported a failed generation.
        """
        turn = self._one_shot(
            messages, model, sampling, _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
            system_prompt, stall_timeout, stream_timeout,
        )  # fmt: skip
        parts: list[str] = []
        async with AsyncReplyStream(turn) as stream:
            async for text in stream:
                parts.append(text)
        return "".join(parts)

    def _one_shot(
        self,
        messages: Sequence[Mapping[str, str]],
        model: str | None,
        sampling: SamplingParameters | None,
        overrides: dict[str, Any],
        system_prompt: str | None,
        stall_timeout: float | None | NotGiven,
        stream_timeout: float | None | NotGiven,
    ) -> _AsyncTurn:
        self._check_open()
        return _AsyncTurn(
            self,
            None,
            format_prompt(messages),
            model=model or self._options.model,
            sampling=_merge_sampling(sampling or self._options.sampling, overrides),
            extra={"system_prompt": system_prompt},
            stall_timeout=stall_timeout,
            stream_timeout=stream_timeout,
        )


class AsyncChatContext:
    """``async with client.chat() as chat``: create on enter, delete on exit, whatever happens."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._chat: AsyncChat | None = None

    async def __aenter__(self) -> AsyncChat:
        self._chat = await self._client.create_chat()
        return self._chat

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._chat is not None:
            await self._chat._exit(exc)


class AsyncChat:
    """A chat on the server; it remembers its thread, so each turn continues the last.

    Use it as an async context manager to delete it on exit, or call ``delete``.

    Attributes:
        id: The server's chat id.
        info: The chat as the server last described it.
    """

    def __init__(self, client: AsyncClient, info: ChatInfo) -> None:
        self._client = client
        self.id = info.id
        self.info = info
        self._tail: str | None = None
        self._started = False  # a prompter message was posted
        self._turns: list[_AsyncTurn] = []
        self._deleted = False

    def __repr__(self) -> str:
        return f"<AsyncChat id={self.id!r}>"

    @property
    def last_message_id(self) -> str | None:
        """The last complete assistant message: the parent of the next prompter message."""
        return self._tail

    @property
    def deleted(self) -> bool:
        """Whether this chat was deleted."""
        return self._deleted

    async def __aenter__(self) -> AsyncChat:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._exit(exc)

    async def _exit(self, exc: BaseException | None) -> None:
        shield = primitives.ShieldCancellation(self._client._options.cleanup_timeout)
        error: Exception | None = None
        with shield:
            try:
                await self.delete()
            except Exception as err:  # reported below, never masking `exc`
                error = err
        if shield.timed_out and error is None:
            error = APITimeoutError(
                f"deleting chat {self.id} took longer than {self._client._options.cleanup_timeout}s"
            )
        if error is not None:
            if exc is not None:
                warnings.warn(
                    f"could not delete chat {self.id}: {error}", CleanupWarning, stacklevel=3
                )
            else:
                raise error

    async def delete(self) -> None:
        """Close this chat's open streams, then delete it on the server (idempotent)."""
        for turn in self._turns:
            await turn.aclose()
        self._turns.clear()
        if self._deleted:
            return
        with contextlib.suppress(NotFoundError):  # already gone: what delete() promises
            await self._client.delete_chat(self.id)
        self._deleted = True

    async def refresh(self) -> ChatInfo:
        """Fetch the chat with all its messages from the server."""
        self.info = await self._client.get_chat(self.id)
        return self.info

    async def vote(self, message: Message | str, score: Literal[-1, 0, 1]) -> None:
        """Rate an assistant message of this chat: -1, 0 or 1."""
        message_id = message.id if isinstance(message, Message) else message
        await self._client.vote(self.id, message_id, score)

    def stream(
        self,
        content: str,
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> AsyncReplyStream:
        """Send ``content`` and stream the reply's text.

        The requests (prompter message, assistant message, events) start on first iteration
        or on entering ``async with``. After the stream is exhausted, ``.message`` holds the
        final ``Message``.

        Raises:
            ValueError: Invalid content or sampling parameters (at once, before any request).
        """
        return AsyncReplyStream(
            self._turn(
                content, model, sampling,
                _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
                system_prompt, user_profile, user_response_instructions, stall_timeout, stream_timeout,
            )
        )  # fmt: skip

    def events(
        self,
        content: str,
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> AsyncEventStream:
        """Send ``content`` and stream the reply as typed events.

        An in-stream error arrives as a final ``ErrorEvent`` (api-contract.md decision 3).
        """
        return AsyncEventStream(
            self._turn(
                content, model, sampling,
                _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
                system_prompt, user_profile, user_response_instructions, stall_timeout, stream_timeout,
            )
        )  # fmt: skip

    async def send(
        self,
        content: str,
        *,
        model: str | None = None,
        sampling: SamplingParameters | None = None,
        top_k: int | None | NotGiven = NOT_GIVEN,
        top_p: float | None | NotGiven = NOT_GIVEN,
        typical_p: float | None | NotGiven = NOT_GIVEN,
        temperature: float | None | NotGiven = NOT_GIVEN,
        repetition_penalty: float | None | NotGiven = NOT_GIVEN,
        max_new_tokens: int | None | NotGiven = NOT_GIVEN,
        system_prompt: str | None = None,
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        stall_timeout: float | None | NotGiven = NOT_GIVEN,
        stream_timeout: float | None | NotGiven = NOT_GIVEN,
    ) -> Message:
        """Send ``content`` and wait for the complete reply.

        Raises:
            GenerationError: The server reported a failed generation.
        """
        stream = AsyncReplyStream(
            self._turn(
                content, model, sampling,
                _sampling_overrides(top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens),
                system_prompt, user_profile, user_response_instructions, stall_timeout, stream_timeout,
            )
        )  # fmt: skip
        async with stream:
            async for _ in stream:
                pass
        assert stream.message is not None
        return stream.message

    def _turns_pending(self) -> bool:
        return any(not turn._closed for turn in self._turns)

    def _check_continuable(self) -> None:
        if self._started and self._tail is None:
            # The server takes a prompter message only as the first of a chat or after a
            # complete assistant message (oa-protocol.md 2.3, 5.2): there is none to follow.
            raise OpenAssistantError(
                f"chat {self.id} has no complete reply to continue from (its first reply failed "
                "or was stopped); start a new chat"
            )

    def _turn(
        self,
        content: str,
        model: str | None,
        sampling: SamplingParameters | None,
        overrides: dict[str, Any],
        system_prompt: str | None,
        user_profile: str | None,
        user_response_instructions: str | None,
        stall_timeout: float | None | NotGiven,
        stream_timeout: float | None | NotGiven,
    ) -> _AsyncTurn:
        if self._deleted:
            raise OpenAssistantError(f"chat {self.id} was deleted")
        if not self._turns_pending():
            self._check_continuable()
        if not isinstance(content, str):
            raise ValueError(f"content must be a string, not {type(content).__name__}")
        options = self._client._options
        return _AsyncTurn(
            self._client,
            self,
            content,
            model=model or options.model,
            sampling=_merge_sampling(sampling or options.sampling, overrides),
            extra={
                "system_prompt": system_prompt,
                "user_profile": user_profile,
                "user_response_instructions": user_response_instructions,
            },
            stall_timeout=stall_timeout,
            stream_timeout=stream_timeout,
        )


class _AsyncTurn:
    """One reply: prompter message, assistant message, events, recovery; then cleanup.

    A one-shot turn (``chat is None``) creates its own chat first and deletes it at the end.
    """

    def __init__(
        self,
        client: AsyncClient,
        chat: AsyncChat | None,
        content: str,
        *,
        model: str,
        sampling: SamplingParameters,
        extra: dict[str, str | None],
        stall_timeout: float | None | NotGiven,
        stream_timeout: float | None | NotGiven,
    ) -> None:
        options = client._options
        self._client = client
        self._chat = chat
        self._content = content
        self._model = model
        self._sampling = sampling
        self._extra = extra
        self._stall = (
            options.stall_timeout if isinstance(stall_timeout, NotGiven) else stall_timeout
        )
        self._deadline_span = (
            options.stream_timeout if isinstance(stream_timeout, NotGiven) else stream_timeout
        )
        self._decoder = EventDecoder(
            on_malformed=options.on_malformed, max_event_size=options.max_event_size
        )
        self._tracker = ReplyTracker()
        self._queue: deque[Event] = deque()
        # Translates read errors of the event stream (built once, not once per chunk).
        self._events_spec = client._routes.events("x", "x")  # for errors: method and path
        # The stream is opened with the stall timeout as its HTTP read timeout. If the
        # client's transport enforces that on every read (httpx's do) and no stream_timeout
        # shortens it, a timer of our own per chunk would only repeat it, at a price that
        # exceeds the rest of a chunk's handling when each event comes in a chunk of its own.
        self._own_timer = self._deadline_span is not None or not client._reads_bounded
        self._resources = _Resources()
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._started = False
        self._done = False
        self._closed = False
        self._recoveries = 0
        self._deadline: float | None = None
        self._last_progress = 0.0
        self._last_check = 0.0
        self._seen_bytes = False
        self.chat_id: str | None = chat.id if chat is not None else None
        self.prompter_message: Message | None = None
        self.assistant_message: Message | None = None

    @property
    def final(self) -> Message | None:
        return self._tracker.final

    @property
    def skipped(self) -> int:
        return self._decoder.skipped

    async def start(self) -> None:
        """Send the requests that start the reply (once)."""
        if self._started:
            return
        self._started = True
        client = self._client
        client._check_open()
        routes = client._routes
        self._finalizer = weakref.finalize(self, _orphaned, client._orphans, self._resources)
        client._live.add(self)
        try:
            if self._chat is None:
                info = await client._create_chat_info()
                self.chat_id = self._resources.chat_id = info.id
            else:
                for previous in self._chat._turns:
                    await previous.aclose()  # one reply at a time per chat
                self._chat._turns = [self]
                # A first reply abandoned unfinished (a `break` without closing its stream)
                # was still pending when this turn was made; now it is known to have failed.
                self._chat._check_continuable()
            assert self.chat_id is not None
            parent = self._chat._tail if self._chat is not None else None
            self.prompter_message = Message.from_json(
                await client._json(routes.prompter_message(self.chat_id, parent, self._content))
            )
            if self._chat is not None:
                self._chat._started = True
            spec = routes.assistant_message(
                self.chat_id,
                self.prompter_message.id,
                self._model,
                self._sampling,
                system_prompt=self._extra.get("system_prompt"),
                user_profile=self._extra.get("user_profile"),
                user_response_instructions=self._extra.get("user_response_instructions"),
            )
            self.assistant_message = Message.from_json(await client._json(spec))
            now = primitives.now()
            self._last_progress = now
            if self._deadline_span is not None:
                self._deadline = now + self._deadline_span
            await self._open()
        except BaseException as exc:
            await self._shutdown(exc)
            raise

    async def _open(self) -> bool:
        """Open the events stream; return False if the server says it is already finished."""
        assert self.chat_id is not None
        assert self.assistant_message is not None
        spec = self._client._routes.events(self.chat_id, self.assistant_message.id)
        response = await self._client._send(spec, read_timeout=self._read_timeout())
        if response.status_code == 204:  # already finished (oa-protocol.md 3.3)
            await response.aclose()
            return False
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _EVENT_CONTENT_TYPES:
            await response.aclose()
            raise StreamError(
                f"expected an event stream, got {content_type!r} (status {response.status_code})"
            )
        self._resources.response = response
        self._chunks = response.aiter_bytes()
        return True

    def _read_timeout(self) -> float | None:
        limits = [x for x in (self._stall, self._remaining()) if x is not None]
        return max(min(limits), 0.001) if limits else None

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - primitives.now()

    async def next_event(self) -> Event:
        """Return the next event the user should see; raise StopAsyncIteration at the end."""
        if self._closed and not self._queue:
            raise StopAsyncIteration
        try:
            if not self._started:
                await self.start()
            while True:
                if self._queue:
                    return self._queue.popleft()
                if self._done:
                    await self._shutdown(None)
                    raise StopAsyncIteration
                if self._chunks is None:
                    await self._recover("the server reported the message finished", normal=True)
                    continue
                await self._pump()
        except StopAsyncIteration:
            raise
        except BaseException as exc:
            await self._shutdown(exc)
            raise

    async def _pump(self) -> None:
        """Read one chunk and decode it; handle the end of the stream and broken streams."""
        chunks = self._chunks
        assert chunks is not None
        # Plain try blocks, no context manager and no wrapper when the transport times each
        # read out: this runs for every chunk, and each call showed in the per-event benchmark.
        try:
            try:
                if self._own_timer:
                    chunk = await primitives.read_chunk(chunks, self._read_timeout())
                else:
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        chunk = None
            except HTTPX_ERRORS as exc:
                raise_translated(self._events_spec, exc)
        except (TimeoutError, APITimeoutError):
            await self._close_response()
            await self._expired()
            return
        except APIConnectionError as err:
            await self._close_response()
            if not self._client._options.recover:
                raise
            await self._recover(f"the connection broke: {err}")
            return
        if chunk is None:
            await self._close_response()
            self._decoder.flush()
            if not self._tracker.finished:
                # An empty body is the website's way of saying "finished" (204 upstream, 1.2).
                empty = not self._seen_bytes
                await self._recover("the stream ended without a final event", normal=empty)
            return
        self._seen_bytes = True
        events = self._decoder.feed(chunk)
        progress, finished = self._tracker.accept_all(events, self._queue)
        if finished:
            # The final events go out first; the drain comes when the stream is shut down.
            self._finish()
        now = primitives.now()
        if progress:
            self._last_progress = now  # so the stall timer cannot have run out
            if self._done or self._deadline is None or now <= self._deadline:
                return
        elif self._done:
            return
        if (self._deadline is not None and now > self._deadline) or (
            self._stall is not None and now - self._last_progress > self._stall
        ):
            await self._close_response()
            await self._expired()
        elif (
            not progress  # (after progress, _last_progress is now)
            and events
            and now - max(self._last_progress, self._last_check) > _PENDING_CHECK
        ):
            self._last_check = now
            await self._check_pending()

    async def _check_pending(self) -> None:
        """End a reply whose message died while queued (cancelled or timed out)."""
        message = await self._fetch()
        if message is None or message.state not in ("cancelled", "timeout"):
            return
        await self._close_response()
        self._tracker.error = ErrorEvent(failure_text(message), message)
        self._queue.append(self._tracker.error)
        self._finish()

    async def _expired(self) -> None:
        """The stall or total timeout passed: take the final text if the server has it."""
        message = await self._fetch()
        if message is not None and recovery_step(message) == "done":
            self._tracker.recovering = True
            self._queue.extend(self._tracker.finish(message))
            self._finish()
            return
        state = f"; the message is {message.state!r}" if message is not None else ""
        if message is not None and message.state in ("cancelled", "timeout"):
            state += f" ({failure_text(message)})"
        limit = (
            "stream_timeout"
            if self._deadline is not None and primitives.now() >= self._deadline
            else "stall_timeout"
        )
        raise APITimeoutError(f"no reply within {limit}{state}", failure=None)

    async def _fetch(self) -> Message | None:
        assert self.chat_id is not None
        assert self.assistant_message is not None
        try:
            return await self._client.get_message(self.chat_id, self.assistant_message.id)
        except OpenAssistantError:
            return None

    async def _recover(self, reason: str, *, normal: bool = False) -> None:
        """Get the rest of the reply after the stream ended early (api-contract.md decision 5).

        ``normal`` is the server's own "already finished" answer (204, or an empty 200 through
        the website, 3.3): the final message is fetched even when recovery is off.
        """
        if not normal and not self._client._options.recover:
            raise StreamError(f"the reply is incomplete: {reason} (recovery is off)")
        self._tracker.recovering = True
        while True:
            message = await self._client.get_message(
                self.chat_id or "", self.assistant_message.id if self.assistant_message else ""
            )
            step = recovery_step(message)
            if step == "done":
                self._queue.extend(self._tracker.finish(message))
                self._finish()
                return
            if step == "failed":
                self._tracker.error = ErrorEvent(failure_text(message), message)
                self._queue.append(self._tracker.error)
                self._finish()
                return
            self._recoveries += 1
            if self._recoveries > self._client._options.max_recoveries:
                raise StreamError(
                    f"the reply could not be recovered after {self._recoveries - 1} attempts: {reason}"
                )
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                await self._expired()
                return
            logger.info("recovering reply %s: %s", message.id, reason)
            await primitives.sleep(
                _RECOVERY_POLL[min(self._recoveries - 1, len(_RECOVERY_POLL) - 1)]
            )
            self._decoder = EventDecoder(
                on_malformed=self._client._options.on_malformed,
                max_event_size=self._client._options.max_event_size,
            )
            self._seen_bytes = False
            if await self._open():
                return

    def _finish(self) -> None:
        self._done = True
        final = self._tracker.final
        if self._chat is not None and final is not None and final.state == "complete":
            self._chat._tail = final.id

    async def _drain(self) -> None:
        """Read what is left of a finished stream, briefly, so its connection can be pooled."""
        chunks, response = self._chunks, self._resources.response
        if chunks is not None and response is not None:
            # A broken connection is not pooled anyway: nothing to report.
            with contextlib.suppress(*HTTPX_ERRORS):
                await primitives.drain(chunks, response, _DRAIN_BYTES, _DRAIN_TIMEOUT)
        await self._close_response()

    async def _close_response(self) -> None:
        chunks, self._chunks = self._chunks, None
        response, self._resources.response = self._resources.response, None
        try:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()  # close the body iterator itself, not only the response (trio)
        finally:
            if response is not None:
                await response.aclose()

    async def aclose(self) -> None:
        """Release the connection and, for a one-shot reply, delete its chat (idempotent)."""
        await self._shutdown(None)

    async def _shutdown(self, exc: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        self._client._live.discard(self)
        shield = primitives.ShieldCancellation(self._client._options.cleanup_timeout)
        error: Exception | None = None
        with shield:
            try:
                if exc is None and self._done:
                    await self._drain()
                else:
                    await self._close_response()
            except Exception as err:  # a broken connection is already released
                logger.debug("closing a reply stream failed: %s", err)
            chat_id, self._resources.chat_id = self._resources.chat_id, None
            if chat_id is not None:
                try:
                    await self._client.delete_chat(chat_id)
                except NotFoundError:
                    pass
                except Exception as err:  # reported below, never masking `exc`
                    error = err
        if shield.timed_out and chat_id is not None and error is None:
            error = APITimeoutError(f"deleting chat {chat_id} took too long")
        if error is not None:
            # The reply (or the original error) matters more than a failed cleanup.
            warnings.warn(f"could not delete chat {chat_id}: {error}", CleanupWarning, stacklevel=3)


class _AsyncStreamBase:
    def __init__(self, turn: _AsyncTurn) -> None:
        self._turn = turn

    @property
    def message(self) -> Message | None:
        """The final assistant message, once the stream is exhausted."""
        return self._turn.final

    @property
    def prompter_message(self) -> Message | None:
        """The prompter message this reply answers, once sent."""
        return self._turn.prompter_message

    @property
    def chat_id(self) -> str | None:
        """The chat the reply belongs to, once known."""
        return self._turn.chat_id

    @property
    def skipped_events(self) -> int:
        """Malformed events skipped under ``on_malformed="skip"``."""
        return self._turn.skipped

    async def aclose(self) -> None:
        """Stop the reply: release its connection (and delete a one-shot chat). Idempotent."""
        await self._turn.aclose()

    async def _start(self) -> None:
        await self._turn.start()


class AsyncReplyStream(_AsyncStreamBase):
    """The text of a reply, token by token: ``async for text in stream``.

    Never yields an empty string. An in-stream error raises ``GenerationError``.
    """

    def __aiter__(self) -> AsyncReplyStream:
        return self

    async def __anext__(self) -> str:
        turn = self._turn
        queue = turn._queue
        while True:
            # Events already decoded are handed out without a call into the turn.
            event = queue.popleft() if queue else await turn.next_event()
            kind = type(event)
            if kind is TokenEvent:
                assert isinstance(event, TokenEvent)
                if event.text:
                    return event.text
            elif kind is ErrorEvent:
                assert isinstance(event, ErrorEvent)
                await self._turn.aclose()
                raise GenerationError(event.error, event.message)

    async def __aenter__(self) -> AsyncReplyStream:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._turn._shutdown(exc)


class AsyncEventStream(_AsyncStreamBase):
    """A reply as typed events: ``async for event in stream``.

    Yields ``PendingEvent``, ``TokenEvent``, ``PluginIntermediateEvent``,
    unknown events, and ends with a ``MessageEvent`` or an ``ErrorEvent``.
    """

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        queue = self._turn._queue
        return queue.popleft() if queue else await self._turn.next_event()

    async def __aenter__(self) -> AsyncEventStream:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._turn._shutdown(exc)


# -- helpers -----------------------------------------------------------------------------------


async def _read_bounded(response: httpx.Response, limit: int | None) -> bytes:
    if limit is None:
        return await response.aread()
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as err:
        kind = response.headers.get("content-type", "no content type")
        raise InvalidResponseError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code} "
            f"with a body that is not JSON ({kind}): {response.content[:80]!r}"
        ) from err


def _sampling_overrides(
    top_k: int | None | NotGiven,
    top_p: float | None | NotGiven,
    typical_p: float | None | NotGiven,
    temperature: float | None | NotGiven,
    repetition_penalty: float | None | NotGiven,
    max_new_tokens: int | None | NotGiven,
) -> dict[str, Any]:
    values = (top_k, top_p, typical_p, temperature, repetition_penalty, max_new_tokens)
    return {
        name: value
        for name, value in zip(_SAMPLING_FIELDS, values, strict=True)
        if not isinstance(value, NotGiven)
    }


def _merge_sampling(base: SamplingParameters, overrides: dict[str, Any]) -> SamplingParameters:
    if not isinstance(base, SamplingParameters):
        raise ValueError(
            "sampling must be a SamplingParameters (e.g. SamplingParameters.preset('k50'))"
        )
    return base.replace(**overrides) if overrides else base
