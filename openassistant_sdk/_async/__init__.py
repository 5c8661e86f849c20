"""The asynchronous facade: it performs the core's decisions over httpx and anyio.

The sync twin in ``_sync/`` is generated from these modules (``.ci/unasync.py``), except
``_primitives.py``, which each side writes for itself.
"""

from __future__ import annotations

from ._chat import AsyncChat, AsyncChatContext
from ._client import AsyncClient
from ._stream import AsyncEventStream, AsyncReplyStream

__all__ = ["AsyncChat", "AsyncChatContext", "AsyncClient", "AsyncEventStream", "AsyncReplyStream"]
