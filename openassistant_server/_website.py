"""The website's `/api/chat...` proxy routes (docs/protocol.md 1), on the same port.

Each handler does what `website/src/pages/api/chat/*.ts` does: next-auth session check (403,
empty), the `ENABLE_CHAT` gate (404, empty), then a call to the inference routes with a
TrustedClient header built from the session, mapping upstream errors as the TypeScript does.
Upstream calls go in process (`_upstream.py`); JSON bodies pass through JavaScript values.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._chat_routes import INTERNAL_KEY, REQUEST_KEY
from ._eventsource import EventSink, run_event_stream
from ._faults import STREAM_ACTIONS
from ._nextjs import (
    UNDEFINED,
    Answer,
    Escaped,
    Session,
    answer,
    destructure,
    js_stringify,
    js_truthy,
    next_end,
    next_internal_error,
    next_json,
    parse_next_body,
    query_value,
    session_token,
    url_part,
)
from ._upstream import UpstreamResponse, call_upstream, stream_upstream

if TYPE_CHECKING:
    from ._engine import ServerCore

__all__ = ["WebsiteRoutes"]

_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class WebsiteRoutes:
    """The `/api/chat...` routes.

    Args:
        core: The server state.
        upstream: The inference application the proxy calls.
    """

    def __init__(self, core: ServerCore, upstream: ASGIApp) -> None:
        self.core = core
        self.upstream = upstream

    def routes(self) -> list[Route]:
        """Return the routes; Next.js API routes answer every method."""
        handlers = {
            "/api/chat": self.index,
            "/api/chat/message": self.message,
            "/api/chat/prompter_message": self.prompter_message,
            "/api/chat/assistant_message": self.assistant_message,
            "/api/chat/events": self.events,
            "/api/chat/vote": self.vote,
            "/api/chat/message_eval": self.message_eval,
            "/api/chat/models": self.models,
            "/api/chat/plugins": self.plugins,
            "/api/chat/plugin_config": self.plugin_config,
        }
        return [Route(path, endpoint, methods=_ANY_METHOD) for path, endpoint in handlers.items()]

    # -- request plumbing ----------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        """Return the next-auth session of the request, or None (1.1)."""
        token = session_token(request)
        if not token:
            return None
        valid = self.core.config.session_tokens
        if valid is not None:
            user_id = valid.get(token)
            return Session(user_id, user_id) if user_id else None
        user_id = hashlib.sha256(token.encode()).hexdigest()[:32]
        return Session(user_id, user_id)

    def trusted_client(self, session: Session) -> str:
        """Build the TrustedClient header the website sends upstream (1.4)."""
        keys = self.core.config.trusted_client_keys
        info = {
            "api_key": keys[0] if keys else "",
            "client": "website",
            "provider_account_id": session.user_id,
            "user_id": session.user_id,
            "username": session.name,
        }
        return base64.b64encode(js_stringify(info).encode()).decode()

    async def prepare(self, request: Request, *, gated: bool = True) -> tuple[Session, Any]:
        """Parse the body, check the session and the chat gate, like `withoutRole` does.

        Raises:
            Answer: With the response to send instead (400, 403, 404).
        """
        body = parse_next_body(await request.body(), request.headers.get("content-type"))
        session = self.session(request)
        if session is None:
            raise Answer(next_end(403))
        if gated and not self.core.config.enable_chat:
            raise Answer(next_end(404))
        return session, body

    def _headers(self, session: Session) -> dict[str, str]:
        return {"content-type": "application/json", "trustedclient": self.trusted_client(session)}

    def _extra_scope(self, request: Request) -> dict[str, Any]:
        return {INTERNAL_KEY: True, REQUEST_KEY: request.scope.get(REQUEST_KEY)}

    async def call(
        self, request: Request, session: Session, method: str, url: str, data: Any = UNDEFINED
    ) -> UpstreamResponse:
        """Call the inference routes as axios would, with `data` as the JSON body."""
        body = None if data is UNDEFINED else js_stringify(data).encode()
        return await call_upstream(
            self.upstream,
            dict(request.scope),
            method,
            url,
            self._headers(session),
            body,
            self._extra_scope(request),
        )

    async def call_ok(
        self, request: Request, session: Session, method: str, url: str, data: Any = UNDEFINED
    ) -> Any:
        """Call upstream and return its data; a non-2xx status makes the handler throw."""
        response = await self.call(request, session, method, url, data)
        if not response.ok:
            raise Escaped(f"upstream answered {response.status}")
        return response.data()

    # -- routes --------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        """`/api/chat`: list, get, create, delete and update chats (1.2)."""
        return await answer(self._index(request))

    async def _index(self, request: Request) -> Response:
        session, body = await self.prepare(request)
        method = request.method
        if method == "GET":
            chat_id = query_value(request, "chat_id")
            if chat_id is not UNDEFINED and chat_id != "":
                response = await self.call(request, session, "GET", f"/chats/{url_part(chat_id)}")
                # `get_chat` swallows every error and returns nothing: 404 (1.2).
                return next_json(response.data()) if response.ok else next_end(404)
            params: dict[str, str] = {"limit": "20"}
            for name in ("before", "after", "include_hidden"):
                value = query_value(request, name)
                if value is not UNDEFINED and value != "":
                    params[name] = url_part(value)
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
            return next_json(await self.call_ok(request, session, "GET", f"/chats?{query}"))
        if method == "POST":
            response = await self.call(request, session, "POST", "/chats", "")
            if response.status == 404:  # the user row does not exist yet: create it, retry
                await self.call_ok(request, session, "POST", "/auth/trusted")
                response = await self.call(request, session, "POST", "/chats", "")
            if not response.ok:
                raise Escaped("create_chat failed")
            return next_json(response.data())
        if method == "DELETE":
            chat_id = url_part(query_value(request, "chat_id"))
            await self.call_ok(request, session, "DELETE", f"/chats/{chat_id}")
            return next_end(200)
        if method == "PUT":
            fields = destructure(body)
            chat_id = url_part(fields.pop("chat_id", UNDEFINED))
            await self.call_ok(request, session, "PUT", f"/chats/{chat_id}", fields)
            return next_end(200)
        return next_end(404)

    async def message(self, request: Request) -> Response:
        """`GET /api/chat/message?chat_id=&message_id=`."""
        return await answer(self._message(request))

    async def _message(self, request: Request) -> Response:
        session, _ = await self.prepare(request)
        chat_id = url_part(query_value(request, "chat_id"))
        message_id = url_part(query_value(request, "message_id"))
        data = await self.call_ok(
            request, session, "GET", f"/chats/{chat_id}/messages/{message_id}"
        )
        return next_json(data) if js_truthy(data) else next_end(400)

    async def prompter_message(self, request: Request) -> Response:
        """`POST /api/chat/prompter_message`: upstream errors as `{"message": detail}`."""
        return await answer(self._post_message(request, "prompter_message"))

    async def assistant_message(self, request: Request) -> Response:
        """`POST /api/chat/assistant_message`: the body minus `chat_id` goes upstream."""
        return await answer(self._post_message(request, "assistant_message"))

    async def _post_message(self, request: Request, kind: str) -> Response:
        session, body = await self.prepare(request)
        fields = destructure(body)
        chat_id = url_part(fields.pop("chat_id", UNDEFINED))
        response = await self.call(request, session, "POST", f"/chats/{chat_id}/{kind}", fields)
        if response.ok:
            return next_json(response.data())
        data = response.data()
        detail = data.get("detail") if isinstance(data, dict) else None
        return next_json(
            {"message": "Something went wrong" if detail is None else detail}, response.status
        )

    async def events(self, request: Request) -> Response:
        """`/api/chat/events?chat_id=&message_id=` (any method): the stream, piped."""
        try:
            session, _ = await self.prepare(request)
        except Answer as answer:
            return answer.response
        chat_id = url_part(query_value(request, "chat_id"))
        message_id = url_part(query_value(request, "message_id"))
        identity = request.scope.get(REQUEST_KEY)
        fault = self.core.faults.take(STREAM_ACTIONS, *identity) if identity else None
        return _PipedEvents(
            self, request, session, f"/chats/{chat_id}/messages/{message_id}/events", fault
        )

    async def vote(self, request: Request) -> Response:
        """`POST /api/chat/vote`: 400 `Invalid score` unless score is -1, 0 or 1."""
        return await answer(self._vote(request))

    async def _vote(self, request: Request) -> Response:
        session, body = await self.prepare(request)
        fields = destructure(body)
        score = fields.get("score", UNDEFINED)
        if isinstance(score, bool) or not isinstance(score, int | float) or score not in (-1, 0, 1):
            return Response(b"Invalid score", status_code=400)
        chat_id = url_part(fields.get("chat_id", UNDEFINED))
        message_id = url_part(fields.get("message_id", UNDEFINED))
        data = await self.call_ok(
            request,
            session,
            "POST",
            f"/chats/{chat_id}/messages/{message_id}/votes",
            {"score": score},
        )
        return next_json(data)

    async def message_eval(self, request: Request) -> Response:
        """`POST /api/chat/message_eval`."""
        return await answer(self._message_eval(request))

    async def _message_eval(self, request: Request) -> Response:
        session, body = await self.prepare(request)
        fields = destructure(body)
        chat_id = url_part(fields.get("chat_id", UNDEFINED))
        message_id = url_part(fields.get("message_id", UNDEFINED))
        payload = {"inferior_message_ids": fields.get("inferior_message_ids", UNDEFINED)}
        data = await self.call_ok(
            request,
            session,
            "POST",
            f"/chats/{chat_id}/messages/{message_id}/message_evals",
            payload,
        )
        return next_json(data)

    async def models(self, request: Request) -> Response:
        """`GET /api/chat/models`: the inference server's model configs."""
        return await answer(self._models(request))

    async def _models(self, request: Request) -> Response:
        session, _ = await self.prepare(request)
        return next_json(await self.call_ok(request, session, "GET", "/configs/model_configs"))

    async def plugins(self, request: Request) -> Response:
        """`GET /api/chat/plugins` (not gated by `ENABLE_CHAT`)."""
        return await answer(self._plugins(request))

    async def _plugins(self, request: Request) -> Response:
        session, _ = await self.prepare(request, gated=False)
        data = await self.call_ok(request, session, "GET", "/configs/builtin_plugins")
        return next_json(data) if js_truthy(data) else next_end(400)

    async def plugin_config(self, request: Request) -> Response:
        """`POST /api/chat/plugin_config` (not gated by `ENABLE_CHAT`)."""
        return await answer(self._plugin_config(request))

    async def _plugin_config(self, request: Request) -> Response:
        session, body = await self.prepare(request, gated=False)
        plugin = destructure(body).get("plugin", UNDEFINED)
        data = await self.call_ok(request, session, "POST", "/configs/plugin_config", plugin)
        return next_json(data) if js_truthy(data) else next_end(400)


class _PipedEvents(Response):
    """The website's events response: upstream's bytes piped through (1.2).

    Upstream errors make the handler throw (500); a 204 becomes an empty 200.
    """

    def __init__(
        self, routes: WebsiteRoutes, request: Request, session: Session, url: str, fault: Any
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = []
        self._routes = routes
        self._request = request
        self._session = session
        self._url = url
        self._fault = fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routes, core = self._routes, self._routes.core
        headers = routes._headers(self._session)
        headers.update(
            {
                "accept": "text/event-stream",
                "connection": "keep-alive",
                "cache-control": "no-cache, no-transform",
            }
        )
        async with stream_upstream(
            routes.upstream,
            dict(scope),
            "GET",
            self._url,
            headers,
            None,
            routes._extra_scope(self._request),
        ) as upstream:
            if not upstream.ok:
                await next_internal_error()(scope, receive, send)
                return

            async def pipe(sink: EventSink) -> None:
                async for chunk in upstream.chunks:
                    if chunk.startswith(b":"):
                        await sink.ping(chunk)
                    else:
                        await sink.event(chunk)

            assert core.closing is not None
            await run_event_stream(
                scope,
                receive,
                send,
                pipe,
                headers=(),
                ping_interval=None,
                closing=core.closing,
                fault=self._fault,
                server=core.server,
            )
