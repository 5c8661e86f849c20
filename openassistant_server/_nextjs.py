"""What Next.js, next-auth and JavaScript do to requests and values (docs/protocol.md 1).

The website proxy is TypeScript: bodies are parsed by Next.js, values travel as JavaScript
values (`undefined`, doubles), and errors that escape a handler become Next.js' own 500.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "UNDEFINED",
    "Answer",
    "Escaped",
    "Session",
    "answer",
    "destructure",
    "js_stringify",
    "js_truthy",
    "next_end",
    "next_internal_error",
    "next_json",
    "parse_next_body",
    "query_value",
    "session_token",
    "url_part",
]

NEXT_JSON = "application/json; charset=utf-8"
_COOKIE_NAMES = ("__Secure-next-auth.session-token", "next-auth.session-token")


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


#: JavaScript's `undefined`: dropped by `JSON.stringify`, rendered "undefined" in URLs.
UNDEFINED: Any = _Undefined()


class Escaped(Exception):
    """An exception escaping a Next.js API handler: a 500 `Internal Server Error`."""


@attrs.frozen
class Session:
    """The next-auth JWT fields the website forwards (1.4)."""

    user_id: str
    name: str


def _js_number(value: Any) -> Any:
    # JSON.parse makes every number a double; JSON.stringify prints integral ones without a
    # fraction and big ones rounded (a u64 seed over 2**53 loses its last digits).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if abs(value) <= 2**53:
        return value
    return int(Decimal(repr(float(value))))


def _js_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _js_value(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [None if v is UNDEFINED else _js_value(v) for v in value]
    return _js_number(value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def js_stringify(value: Any) -> str:
    """`JSON.stringify` of a value decoded from JSON: compact, non-ASCII kept.

    A lone surrogate is written as a `\\uXXXX` escape, as well-formed `JSON.stringify`
    does, so the text always encodes as UTF-8.
    """
    text = json.dumps(_js_value(value), separators=(",", ":"), ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # JSON.parse rejects NaN and Infinity


def next_json(payload: Any, status: int = 200) -> Response:
    return Response(js_stringify(payload).encode(), status_code=status, media_type=NEXT_JSON)


def next_end(status: int) -> Response:
    return Response(b"", status_code=status)


def next_internal_error() -> Response:
    # Next.js' `sendError(res, 500, "Internal Server Error")`: text, no content type.
    return Response(b"Internal Server Error", status_code=500)


def destructure(body: Any) -> dict[str, Any]:
    # `const {chat_id, ...data} = req.body`: destructuring null throws; strings and arrays
    # have no named fields.
    if body is None:
        raise Escaped("cannot destructure null")
    return dict(body) if isinstance(body, dict) else {}


def js_truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == value and value != 0  # NaN and 0 are falsy
    return True  # objects and arrays, even empty ones


def url_part(value: Any) -> str:
    if isinstance(value, dict):
        return "[object Object]"
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join(url_part(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_js_number(value))


class Answer(Exception):
    """Carries a response that ends the handler early."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def answer(handler: Any) -> Response:
    try:
        response: Response = await handler
        return response
    except Answer as answer:
        return answer.response
    except Escaped:
        return next_internal_error()


def _chunk_index(cookie_name: str, base: str) -> int:
    suffix = cookie_name[len(base) :].lstrip(".")
    return int(suffix) if suffix.isdigit() else 0


def query_value(request: Request, name: str) -> Any:
    values = request.query_params.getlist(name)
    if not values:
        return UNDEFINED
    return values[0] if len(values) == 1 else values


def parse_next_body(raw: bytes, content_type: str | None) -> Any:
    # Next.js `parseBody`: JSON for JSON types ({} when empty), form fields, else the text.
    media = (content_type or "text/plain").split(";")[0].strip().lower()
    text = raw.decode("utf-8", "replace")
    if media in ("application/json", "application/ld+json"):
        if not text:
            return {}
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            raise Answer(Response(b"Invalid JSON", status_code=400)) from None
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    return text


def session_token(request: Request) -> str:
    """Return the next-auth session token of a request, or "" (`getToken`, 1.1).

    The session cookie (either name; chunks `.0`, `.1`, ... reassembled in order) wins;
    without it an `Authorization: Bearer <token>` header is read.
    """
    for name in _COOKIE_NAMES:
        chunks = {k: v for k, v in request.cookies.items() if k.startswith(name)}
        if chunks:
            return "".join(chunks[k] for k in sorted(chunks, key=lambda k: _chunk_index(k, name)))
    scheme, _, rest = request.headers.get("authorization", "").partition(" ")
    return unquote(rest.split(" ")[0]) if scheme == "Bearer" else ""
