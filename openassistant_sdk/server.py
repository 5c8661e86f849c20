"""The local server, re-exported: it lives in its own package, ``openassistant_server``.

Kept so that ``from openassistant_sdk.server import ServerConfig`` goes on working. Needs the
``server`` extra (Starlette and uvicorn).
"""

from __future__ import annotations

from openassistant_server import Fault, FaultAction, RateLimit, ServerConfig, create_app, run

__all__ = ["Fault", "FaultAction", "RateLimit", "ServerConfig", "create_app", "run"]
