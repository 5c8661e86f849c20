"""Small helpers shared by the route modules: FastAPI-like routes, bodies and query params."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from ._validation import INVALID, ErrorList, Validator, error, parse_json_body

__all__ = ["api_route", "query_param", "read_body"]


def api_route(
    path: str, endpoint: Callable[[Request], Any], methods: Sequence[str] | None
) -> Route:
    """Return a route; like FastAPI, a GET route does not also answer HEAD."""
    route = Route(path, endpoint, methods=list(methods) if methods is not None else None)
    if methods is not None and route.methods is not None and "HEAD" not in methods:
        route.methods.discard("HEAD")
    return route


async def read_body(request: Request) -> Any:
    """Read and decode the body first, as FastAPI does before resolving dependencies."""
    return parse_json_body(await request.body(), request.headers.get("content-type"))


def query_param(
    request: Request,
    name: str,
    validator: Validator,
    errors: ErrorList,
    *,
    default: Any = None,
    required: bool = False,
) -> Any:
    """Validate one query parameter (the last value wins, as in FastAPI)."""
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            errors.append(error(("query", name), "field required", "value_error.missing"))
            return INVALID
        return default
    return validator(raw, ("query", name), errors)
