"""Fixtures shared by the client and integration tests: one test body, three kinds of client."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sync", "async", "async-trio"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test body drives: sync, or async under asyncio or trio."""
    return str(request.param)


@pytest.fixture
def anyio_backend(kind: str) -> str:
    # The sync client runs inside the test's event loop; the async one under both backends.
    return "trio" if kind == "async-trio" else "asyncio"
