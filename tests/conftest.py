"""Fixtures shared by the client and integration tests: one test body, three kinds of client."""

from __future__ import annotations

import pytest

# The package's own plugin (the `openassistant_server` fixture), loaded here rather than by its
# entry point (switched off in pyproject.toml) so that coverage starts before it is imported.
pytest_plugins = ("openassistant_sdk.pytest_plugin",)


@pytest.fixture(params=["sync", "async", "async-trio"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client a test body drives: sync, or async under asyncio or trio."""
    return str(request.param)


@pytest.fixture
def anyio_backend(kind: str) -> str:
    # The sync client runs inside the test's event loop; the async one under both backends.
    return "trio" if kind == "async-trio" else "asyncio"
