"""Run the application under uvicorn, in the foreground or in a background thread."""

from __future__ import annotations

import logging
import socket
from typing import Any

import uvicorn

from ._app import create_app, get_core
from ._engine import ServerCore
from ._settings import ServerConfig

__all__ = ["Server", "build_server", "run"]


class Server(uvicorn.Server):
    """uvicorn's server, ending open event streams first when it shuts down.

    sse-starlette does the same by watching uvicorn's exit signal; without it, streams that
    never end (cancelled messages, stalls) would hold the shutdown until its timeout.
    """

    def __init__(self, config: uvicorn.Config, core: ServerCore) -> None:
        super().__init__(config)
        self.core = core
        core.server = self

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close event streams, then shut down as uvicorn does."""
        self.core.begin_shutdown()
        await super().shutdown(sockets=sockets)


def build_server(
    config: ServerConfig | None,
    *,
    host: str,
    port: int,
    log_level: str | None,
    log_config: Any,
    access_log: bool = False,
) -> Server:
    """Create a `Server` for a new application (`access_log`: one line per request)."""
    app = create_app(config)
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        access_log=access_log,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=3,
    )
    if access_log:  # uvicorn gave its access logger the (quiet) log level too
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return Server(uv_config, get_core(app))


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    config: ServerConfig | None = None,
    *,
    log_level: str = "warning",
    access_log: bool = False,
) -> None:
    """Run the local server in the foreground until interrupted (Ctrl+C).

    On Ctrl+C the server ends open event streams and shuts down cleanly; recent uvicorn
    versions then re-raise the signal, so a `KeyboardInterrupt` reaches the caller.

    Args:
        host: Interface to listen on.
        port: TCP port.
        config: Server configuration; the defaults when None.
        log_level: uvicorn's log level; quiet (`"warning"`) by default.
        access_log: Log one line per request (uvicorn's access log, on stdout).
    """
    server = build_server(
        config,
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn.config.LOGGING_CONFIG,
        access_log=access_log,
    )
    server.run()
