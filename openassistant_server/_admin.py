"""`/_local/...`: fault injection and introspection for a server in another process.

Not part of the Open Assistant protocol; the paths cannot clash with upstream's routes and
are never subject to faults themselves.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._faults import Fault
from ._http import HTTPError, json_response
from ._routing import api_route

if TYPE_CHECKING:
    from ._engine import ServerCore

__all__ = ["ADMIN_PREFIX", "AdminRoutes"]

ADMIN_PREFIX = "/_local"


class AdminRoutes:
    """The admin routes."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        """Return the admin routes."""
        return [
            api_route(f"{ADMIN_PREFIX}/state", self.state, ["GET"]),
            api_route(f"{ADMIN_PREFIX}/faults", self.list_faults, ["GET"]),
            api_route(f"{ADMIN_PREFIX}/faults", self.add_faults, ["POST"]),
            api_route(f"{ADMIN_PREFIX}/faults", self.clear_faults, ["DELETE"]),
            api_route(f"{ADMIN_PREFIX}/faults/{{fault_id}}", self.remove_fault, ["DELETE"]),
            api_route(f"{ADMIN_PREFIX}/workers", self.workers, ["POST"]),
        ]

    async def state(self, request: Request) -> Response:
        """`GET /_local/state`: users, chats, messages by state, connections, queues, faults."""
        return json_response(self.core.state_snapshot())

    async def list_faults(self, request: Request) -> Response:
        """`GET /_local/faults`: the armed faults."""
        return json_response(self.core.faults.snapshot())

    async def add_faults(self, request: Request) -> Response:
        """`POST /_local/faults` with one fault object or a list: `{"ids": [...]}`."""
        body = await _json(request)
        items = body if isinstance(body, list) else [body]
        try:
            faults = [Fault.from_json(item) for item in items]
        except (TypeError, ValueError, AttributeError) as exc:
            raise HTTPError(400, f"invalid fault: {exc}") from exc
        return json_response({"ids": [self.core.faults.add(f) for f in faults]})

    async def clear_faults(self, request: Request) -> Response:
        """`DELETE /_local/faults`: disarm all, `{"cleared": n}`."""
        return json_response({"cleared": self.core.faults.clear()})

    async def remove_fault(self, request: Request) -> Response:
        """`DELETE /_local/faults/{id}`: disarm one (404 if it is not armed)."""
        if not self.core.faults.remove(request.path_params["fault_id"]):
            raise HTTPError(404, "Fault not found")
        return json_response({"removed": request.path_params["fault_id"]})

    async def workers(self, request: Request) -> Response:
        """`POST /_local/workers` `{"paused": true|false}`: stop or resume taking work."""
        body = await _json(request)
        paused = body.get("paused") if isinstance(body, dict) else None
        if not isinstance(paused, bool):
            raise HTTPError(400, 'expected {"paused": true|false}')
        self.core.set_workers_paused(paused)
        return json_response({"paused": paused})


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise HTTPError(400, "expected a JSON body") from exc
