"""What one turn of a chat builds on: the thread it continues and the sampling it asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._config import NotGiven
from ._exceptions import OpenAssistantError
from ._models import SamplingParameters

__all__ = ["SAMPLING_FIELDS", "Thread", "merge_sampling", "sampling_overrides"]

SAMPLING_FIELDS = (
    "top_k",
    "top_p",
    "typical_p",
    "temperature",
    "repetition_penalty",
    "max_new_tokens",
)


# -- the chat's thread -------------------------------------------------------------------------


@attrs.define
class Thread:
    """A chat's thread as the client knows it: where the next prompter message attaches.

    Attributes:
        chat_id: The chat.
        tail: The last complete assistant message: the parent of the next prompter message.
        started: Whether a prompter message was posted.
    """

    chat_id: str
    tail: str | None = None
    started: bool = False

    def check_continuable(self) -> None:
        """Raise if no reply can follow: the server takes a prompter message only first, or
        after a complete assistant message (docs/protocol.md 2.3, 5.2).

        Raises:
            OpenAssistantError: The chat's first reply failed or was stopped.
        """
        if self.started and self.tail is None:
            raise OpenAssistantError(
                f"chat {self.chat_id} has no complete reply to continue from (its first reply "
                "failed or was stopped); start a new chat"
            )


# -- sampling ------------------------------------------------------------------------------------


def sampling_overrides(**values: Any) -> dict[str, Any]:
    """Keep the per-call sampling values that were given (``NOT_GIVEN`` ones are left out)."""
    return {
        name: value
        for name, value in values.items()
        if name in SAMPLING_FIELDS and not isinstance(value, NotGiven)
    }


def merge_sampling(base: object, overrides: Mapping[str, Any]) -> SamplingParameters:
    """Apply per-call overrides to a ``SamplingParameters``.

    Raises:
        ValueError: ``base`` is not a ``SamplingParameters``, or a value is invalid.
    """
    if not isinstance(base, SamplingParameters):
        raise ValueError(
            "sampling must be a SamplingParameters (e.g. SamplingParameters.preset('k50'))"
        )
    return base.replace(**overrides) if overrides else base
