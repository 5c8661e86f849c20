"""A faithful local Open Assistant server: the inference API and the website proxy on one port.

State is kept in memory and the built-in models (`_lorem`, `echo`) need no weights. Needs the
`server` extra (Starlette and uvicorn). See `openassistant_sdk.testing.LocalServer` for tests.
"""

from __future__ import annotations

from ._app import create_app
from ._faults import Fault, FaultAction
from ._runner import run
from ._settings import RateLimit, ServerConfig

__all__ = ["Fault", "FaultAction", "RateLimit", "ServerConfig", "create_app", "run"]
