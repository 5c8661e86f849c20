"""Ids and timestamps in the shapes the inference server produces (docs/protocol.md 2).

Ids are UUIDv7 strings laid out like `uuid7str` from `uuid_extensions`, which upstream uses;
timestamps are naive UTC datetimes rendered with `isoformat()`, as pydantic v1 does.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

__all__ = ["isoformat", "utcnow", "uuid7"]

_SIXTEEN_SECONDS_NS = 16_000_000_000
_lock = threading.Lock()
_last: list[int] = [0, 0, 0, 0]


def uuid7(ns: int | None = None) -> str:
    """Return a new time-ordered UUIDv7 string.

    The 60 timestamp bits hold whole 16-second units and a 28-bit fraction, followed by the
    variant bits and a 14-bit counter that increments within one timestamp, so ids created
    by this process sort by creation time (upstream relies on that for paging, 2.2).

    Args:
        ns: Nanoseconds since the epoch; the current time when omitted.

    Returns:
        A lowercase hyphenated UUID string such as ``06b06cef-ac37-7284-8000-7d9898a26b74``.
    """
    if ns is None:
        ns = time.time_ns()
    t1, rest1 = divmod(ns, _SIXTEEN_SECONDS_NS)
    t2, rest2 = divmod(rest1 << 16, _SIXTEEN_SECONDS_NS)
    t3, _ = divmod(rest2 << 12, _SIXTEEN_SECONDS_NS)
    t3 |= 7 << 12  # version 7 in the top nibble
    with _lock:
        if (t1, t2, t3) == tuple(_last[:3]):
            _last[3] = min(_last[3] + 1, 0x3FFF)
        else:
            _last[:] = [t1, t2, t3, 0]
        sequence = _last[3]
    t4 = (2 << 14) | sequence  # RFC 4122 variant bits, then the counter
    return f"{t1:08x}-{t2:04x}-{t3:04x}-{t4:04x}-{os.urandom(6).hex()}"


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime, like upstream's `datetime.utcnow()`."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def isoformat(value: datetime) -> str:
    """Render a timestamp the way pydantic v1 does: `isoformat()`, no zone suffix.

    Microseconds are shown unless they are exactly zero, which is what upstream does too.
    """
    return value.isoformat()
