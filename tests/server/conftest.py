"""Fixtures for the local server's tests: real servers on loopback, fast intervals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

# The package's pytest plugin, loaded here too so these tests do not depend on it being
# installed (its entry point registers it for users).
from openassistant_sdk.pytest_plugin import (  # noqa: F401
    openassistant_server,
    pytest_configure,
)
from openassistant_sdk.testing import LocalServer

from .helpers import Api

#: Intervals short enough to keep the whole suite fast.
FAST: dict[str, Any] = {"token_delay": 0.002, "pending_interval": 0.1, "ping_interval": 30.0}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One fast server shared by a module's tests (each test uses its own users)."""
    with LocalServer(**FAST) as local:
        yield local


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    """Start servers with specific settings; all are stopped after the test."""
    started: list[LocalServer] = []

    def make(**config: Any) -> LocalServer:
        local = LocalServer(**{**FAST, **config}).start()
        started.append(local)
        return local

    yield make
    for local in started:
        local.stop()


@pytest.fixture
def api(server: LocalServer) -> Iterator[Api]:
    """A client logged in as a fresh debug user on the shared server."""
    client = Api(server)
    yield client
    client.close()
