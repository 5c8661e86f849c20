"""Load the wire transcripts recorded from the real server (``tests/golden``).

Each numbered exchange (``## 9. events stream ...``) gives the request as sent and the
response as received; bodies are Python ``bytes`` reprs, read with ``ast.literal_eval``.
The transcripts are vendored unchanged from the project's reference recordings, so the
golden-based tests run on every checkout; ``tests/golden/README.md`` says how they were made.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

GOLDEN_DIR = Path(__file__).parents[1] / "golden"

FULL_FLOW = "01_full_flow.txt"
ERRORS = "02_errors.txt"
RATE_LIMIT = "03_rate_limit.txt"
PINGS = "04_pings_pending_timeout_abort.txt"
CANCELLATION = "06_cancellation_side_effects.txt"

_TITLE = re.compile(r"^## (\d+)\. (.*)$")
_DECODED = re.compile(r"^-- decoded body \((\d+) bytes[^)]*\):$")
_STATUS = re.compile(r"^-- response: HTTP/1\.1 (\d{3})")
_BYTES_LINE = re.compile(r"^\s+(b'.*'|b\".*\")$")


@dataclass(frozen=True)
class Exchange:
    """One recorded request and its response."""

    number: int
    title: str
    method: str
    target: str  # path and query, exactly as on the wire
    request_headers: dict[str, str] = field(repr=False)  # lower-case names
    request_body: bytes = field(repr=False)
    status: int
    response_headers: dict[str, str] = field(repr=False)  # lower-case names
    body: bytes = field(repr=False)  # the decoded (de-chunked) response body

    def json(self) -> Any:
        """The response body as JSON."""
        return json.loads(self.body)

    def request_json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.request_body)


def _require(name: str) -> Path:
    path = GOLDEN_DIR / name
    if not path.is_file():
        pytest.fail(f"golden transcript {name} is missing from {GOLDEN_DIR}")
    return path


def exchange(name: str, number: int) -> Exchange:
    """Return exchange ``number`` (the ``## N.`` heading) of transcript ``name``."""
    exchanges = _parse(_require(name))
    try:
        return exchanges[number]
    except KeyError:
        raise LookupError(f"{name} has no exchange #{number}") from None


def body(name: str, number: int) -> bytes:
    """Return the decoded response body of an exchange."""
    return exchange(name, number).body


def json_body(name: str, number: int) -> Any:
    """Return the response body of an exchange, parsed as JSON."""
    return exchange(name, number).json()


@functools.cache
def _parse(path: Path) -> dict[int, Exchange]:
    exchanges: dict[int, Exchange] = {}
    block: list[str] = []
    heading: re.Match[str] | None = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## 0. end"]:
        match = _TITLE.match(line)
        if match is None and not line.startswith("## "):
            block.append(line)
            continue
        if heading is not None:
            exchanges[int(heading[1])] = _exchange(int(heading[1]), heading[2], block)
        heading, block = match, []
    return exchanges


def _bytes_lines(lines: list[str], start: int) -> list[bytes]:
    out = []
    for line in lines[start:]:
        match = _BYTES_LINE.match(line)
        if match is None:
            break
        out.append(ast.literal_eval(match[1]))
    return out


def _headers(lines: list[str], start: int) -> dict[str, str]:
    out = {}
    for line in lines[start:]:
        if not line.startswith("    ") or line.startswith("    b"):
            break
        name, _, value = line.strip().partition(": ")
        out[name.lower()] = value
    return out


def _exchange(number: int, title: str, lines: list[str]) -> Exchange:
    request: list[bytes] = []
    status = 0
    response_headers: dict[str, str] = {}
    decoded: bytes | None = None
    for index, line in enumerate(lines):
        if line == "-- request bytes on the wire:":
            request = _bytes_lines(lines, index + 1)
        elif (match := _STATUS.match(line)) is not None:
            status = int(match[1])
        elif line == "-- response headers (wire order):":
            response_headers = _headers(lines, index + 1)
        elif (match := _DECODED.match(line)) is not None:
            (decoded,) = _bytes_lines(lines, index + 1)[:1]
            if len(decoded) != int(match[1]):
                raise ValueError(f"exchange #{number}: decoded body is not {match[1]} bytes")
    if not request or decoded is None:
        raise ValueError(f"exchange #{number} ({title}) has no request bytes or no body")
    method, target, _ = request[0].decode("ascii").split(" ", 2)
    head_end = request.index(b"\r\n")
    request_headers = {}
    for raw in request[1:head_end]:
        name, _, value = raw.decode("latin-1").rstrip("\r\n").partition(": ")
        request_headers[name.lower()] = value
    return Exchange(
        number=number,
        title=title,
        method=method,
        target=target,
        request_headers=request_headers,
        request_body=b"".join(request[head_end + 1 :]),
        status=status,
        response_headers=response_headers,
        body=decoded,
    )
