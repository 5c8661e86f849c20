"""A typed sync and async Python SDK for the Open Assistant chat API.

Speaks both the website's ``/api/chat...`` API and the inference server's ``/chats...`` API,
over httpx, with a sans-I/O core (request builders, event decoder, models, errors, retries).
"""

from __future__ import annotations

import inspect

from ._async import (
    AsyncChat,
    AsyncChatContext,
    AsyncClient,
    AsyncEventStream,
    AsyncReplyStream,
)
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
from ._sync import Chat, ChatContext, Client, EventStream, ReplyStream
from ._version import __version__

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


def _publish() -> None:
    # Public names report the public module, so tracebacks and reprs read
    # `openassistant_sdk.NotFoundError`, not the private module that defines them (as httpx does).
    for name in __all__:
        value = globals()[name]
        if isinstance(value, type) or inspect.isfunction(value):
            value.__module__ = __name__


_publish()
