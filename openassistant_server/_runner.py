"""Run the application under uvicorn, in the foreground or in a background thread."""

from __future__ import annotations

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
) -> Server:
    """Create a `Server` for a new application."""
    app = create_app(config)
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=3,
    )
    return Server(uv_config, get_core(app))


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    config: ServerConfig | None = None,
    *,
    log_level: str = "warning",
) -> None:
    """Run the local server in the foreground until interrupted (Ctrl+C).

    On Ctrl+C the server ends open event streams and shuts down cleanly; recent uvicorn
    versions then re-raise the signal, so a `KeyboardInterrupt` reaches the caller.

    Args:
        host: Interface to listen on.
        port: TCP port.
        config: Server configuration; the defaults when None.
        log_level: uvicorn's log level; quiet (`"warning"`) by default.
    """
    server = build_server(
        config, host=host, port=port, log_level=log_level, log_config=uvicorn.config.LOGGING_CONFIG
    )
    server.run()
