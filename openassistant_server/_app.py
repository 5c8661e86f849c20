"""Assemble the application: inference routes, website routes, admin routes, faults.

Middleware order (outermost first): Starlette's error middleware (the unhandled 500), CORS
as upstream configures it (2) for the configured origins, fault injection, then routing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ._admin import ADMIN_PREFIX, AdminRoutes
from ._auth_routes import AuthRoutes
from ._chat_routes import REQUEST_KEY, ChatRoutes
from ._conn import drop_connection
from ._engine import ServerCore
from ._faults import REQUEST_ACTIONS, classify_request
from ._http import (
    HTTPError,
    UnhandledError,
    handle_http_error,
    handle_starlette_http_exception,
    install_quiet_log_filter,
    json_response,
)
from ._settings import ServerConfig
from ._website import WebsiteRoutes

__all__ = ["create_app", "get_core"]

_HANDLERS: dict[Any, Any] = {
    HTTPError: handle_http_error,
    StarletteHTTPException: handle_starlette_http_exception,
}


#: Routes no browser page of another origin may reach: the admin routes (by prefix) and the
#: debug login, which hands out tokens to anyone.
_SAME_ORIGIN_ONLY = ("/auth/login/debug", "/auth/callback/debug")


class CORSMiddleware:
    """CORS as upstream configures it (any method and header, credentials), for `origins` only.

    Requests without an `Origin` header pass untouched, so non-browser clients see exactly
    the recorded headers (Starlette's own middleware adds `vary: Origin` everywhere). A
    cross-origin request to the admin routes or the debug login is refused with a 403 before
    it runs: a simple request (a form post, a `text/plain` fetch) needs no preflight, so
    leaving out the CORS headers alone would still let any web page arm faults.
    """

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = StarletteCORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        guarded = path.startswith(f"{ADMIN_PREFIX}/") or path in _SAME_ORIGIN_ONLY
        own_origin = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if guarded and origin != own_origin:
            response = json_response({"detail": "Cross-origin requests are not allowed"}, 403)
            await response(scope, receive, send)
            return
        await self.cors(scope, receive, send)


class FaultMiddleware:
    """Apply request-level faults and tag each request with its identity for later faults."""

    def __init__(self, app: ASGIApp, core: ServerCore) -> None:
        self.app = app
        self.core = core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        api, op = classify_request(method, path, scope.get("query_string", b"").decode("latin-1"))
        scope[REQUEST_KEY] = (method, path, api, op)
        fault = self.core.faults.take(REQUEST_ACTIONS, method, path, api, op)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.action == "delay":
            await anyio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.action == "unhandled_500":
            raise UnhandledError("injected fault")
        elif fault.action in ("reset", "close"):
            await drop_connection(
                self.core.server, dict(scope), receive, reset=fault.action == "reset"
            )
        else:
            status = 500 if fault.action == "handled_500" else fault.status
            body = b"" if fault.action == "handled_500" else fault.body.encode()
            headers = {} if fault.action == "handled_500" else dict(fault.headers)
            await Response(body, status_code=status, headers=headers)(scope, receive, send)


def create_app(config: ServerConfig | None = None) -> Starlette:
    """Create the local Open Assistant server as an ASGI application.

    It serves the inference API (`/auth/...`, `/chats...`, `/configs/...`), the website
    proxy (`/api/chat...`) and, unless disabled, the `/_local/...` admin routes. State lives
    in memory; the simulated workers run for the application's lifespan.

    Args:
        config: The configuration; the defaults when None.

    Returns:
        A Starlette application; its `state.core` holds the server state.
    """
    config = config or ServerConfig()
    core = ServerCore(config)
    inference_routes = [*AuthRoutes(core).routes(), *ChatRoutes(core).routes()]
    upstream = Starlette(routes=inference_routes, exception_handlers=_HANDLERS)
    routes = [*inference_routes, *WebsiteRoutes(core, upstream).routes()]
    if config.admin_routes:
        routes += AdminRoutes(core).routes()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with core.running():
            yield

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(cast(Any, CORSMiddleware), origins=config.cors_origins),
            Middleware(cast(Any, FaultMiddleware), core=core),
        ],
        exception_handlers=_HANDLERS,
        lifespan=lifespan,
    )
    app.state.core = core
    install_quiet_log_filter()
    return app


def get_core(app: Any) -> ServerCore:
    """Return the server state of an application made by `create_app`."""
    core = getattr(getattr(app, "state", None), "core", None)
    if not isinstance(core, ServerCore):
        raise TypeError("not an application created by openassistant_server.create_app")
    return core
