"""pytest plugin: the `openassistant_server` fixture, a fresh `LocalServer` per test.

Registered through the `pytest11` entry point, so it loads in every pytest session of anyone
who installs the package: nothing heavy is imported until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from openassistant_sdk.testing import LocalServer

__all__ = ["openassistant_server"]

_MARKER = "openassistant_server"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that configures the fixture's server."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**config): ServerConfig fields for the openassistant_server fixture",
    )


@pytest.fixture
def openassistant_server(request: pytest.FixtureRequest) -> Iterator[LocalServer]:
    """A local Open Assistant server on a free loopback port, stopped after the test.

    Configure it with ``@pytest.mark.openassistant_server(token_delay=0, workers=1)``.
    Needs the `server` extra (Starlette and uvicorn).
    """
    from openassistant_sdk.testing import LocalServer

    marker = request.node.get_closest_marker(_MARKER)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    with LocalServer(**kwargs) as server:
        yield server
