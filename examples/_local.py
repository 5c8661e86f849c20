"""Where the examples send their requests: $OPENASSISTANT_BASE_URL, else a local server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """Yield the base URL to use, starting a local server if none is configured."""
    configured = os.environ.get("OPENASSISTANT_BASE_URL")
    if configured:
        yield configured
        return
    from openassistant_sdk.testing import LocalServer  # needs the [server] extra

    with LocalServer(token_delay=0.01) as server:
        yield server.url
