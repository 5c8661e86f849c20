"""A reply call's arguments, made into the reply's flow; the client's options fill the gaps."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._config import NOT_GIVEN, CallOptions, ClientOptions
from ._flow import ReplyFlow
from ._reply import ReplySettings
from ._requests import Routes
from ._turns import Thread, merge_sampling, sampling_overrides

__all__ = ["EXTRA_FIELDS", "reply_flow"]

#: The assistant message's optional fields a call may set.
EXTRA_FIELDS = ("system_prompt", "user_profile", "user_response_instructions")


def reply_flow(
    options: ClientOptions,
    routes: Routes,
    thread: Thread | None,
    content: object,
    arguments: Mapping[str, Any],
    *,
    reads_bounded: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> ReplyFlow:
    """Return the flow of a reply to ``content``, from the arguments a call was given.

    Args:
        options: The client's options: the model, sampling and time limits left out.
        routes: The API's request builders.
        thread: The chat's thread, or ``None`` for a one-shot reply (it creates its chat).
        content: The prompter message's text.
        arguments: The call's keyword arguments by name (``model``, ``sampling``, the
            sampling fields, ``EXTRA_FIELDS``, ``stall_timeout``, ``stream_timeout``,
            ``timeout``, ``extra_headers``); a name left out takes the client's value.
        reads_bounded: Whether the transport times out every read by its read timeout.
        clock: Monotonic seconds.

    Raises:
        ValueError: ``content`` is not a string, or a sampling value is invalid.
    """
    if not isinstance(content, str):
        raise ValueError(f"content must be a string, not {type(content).__name__}")
    settings = ReplySettings(
        stall_timeout=options.stall_timeout,
        stream_timeout=options.stream_timeout,
        recover=options.recover,
        max_recoveries=options.max_recoveries,
        on_malformed=options.on_malformed,
        max_event_size=options.max_event_size,
        reads_bounded=reads_bounded,
    )
    return ReplyFlow(
        routes,
        thread,
        content,
        model=arguments.get("model") or options.model,
        sampling=merge_sampling(
            arguments.get("sampling") or options.sampling, sampling_overrides(**arguments)
        ),
        extra={name: arguments.get(name) for name in EXTRA_FIELDS},
        settings=settings.for_call(
            arguments.get("stall_timeout", NOT_GIVEN), arguments.get("stream_timeout", NOT_GIVEN)
        ),
        options=CallOptions.of(arguments.get("timeout", NOT_GIVEN), arguments.get("extra_headers")),
        clock=clock,
    )
