"""The client: ``AsyncClient``, its configuration and the chat API's calls.

Requests go through the sender (``_sender.py``); replies are ``ReplyFlow``s from the core,
performed by ``AsyncReply`` (``_stream.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from openassistant_sdk._auth import TrustedClient
from openassistant_sdk._config import (
    NOT_GIVEN,
    ClientOptions,
    NotGiven,
    changed_options,
    resolve,
)
from openassistant_sdk._logging import setup_from_env
from openassistant_sdk._models import (
    SamplingParameters,
)
from openassistant_sdk._retry import RetryPolicy
from openassistant_sdk._sse import MalformedPolicy

from ._calls import _AsyncCalls
from ._http import DEFAULT_TIMEOUT, ShardedAsyncTransport, make_timeout, sharding_is_safe
from ._sender import AsyncSender

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = ["AsyncClient"]


class AsyncClient(_AsyncCalls):
    """The Open Assistant client for the website or the inference server API.

    Use it as a context manager, or call ``aclose`` when done. Every argument left out
    comes from the environment (``OPENASSISTANT_BASE_URL``, ``OPENASSISTANT_API``,
    ``OPENASSISTANT_MODEL``, ``OPENASSISTANT_SESSION_TOKEN``, ``OPENASSISTANT_TOKEN``,
    ``OPENASSISTANT_DEBUG_USER``, ``OPENASSISTANT_LOG``; docs/configuration.md) or a default.

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
        close_timeout: Seconds ``aclose`` waits for replies that are still being generated,
            so that their chats can be deleted (default 30). A chat is never deleted while
            its reply is generating: on the inference server that loses another user's
            message (docs/chats.md). A chat still waiting then is left, with a
            ``CleanupWarning`` that names it.
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
        close_timeout: float = 30.0,
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
            "close_timeout": close_timeout,
            "headers": headers, "on_malformed": on_malformed, "recover": recover,
            "user_agent": user_agent, "env": env,
        }  # fmt: skip
        options, credentials = resolve(
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
            close_timeout=close_timeout,
            on_malformed=on_malformed,
            recover=recover,
            user_agent=user_agent,
            headers=headers,
        )
        timeout_value = None if isinstance(timeout, NotGiven) else make_timeout(timeout)
        if http_client is not None:
            if proxy is not None or http2 or event_hooks is not None or verify is not True:
                raise ValueError(
                    "configure proxy, http2, verify and event_hooks on your http_client"
                )
            http, rebuild = http_client, None
        else:

            def build() -> httpx.AsyncClient:
                transport = None
                if sharding_is_safe(proxy, trust_env) and not http2:
                    transport = ShardedAsyncTransport(verify=verify, trust_env=trust_env)
                return httpx.AsyncClient(
                    timeout=timeout_value or DEFAULT_TIMEOUT,
                    proxy=proxy,
                    trust_env=trust_env,
                    http2=http2,
                    verify=verify,
                    transport=transport,
                    follow_redirects=False,  # credentials never follow a redirect elsewhere
                    event_hooks=dict(event_hooks) if event_hooks else None,
                )

            try:
                http, rebuild = build(), build
            except ImportError as err:
                extra = "http2" if http2 else "socks"
                raise ImportError(
                    f"{err} Install it with: pip install 'openassistant-sdk[{extra}]'"
                ) from err
        self._sender = AsyncSender(options, credentials, http, timeout_value, rebuild)

    def __repr__(self) -> str:
        options = self._sender.options
        return f"<AsyncClient api={options.api!r} base_url={options.base_url!r}>"

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
        headers: Mapping[str, str] | None = None,
    ) -> AsyncClient:
        """Return a client with some options changed that shares this one's connections.

        For a service acting for many users: one connection pool, a client per user
        (``client.with_options(debug_user="bob")``). New credentials replace all the old
        ones; ``headers`` are added to the old ones. The copy does not close the shared
        connections; close this client last.
        """
        kwargs = changed_options(self._init_kwargs, locals())
        sender = self._sender
        copy = type(self)(http_client=sender.http, **kwargs)
        copy._sender.timeout = copy._sender.timeout or sender.timeout
        copy._sender.reads_bounded = sender.reads_bounded
        return copy

    @property
    def options(self) -> ClientOptions:
        """The resolved options (no secrets)."""
        return self._sender.options

    @property
    def api(self) -> Literal["website", "inference"]:
        """Which API this client speaks."""
        return self._sender.options.api

    @property
    def base_url(self) -> str:
        """The server root this client talks to."""
        return self._sender.options.base_url

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

        Waits up to ``close_timeout`` for replies still being generated, so that their chats
        can be deleted. An ``http_client`` passed in by the caller stays open
        (docs/design.md, decision 11).
        """
        await self._sender.close()
