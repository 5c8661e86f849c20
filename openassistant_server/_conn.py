"""Reach below ASGI to the TCP connection, to drop or reset it on purpose.

ASGI has no way to say "reset this connection", so the server looks the request's transport
up in uvicorn's connection set (by client address). Under another ASGI server the fallback
is an unhandled exception, which makes the server close the connection.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

import anyio

from ._http import UnhandledError

__all__ = ["drop_connection", "open_connection_count"]


def _connections(server: Any) -> list[Any]:
    state = getattr(server, "server_state", None)
    connections: Iterable[Any] = getattr(state, "connections", ()) or ()
    return list(connections)


def open_connection_count(server: Any) -> int | None:
    """Return how many client connections uvicorn holds open, or None when unknown."""
    if server is None or getattr(server, "server_state", None) is None:
        return None
    return len(_connections(server))


def _find_transport(server: Any, scope: dict[str, Any]) -> Any:
    client = scope.get("client")
    if server is None or client is None:
        return None
    client = tuple(client)
    for protocol in _connections(server):
        if tuple(getattr(protocol, "client", None) or ()) == client:
            return getattr(protocol, "transport", None)
    return None


async def drop_connection(server: Any, scope: dict[str, Any], receive: Any, *, reset: bool) -> None:
    """Close (FIN) or reset (RST) the request's TCP connection, then wait for the disconnect.

    Args:
        server: The running `uvicorn.Server`, or None.
        scope: The ASGI scope of the request.
        receive: The ASGI receive callable (used to wait until the server saw the drop).
        reset: Send a TCP reset instead of a normal close.

    Raises:
        UnhandledError: The connection cannot be reached (not running under uvicorn).
    """
    transport = _find_transport(server, scope)
    if transport is None:
        raise UnhandledError("cannot reach the TCP connection to drop it")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into an RST.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Let the server notice the connection is gone before the application returns, so it
    # does not try to answer on it.
    with anyio.move_on_after(2.0):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
