"""One test body for both clients: the ``make`` fixture builds a sync or async client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openassistant_sdk import AsyncClient, Client
from openassistant_sdk._retry import RetryPolicy

from .fake import FakeOA

FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.0, jitter=0.0)


@pytest.fixture
def fake() -> FakeOA:
    return FakeOA()


@pytest.fixture
def make(kind: str, fake: FakeOA) -> Callable[..., Any]:
    made: list[Any] = []

    def build(**kwargs: Any) -> Any:
        kwargs.setdefault("env", {})
        kwargs.setdefault("retry", FAST_RETRY)
        if fake.api == "inference":
            kwargs.setdefault("base_url", "http://oa.test")
            kwargs.setdefault("debug_user", "alice")
        else:
            kwargs.setdefault("base_url", "http://site.test")
            kwargs.setdefault("session_token", "sess-secret")
        if kind == "sync":
            kwargs.setdefault("http_client", httpx.Client(transport=fake.transport()))
            client: Any = Client(**kwargs)
        else:
            kwargs.setdefault("http_client", httpx.AsyncClient(transport=fake.transport()))
            client = AsyncClient(**kwargs)
        made.append(client)
        return client

    return build
