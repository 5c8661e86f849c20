"""A typed sync and async Python SDK for the Open Assistant chat API.

Speaks both the website's ``/api/chat...`` API and the inference server's ``/chats...`` API,
over httpx, with a sans-I/O core (request builders, event decoder, models, errors, retries).
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING
from typing import Any as _Any

from ._auth import TrustedClient
from ._config import NOT_GIVEN, ClientOptions, NotGiven
from ._cookies import FoundSession, find_session
from ._events import (
    ErrorEvent,
    Event,
    MessageEvent,
    PendingEvent,
    PluginIntermediateEvent,
    TokenEvent,
    UnknownEvent,
)
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CleanupWarning,
    GenerationError,
    InternalServerError,
    InvalidResponseError,
    MissingCredentialsError,
    NotFoundError,
    OpenAssistantError,
    ProviderError,
    RateLimitError,
    RequestTooLargeError,
    ServiceUnavailableError,
    StreamError,
    UnprocessableEntityError,
)
from ._models import (
    DEFAULT_MODEL,
    ChatInfo,
    ChatPage,
    Message,
    ModelConfig,
    ModelInfo,
    Preset,
    SamplingParameters,
    TokenPair,
    WorkParameters,
)
from ._prompt import ChatMessage, ChatRole, format_prompt
from ._requests import RequestSpec
from ._retry import RetryPolicy
from ._sse import EventDecoder
from ._version import __version__

if TYPE_CHECKING:  # imported when first used (below): a program needs one of the two
    from ._async import (
        AsyncChat,
        AsyncChatContext,
        AsyncClient,
        AsyncEventStream,
        AsyncReplyStream,
    )
    from ._sync import Chat, ChatContext, Client, EventStream, ReplyStream

__all__ = [
    "DEFAULT_MODEL",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChat",
    "AsyncChatContext",
    "AsyncClient",
    "AsyncEventStream",
    "AsyncReplyStream",
    "AuthenticationError",
    "BadRequestError",
    "Chat",
    "ChatContext",
    "ChatInfo",
    "ChatMessage",
    "ChatPage",
    "ChatRole",
    "CleanupWarning",
    "Client",
    "ClientOptions",
    "ErrorEvent",
    "Event",
    "EventDecoder",
    "EventStream",
    "FoundSession",
    "GenerationError",
    "InternalServerError",
    "InvalidResponseError",
    "Message",
    "MessageEvent",
    "MissingCredentialsError",
    "ModelConfig",
    "ModelInfo",
    "NotFoundError",
    "NotGiven",
    "OpenAssistantError",
    "PendingEvent",
    "PluginIntermediateEvent",
    "Preset",
    "ProviderError",
    "RateLimitError",
    "ReplyStream",
    "RequestSpec",
    "RequestTooLargeError",
    "RetryPolicy",
    "SamplingParameters",
    "ServiceUnavailableError",
    "StreamError",
    "TokenEvent",
    "TokenPair",
    "TrustedClient",
    "UnknownEvent",
    "UnprocessableEntityError",
    "WorkParameters",
    "__version__",
    "find_session",
    "format_prompt",
]


# The facades, imported on first use: a program uses the sync one or the async one, and each
# is a package of its own (importing both would cost every program the other's import).
_FACADES = {
    **dict.fromkeys(("AsyncChat", "AsyncChatContext", "AsyncClient", "AsyncEventStream", "AsyncReplyStream"), "._async"),
    **dict.fromkeys(("Chat", "ChatContext", "Client", "EventStream", "ReplyStream"), "._sync"),
}  # fmt: skip


def _public(value: _Any) -> _Any:
    # Public names report the public module, so tracebacks and reprs read
    # `openassistant_sdk.NotFoundError`, not the private module that defines them (as httpx does).
    if isinstance(value, type) or inspect.isfunction(value):
        value.__module__ = __name__
    return value


def __getattr__(name: str) -> _Any:
    module = _FACADES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _public(getattr(importlib.import_module(module, __name__), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FACADES))


for _name in __all__:
    if _name not in _FACADES:
        _public(globals()[_name])
del _name
