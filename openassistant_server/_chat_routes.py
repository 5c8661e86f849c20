"""Inference-server chat routes: `/chats/...` (docs/protocol.md 2.2, 3, 5.2).

Each handler follows FastAPI 0.88's order: decode the JSON body, resolve dependencies (the
rate limiter, then auth), validate parameters, then run upstream's handler body with its own
try/except shape (which decides between handled and unhandled 500s).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._eventsource import EventSink, EventStreamResponse, encode_data, sse_json
from ._faults import GENERATION_ACTIONS, STREAM_ACTIONS
from ._http import HTTPError, UnhandledError, empty_response, json_response
from ._ids import uuid7
from ._queues import QueueFull
from ._routing import api_route, query_param, read_body
from ._schemas import (
    ASSISTANT_MESSAGE,
    CHAT_UPDATE,
    CREATE_CHAT,
    MESSAGE_EVAL,
    PROMPTER_MESSAGE,
    REPORT,
    VOTE,
)
from ._store import require_storable
from ._validation import (
    ErrorList,
    constrained_int,
    raise_if_errors,
    to_bool,
    to_str,
    validate_body,
)

if TYPE_CHECKING:
    from ._engine import ServerCore

__all__ = ["INTERNAL_KEY", "REQUEST_KEY", "ChatRoutes"]

#: Scope key holding the client-facing request's (method, path, api, op), for faults.
REQUEST_KEY = "openassistant.request"
#: Scope key marking a request the website proxy makes in process.
INTERNAL_KEY = "openassistant.internal"

_LIMIT = constrained_int(gt=0, le=100)


def _cursor(chat_id: str) -> str:
    return base64.b64encode(chat_id.encode()).decode()


def _uncursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.b64decode(cursor.encode()).decode()
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise UnhandledError("invalid cursor") from exc


class ChatRoutes:
    """The `/chats` routes."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        """Return the routes in upstream's registration order (it decides 405s and hide_all)."""
        return [
            api_route("/chats", self.list_chats, ["GET"]),
            api_route("/chats", self.create_chat, ["POST"]),
            api_route("/chats/{chat_id}", self.get_chat, ["GET"]),
            api_route("/chats/{chat_id}", self.delete_chat, ["DELETE"]),
            api_route("/chats/{chat_id}/prompter_message", self.prompter_message, ["POST"]),
            api_route("/chats/{chat_id}/assistant_message", self.assistant_message, ["POST"]),
            api_route("/chats/{chat_id}/messages/{message_id}", self.get_message, ["GET"]),
            api_route("/chats/{chat_id}/messages/{message_id}/events", self.events, ["GET"]),
            api_route("/chats/{chat_id}/messages/{message_id}/votes", self.vote, ["POST"]),
            api_route(
                "/chats/{chat_id}/messages/{message_id}/message_evals", self.message_eval, ["POST"]
            ),
            api_route("/chats/{chat_id}/messages/{message_id}/reports", self.report, ["POST"]),
            api_route("/chats/{chat_id}", self.update_chat, ["PUT"]),
            # Registered after `PUT /chats/{chat_id}`, which matches first: unreachable (2.2).
            api_route("/chats/hide_all", self.hide_all, ["PUT"]),
        ]

    # -- dependencies ------------------------------------------------------------------------
    def user_id(self, request: Request) -> str:
        """`auth.get_current_user_id`."""
        from ._tokens import current_user_id

        return current_user_id(request, self.core.signer, self.core.config.trusted_client_keys)

    def repository_user(self, request: Request) -> str:
        """`deps.create_user_chat_repository`: its pydantic model rejects an empty user id."""
        user_id = self.user_id(request)
        if not user_id:
            raise UnhandledError("UserChatRepository needs a user id")
        return user_id

    # -- chats -------------------------------------------------------------------------------
    async def list_chats(self, request: Request) -> Response:
        """`GET /chats`: newest first, base64 cursors (2.2)."""
        user_id = self.repository_user(request)
        errors: ErrorList = []
        include_hidden = query_param(request, "include_hidden", to_bool, errors, default=False)
        limit = query_param(request, "limit", _LIMIT, errors, default=10)
        after = query_param(request, "after", to_str, errors)
        before = query_param(request, "before", to_str, errors)
        raise_if_errors(errors)
        after_id, before_id = _uncursor(after), _uncursor(before)
        if after_id is not None and before_id is not None:
            raise HTTPError(400, "Cannot specify both after and before.")
        chats = self.core.store.list_chats(
            user_id,
            include_hidden=include_hidden,
            limit=limit + 1,
            after=after_id,
            before=before_id,
        )
        num_rows = len(chats)
        chats = chats if num_rows <= limit else chats[:-1]
        chats = chats if before is None else chats[::-1]
        prev = nxt = None
        if num_rows > 0:
            if (num_rows > limit and before) or after:
                prev = _cursor(chats[0].id)
            if num_rows > limit or before:
                nxt = _cursor(chats[-1].id)
        else:
            prev = after or None
            nxt = before or None
        return json_response(
            {"chats": [c.to_list_json() for c in chats], "next": nxt, "prev": prev}
        )

    async def create_chat(self, request: Request) -> Response:
        """`POST /chats`: a body is required, `{}` or `""` will do (golden 01 #4-#6)."""
        body = await read_body(request)
        user_id = self.repository_user(request)
        errors: ErrorList = []
        validate_body(body, CREATE_CHAT, errors)
        raise_if_errors(errors)
        # Upstream answers 404 `User not found` for a TrustedClient user it has not seen, but
        # the recording shows the creation succeeding (golden 02 #18), so no check here.
        chat = self.core.store.create_chat(user_id)
        return json_response(chat.to_list_json())

    async def get_chat(self, request: Request) -> Response:
        """`GET /chats/{chat_id}`: the chat with all its messages."""
        user_id = self.repository_user(request)
        chat = self.core.store.chat_of(user_id, request.path_params["chat_id"])
        return json_response(self.core.store.chat_json(chat))

    async def delete_chat(self, request: Request) -> Response:
        """`DELETE /chats/{chat_id}`: 200 with an empty body."""
        user_id = self.repository_user(request)
        store = self.core.store
        chat = store.chat_of(user_id, request.path_params["chat_id"])
        self.core.chat_deleting([store.messages[m] for m in chat.message_ids])
        store.delete_chat(chat)
        for message_id in chat.message_ids:
            self.core.message_queues.pop(message_id, None)
            self.core.cancel_generation(message_id)
        return empty_response(200)

    async def update_chat(self, request: Request) -> Response:
        """`PUT /chats/{chat_id}`: 200 `null`; any failure is an empty 500 (2.2)."""
        body = await read_body(request)
        user_id = self.repository_user(request)
        errors: ErrorList = []
        update = validate_body(body, CHAT_UPDATE, errors)
        raise_if_errors(errors)
        try:
            chat = self.core.store.chat_of(user_id, request.path_params["chat_id"])
            require_storable(update)
        except Exception:
            return empty_response(500)
        for key, value in update.items():
            if value is not None:
                setattr(chat, key, value)
        return json_response(None)

    async def hide_all(self, request: Request) -> Response:  # pragma: no cover - unreachable
        """`PUT /chats/hide_all`, shadowed by `PUT /chats/{chat_id}` as upstream."""
        user_id = self.repository_user(request)
        for chat in list(self.core.store.chats.values()):
            if chat.user_id == user_id:
                chat.hidden = True
        return json_response(None)

    # -- messages ----------------------------------------------------------------------------
    async def prompter_message(self, request: Request) -> Response:
        """`POST /chats/{chat_id}/prompter_message` (5.2)."""
        body = await read_body(request)
        user_id = self.user_id(request)
        errors: ErrorList = []
        data = validate_body(body, PROMPTER_MESSAGE, errors)
        raise_if_errors(errors)
        try:
            if not user_id:
                raise ValueError("empty user id")
            message = self.core.add_prompter_message(
                user_id, request.path_params["chat_id"], data["parent_id"], data["content"]
            )
            return json_response(message.to_json())
        except HTTPError:
            raise
        except Exception:
            return empty_response(500)

    async def assistant_message(self, request: Request) -> Response:
        """`POST /chats/{chat_id}/assistant_message` (5.1, 5.2).

        The URL's chat id is ignored: the message lands in the parent's chat (10.5). When the
        work queue is full the message has already been stored (and other pending messages
        cancelled) before the 503, exactly as upstream, which enqueues after committing.
        """
        core = self.core
        body = await read_body(request)
        user_id = self.user_id(request)  # the rate limiter's identifier runs auth first
        if core.rate_limiter is not None and not core.rate_limiter.hit(user_id):
            # The over-limit callback builds its HTTPException with swapped arguments, so the
            # client gets an unhandled 500 instead of 429 (5.1, golden 03 #24).
            raise UnhandledError("rate limited")
        errors: ErrorList = []
        data = validate_body(body, ASSISTANT_MESSAGE, errors)
        raise_if_errors(errors)  # counted by the limiter already (golden 03 #51)
        if core.backend is not None and data["model_config_name"] not in core.served:
            await core.backend.refresh(core, force=True)  # a model the backend got since
        model_config = core.model_config(data["model_config_name"])
        try:
            if not user_id:
                raise ValueError("empty user id")
            work_parameters: dict[str, Any] = {
                "model_config": model_config.to_json(),
                "sampling_parameters": data["sampling_parameters"],
                "do_sample": True,
                "seed": core.rng.randint(0, 0xFFFF_FFFF_FFFF_FFFF - 1),
                "system_prompt": data["system_prompt"],
                "user_profile": data["user_profile"],
                "user_response_instructions": data["user_response_instructions"],
                "plugins": data["plugins"],
                "plugin_max_depth": core.config.plugin_max_depth,
            }
            message = core.initiate_assistant_message(
                user_id,
                data["parent_id"],
                work_parameters,
                model_config,
                core.served[data["model_config_name"]],
            )
            try:
                core.work_queue(model_config.compat_hash).enqueue(message.id)
            except QueueFull as exc:
                raise HTTPError(
                    503, "The server is currently busy. Please try again later."
                ) from exc
            core.message_queued(message)
            self._arm_worker_fault(request, message)
            return json_response(message.to_json())
        except HTTPError:
            raise
        except Exception:
            return empty_response(500)

    def _arm_worker_fault(self, request: Request, message: Any) -> None:
        identity = request.scope.get(REQUEST_KEY)
        if identity is None:
            return
        fault = self.core.faults.take(GENERATION_ACTIONS, *identity)
        if fault is not None:
            message.worker_fault = (fault.after_events, fault.error)

    async def get_message(self, request: Request) -> Response:
        """`GET /chats/{chat_id}/messages/{message_id}`; unknown ids are unhandled 500s."""
        user_id = self.user_id(request)
        message = self._lookup(user_id, request)
        return json_response(message.to_json())

    def _lookup(self, user_id: str, request: Request) -> Any:
        try:
            return self.core.store.message_of(
                user_id, request.path_params["chat_id"], request.path_params["message_id"]
            )
        except LookupError as exc:
            raise UnhandledError("NoResultFound") from exc

    async def events(self, request: Request) -> Response:
        """`GET .../events`: the SSE stream of an assistant message (3)."""
        core = self.core
        user_id = self.user_id(request)
        message = self._lookup(user_id, request)
        if message.role != "assistant":
            raise HTTPError(400, "Only assistant messages can be streamed.")
        if message.has_finished:
            raise HTTPError(204, message.state)
        buffer = core.message_queue(message.id)
        queue = core.work_queues.get(message.compat_hash) if message.compat_hash else None
        interval = core.config.pending_interval

        async def produce(sink: EventSink) -> None:
            has_started = False
            while True:
                item = await buffer.pop(interval)
                if item is None:
                    # `pending` only until the first worker output (3.2); cancelled and
                    # timed-out messages therefore show `pending` forever (3.3).
                    if not has_started:
                        qpos, qlen = queue.pending_numbers(message.id) if queue else (0, 1)
                        event = {
                            "event_type": "pending",
                            "queue_position": qpos,
                            "queue_size": qlen,
                        }
                        await sink.event(encode_data(sse_json(event)))
                    continue
                has_started = True
                data, terminal = item
                await sink.event(data)
                if terminal:
                    return

        fault = None
        identity = request.scope.get(REQUEST_KEY)
        if identity is not None and not request.scope.get(INTERNAL_KEY):
            fault = core.faults.take(STREAM_ACTIONS, *identity)
        assert core.closing is not None
        return EventStreamResponse(
            produce,
            ping_interval=core.config.ping_interval,
            closing=core.closing,
            fault=fault,
            server=core.server,
        )

    # -- votes, evaluations, reports ---------------------------------------------------------
    async def vote(self, request: Request) -> Response:
        """`POST .../votes`: 200 empty; every failure is an empty 500 (2.2)."""
        body = await read_body(request)
        user_id = self.repository_user(request)
        errors: ErrorList = []
        data = validate_body(body, VOTE, errors)
        raise_if_errors(errors)
        try:
            score = data["score"]
            if score < -1 or score > 1:
                raise HTTPError(400, "Invalid score")
            message = self.core.store.owned_message(
                user_id, request.path_params["message_id"], role="assistant"
            )
            message.score = score
        except Exception:
            return empty_response(500)
        return empty_response(200)

    async def message_eval(self, request: Request) -> Response:
        """`POST .../message_evals`: 200 empty; every failure is an empty 500."""
        body = await read_body(request)
        user_id = self.repository_user(request)
        errors: ErrorList = []
        data = validate_body(body, MESSAGE_EVAL, errors)
        raise_if_errors(errors)
        try:
            message = self.core.store.owned_message(
                user_id, request.path_params["message_id"], role=None
            )
            require_storable(data["inferior_message_ids"])
            self.core.store.message_evals.append(
                {
                    "id": uuid7(),
                    "chat_id": message.chat_id,
                    "user_id": user_id,
                    "selected_message_id": message.id,
                    "inferior_message_ids": data["inferior_message_ids"],
                }
            )
        except Exception:
            return empty_response(500)
        return empty_response(200)

    async def report(self, request: Request) -> Response:
        """`POST .../reports`: 200 empty; a bad `report_type` is a 422, the rest empty 500s."""
        body = await read_body(request)
        user_id = self.repository_user(request)
        errors: ErrorList = []
        data = validate_body(body, REPORT, errors)
        raise_if_errors(errors)
        try:
            message = self.core.store.owned_message(
                user_id, request.path_params["message_id"], role="assistant"
            )
            require_storable(data["reason"])
            message.reports.append(
                {"id": uuid7(), "report_type": data["report_type"], "reason": data["reason"]}
            )
        except Exception:
            return empty_response(500)
        return empty_response(200)
