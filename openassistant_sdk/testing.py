"""Test helpers: `LocalServer` runs the local Open Assistant server on a free loopback port.

Needs the `server` extra. Typical use::

    from openassistant_sdk.testing import LocalServer

    with LocalServer(token_delay=0) as server:
        token = server.debug_token("alice")
        ...  # talk to server.url
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import httpx

if TYPE_CHECKING:
    from openassistant_server import Fault, ServerConfig
    from openassistant_server._engine import ServerCore
    from openassistant_server._runner import Server

__all__ = ["LocalServer"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class LocalServer:
    """The local Open Assistant server in a background thread, on 127.0.0.1.

    Usable as a context manager or with `start()` / `stop()`.

    Args:
        config: A `ServerConfig`; the defaults when None.
        **config_kwargs: `ServerConfig` fields, applied on top of `config`
            (e.g. ``LocalServer(token_delay=0, workers=0)``).
    """

    def __init__(self, config: ServerConfig | None = None, **config_kwargs: Any) -> None:
        from openassistant_server import ServerConfig

        if config is None:
            config = ServerConfig(**config_kwargs)
        elif config_kwargs:
            config = attrs.evolve(config, **config_kwargs)
        self._config: ServerConfig = config
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalServer:
        """Start the server and wait until it accepts connections.

        Returns:
            The server itself.

        Raises:
            RuntimeError: It is already running, or it did not start in time.
        """
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        from openassistant_server._runner import build_server

        # IPPROTO_TCP explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only for
        # sockets that say they are TCP, and without it every answer waits ~40 ms on delayed ACKs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            server = build_server(
                self._config, host="127.0.0.1", port=0, log_level="warning", log_config=None
            )
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self._port = sock.getsockname()[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"openassistant-local-server-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the local server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop the server: end open streams, close connections, join the thread.

        Safe to call more than once.
        """
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                if server is not None:
                    server.force_exit = True
                thread.join(_STOP_TIMEOUT)
        if sock is not None:
            sock.close()

    def __enter__(self) -> LocalServer:
        """Start the server (see `start`)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server (see `stop`)."""
        self.stop()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def config(self) -> ServerConfig:
        """The server's configuration."""
        return self._config

    @property
    def host(self) -> str:
        """The loopback address the server listens on."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The TCP port (known once started)."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    # -- credentials -------------------------------------------------------------------------
    def debug_token(self, user: str = "alice") -> str:
        """Log in through `/auth/callback/debug` and return the bearer access token.

        Args:
            user: The debug user name (created on first login).
        """
        with httpx.Client(base_url=self.url, trust_env=False, timeout=10) as client:
            response = client.get("/auth/callback/debug", params={"code": user})
            response.raise_for_status()
            token: str = response.json()["access_token"]["access_token"]
            return token

    def mint_token(
        self, user: str = "alice", *, token_type: str = "access", expires_in: float = 3600.0
    ) -> str:
        """Mint a token directly, e.g. an expired one (``expires_in=-60``) or a refresh token.

        Args:
            user: The user id the token carries.
            token_type: `"access"` or `"refresh"`.
            expires_in: Seconds until it expires; negative for an expired token.
        """
        return self._core().signer.mint(user, token_type, expires_in / 60)

    def session_token(self, user: str = "alice") -> str:
        """Return a website session token for `user` (any non-empty token is a session).

        With `ServerConfig.session_tokens` set, only the tokens listed there are valid.
        """
        tokens = self._config.session_tokens
        if tokens is not None:
            for token, user_id in tokens.items():
                if user_id == user:
                    return token
            raise KeyError(f"no session token for {user!r} in ServerConfig.session_tokens")
        return f"local-session-{user}"

    # -- faults ------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> str:
        """Arm a fault; returns its id (for `remove_fault`)."""
        return self._core().faults.add(fault)

    def remove_fault(self, fault_id: str) -> bool:
        """Disarm one fault; returns whether it was still armed."""
        return self._core().faults.remove(fault_id)

    def clear_faults(self) -> int:
        """Disarm every fault; returns how many were armed."""
        return self._core().faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        """Return the armed faults with their ids and remaining counts."""
        return self._core().faults.snapshot()

    # -- introspection -----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Return the same snapshot as `GET /_local/state`."""
        core = self._core()
        snapshot: dict[str, Any] = core.call_in_loop(core.state_snapshot)
        return snapshot

    def chats_alive(self) -> int:
        """Return how many chats exist (e.g. to check that clients delete theirs)."""
        core = self._core()
        count: int = core.call_in_loop(lambda: len(core.store.chats))
        return count

    def messages_by_state(self) -> dict[str, int]:
        """Return message counts by state (`pending`, `complete`, `cancelled`, ...)."""
        core = self._core()
        counts: dict[str, int] = core.call_in_loop(core.store.state_counts)
        return counts

    def unsafe_deletes(self) -> int:
        """Return how many chats were deleted while one of their replies was unfinished.

        On the real server each such delete loses the next message any user queues
        (docs/protocol.md 10.14); counted whether or not `emulate_delete_loss` is on.
        """
        core = self._core()
        count: int = core.call_in_loop(lambda: core.unsafe_deletes)
        return count

    def lost_messages(self) -> int:
        """Return how many assistant messages were lost to unsafe deletes.

        Only with `emulate_delete_loss=True`; a lost message stays `pending` forever.
        """
        core = self._core()
        count: int = core.call_in_loop(lambda: core.lost_messages)
        return count

    def open_connections(self) -> int:
        """Return how many client TCP connections the server holds open."""
        server = self._server
        if server is None:
            raise RuntimeError("the server is not running")
        core = self._core()
        count: int = core.call_in_loop(lambda: len(server.server_state.connections))
        return count

    def pause_workers(self) -> None:
        """Stop the simulated workers from taking new messages (they stay `pending`)."""
        core = self._core()
        core.call_in_loop(lambda: core.set_workers_paused(True))

    def resume_workers(self) -> None:
        """Let the simulated workers take messages again."""
        core = self._core()
        core.call_in_loop(lambda: core.set_workers_paused(False))

    def _core(self) -> ServerCore:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server.core

    def __repr__(self) -> str:
        where = self.url if self._port is not None and self._server is not None else "stopped"
        return f"<LocalServer {where}>"
