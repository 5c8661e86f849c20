"""An abandoned reply is queued for cleanup before anyone is warned (docs/design.md)."""

from __future__ import annotations

import warnings

import pytest

from openassistant_sdk import SamplingParameters
from openassistant_sdk._chats import Leftovers, orphaned
from openassistant_sdk._flow import ReplyFlow
from openassistant_sdk._requests import InferenceRoutes


def test_an_abandoned_reply_is_queued_even_when_warnings_are_errors() -> None:
    flow = ReplyFlow(InferenceRoutes(), None, "Hi", model="m", sampling=SamplingParameters())
    flow.chat_id = "c1"  # it created its chat, then was dropped
    queue: list[Leftovers] = []
    leftovers = Leftovers(flow)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `-W error` and many pytest set-ups do
        with pytest.raises(ResourceWarning, match="garbage-collected"):
            orphaned(queue, leftovers)
    assert queue == [leftovers]  # the client still releases its chat at the next request


def test_a_reply_that_holds_nothing_is_not_queued() -> None:
    flow = ReplyFlow(InferenceRoutes(), None, "Hi", model="m", sampling=SamplingParameters())
    queue: list[Leftovers] = []
    orphaned(queue, Leftovers(flow))
    assert queue == []
