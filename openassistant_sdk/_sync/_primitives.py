"""The sync side's waiting and shielding: the blocking twins of ``_async/_primitives.py``.

A blocking read cannot be interrupted; its bound is the HTTP read timeout, which the client
sets from the stall timeout when it opens a stream. The one read that needs a shorter bound,
the drain after a reply's final event, shuts its socket down from a timer thread.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

__all__ = ["Lock", "current_loop", "drain", "now", "read_chunk", "shielded", "sleep"]


#: Monotonic seconds (the clock itself, not a wrapper: a stream reads it for every chunk).
now = time.monotonic


def current_loop() -> object:
    """No event loop: blocking code runs wherever it is called."""
    return None


#: Block for the given seconds.
sleep = time.sleep

#: A lock for threads (``with lock:``).
Lock = threading.Lock


class shielded:  # lower case: the twin of the async side's function of that name
    """Hold back Ctrl-C while an unbounded step finishes; bounded cleanup is not held.

    Blocking code has no cancellation to shield, only Ctrl-C. With no bound (``None``: a
    request whose own timeouts bound it, such as creating a chat), a SIGINT that arrives in
    the block is held until the block ends and raised there, so that what the request
    created is known and can be deleted. Only in the main thread, and only when Python's
    own SIGINT handler is installed (a program's own handler is left alone). Each shield
    guards one block, as its async twin does.
    """

    #: Always False: blocking cleanup is bounded by the HTTP timeouts, not cut short.
    cancelled_caught = False

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._previous: Any = None
        self._interrupted = False

    def __enter__(self) -> None:
        if (
            self._timeout is None
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._hold)

    def _hold(self, signum: int, frame: Any) -> None:
        self._interrupted = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if self._interrupted and exc is None:
            raise KeyboardInterrupt


def read_chunk(chunks: Iterator[bytes], wait: float | None) -> bytes | None:
    """Return the next chunk or ``None`` at the end (a blocking read is bounded by the HTTP read timeout)."""
    return next(chunks, None)


def drain(chunks: Iterator[bytes], response: Any, max_bytes: int, wait: float) -> bool:
    """Read and drop what is left of a body: at most ``max_bytes``, for at most ``wait`` seconds.

    A server that sends the final event but keeps the response open would otherwise hold the
    read for the whole stall timeout. If the body has not ended after ``wait`` seconds, a
    timer shuts the socket down, which ends the blocked read (the connection is then dropped,
    not pooled).

    Returns:
        True if the body ended (its connection can go back to the pool).
    """
    sock = _socket_of(response)
    timer: threading.Timer | None = None
    guard = threading.Lock()
    draining = [True]
    if sock is not None:

        def stop() -> None:
            with guard:
                if draining[0]:
                    # The plain socket's shutdown, also for TLS: no TLS state is touched.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(wait, stop)
        timer.daemon = True
        timer.start()
    try:
        total = 0
        while total < max_bytes:
            chunk = next(chunks, None)
            if chunk is None:
                return True
            total += len(chunk)
        return False
    finally:
        with guard:
            draining[0] = False
        if timer is not None:
            timer.cancel()


def _socket_of(response: Any) -> socket.socket | None:
    stream = getattr(response, "extensions", {}).get("network_stream")
    get_info = getattr(stream, "get_extra_info", None)
    sock = get_info("socket") if get_info is not None else None
    return sock if isinstance(sock, socket.socket) else None
