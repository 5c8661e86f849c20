"""A drop-in for the seed's ``OpenAssistant`` provider, built on the SDK.

Same class attributes and signatures as the provider the seed describes (docs/protocol.md 7), and
the base class's ``create_completion`` and ``create_async``. What the seed got wrong is done
right: an in-stream error raises ``RuntimeError`` (a ``GenerationError``) instead of
ending the reply early, the chat is deleted on every path, only sampling keywords are sent as
sampling parameters, and the target can be moved with ``base_url=`` or
``OPENASSISTANT_BASE_URL`` (docs/design.md, decision 14), to the website or to a self-hosted
inference server (``api=``, ``token=``, ``debug_user=`` or their environment variables).

What the seed promised is kept: a failed ``assistant_message`` request raises a
``RuntimeError`` carrying the server's message; here a ``ProviderError``, which is also an
``OpenAssistantError``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

from ._async import AsyncClient
from ._config import resolve
from ._cookies import find_session
from ._exceptions import APIStatusError, ProviderError
from ._logging import logger
from ._models import DEFAULT_MODEL, SamplingParameters
from ._prompt import ChatMessage
from ._sync import Client

__all__ = ["OpenAssistant", "ProviderError"]

Messages = Sequence[Mapping[str, str]]


def _checked(messages: Messages) -> Sequence[ChatMessage]:
    # The seed took any role/content mappings; the SDK checks them at run time (an unknown
    # role is a ValueError before any request), so the static type is only narrowed here.
    return cast("Sequence[ChatMessage]", messages)


# The seed's sampling defaults: exactly the server's k50-Plugins preset (docs/protocol.md 7).
SEED_SAMPLING = SamplingParameters(
    top_k=50,
    top_p=None,
    typical_p=None,
    temperature=0.35,
    repetition_penalty=1 / 0.9,
    max_new_tokens=1024,
)
_SAMPLING_KEYS = frozenset(
    ("top_k", "top_p", "typical_p", "temperature", "repetition_penalty", "max_new_tokens")
)
# Client options passed through to Client / AsyncClient as they are; never sampling parameters.
_CLIENT_KEYS = frozenset(
    (
        "timeout",
        "trust_env",
        "http2",
        "verify",
        "headers",
        "event_hooks",
        "user_agent",
        "max_retries",
        "retry",
        "stall_timeout",
        "stream_timeout",
    )
)
# Of those, the ones for which None means "the client's default" rather than a value to pass
# on: g4f-style callers pass ``timeout=None`` when they set no timeout of their own.
_NONE_IS_DEFAULT = frozenset(("timeout", "max_retries"))
# The base class always passes stream=: not a sampling parameter, and not worth a log line.
_QUIET_KEYS = frozenset(("stream",))


@contextlib.contextmanager
def _seed_errors() -> Iterator[None]:
    # The seed's contract for a failed assistant_message: a RuntimeError with the server's text.
    try:
        yield
    except APIStatusError as err:
        if not err.path.endswith("assistant_message"):
            raise
        raise ProviderError.from_status_error(err) from err


class OpenAssistant:
    """The seed's provider: ``async for text in OpenAssistant.create_async_generator(...)``.

    It speaks the website API (``/api/chat...``, the seed's) or a self-hosted inference server's
    (``/chats...``), chosen as ``Client`` chooses: the ``api=`` keyword, else ``token=`` or
    ``debug_user=`` (inference), else ``OPENASSISTANT_API``, else ``OPENASSISTANT_TOKEN`` or
    ``OPENASSISTANT_DEBUG_USER`` (inference), else the website. The seed's ``cookies`` do not
    choose the API: they are used (or looked up) for the website only.
    """

    url: ClassVar[str] = "https://open-assistant.io/chat"
    needs_auth: ClassVar[bool] = True
    working: ClassVar[bool] = True
    supports_stream: ClassVar[bool] = True
    supports_message_history: ClassVar[bool] = True
    model: ClassVar[str] = DEFAULT_MODEL

    @classmethod
    def _setup(
        cls, model: str | None, cookies: Mapping[str, str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        base_url = kwargs.pop("base_url", None)
        api = kwargs.pop("api", None)
        token = kwargs.pop("token", None)
        debug_user = kwargs.pop("debug_user", None)
        cookies_file = kwargs.pop("cookies_file", None)
        browsers = kwargs.pop("browsers", True)
        client_options = {key: kwargs.pop(key) for key in sorted(_CLIENT_KEYS & set(kwargs))}
        for key in sorted(set(kwargs) - _SAMPLING_KEYS - _QUIET_KEYS):
            logger.debug("ignoring keyword %r: it is not a sampling parameter", key)
        sampling = SEED_SAMPLING.replace(**{k: v for k, v in kwargs.items() if k in _SAMPLING_KEYS})
        # The client's own resolution of the target and the API (arguments, then environment).
        resolved, _ = resolve(
            env=os.environ, base_url=base_url, api=api, token=token, debug_user=debug_user
        )
        options: dict[str, Any] = {
            "base_url": resolved.base_url,
            "api": resolved.api,
            "model": model or cls.model,
            "sampling": sampling,
        }
        for key, value in client_options.items():
            if value is not None or key not in _NONE_IS_DEFAULT:
                options[key] = value
        if resolved.api == "inference":
            if token is not None:
                options["token"] = token
            if debug_user is not None:
                options["debug_user"] = debug_user
            if cookies is not None:
                logger.debug("ignoring cookies: the inference API takes a token or a debug user")
        elif cookies is None:
            found = find_session(resolved.host, cookies_file=cookies_file, browsers=browsers)
            options.update(found.client_options())
        else:
            options["cookies"] = dict(cookies)
        return options

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        proxy: str | None = None,
        cookies: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[str]:
        """Yield the reply's text as it streams; the chat is deleted afterwards.

        Args:
            model: The model config name (empty: ``OA_SFT_Llama_30B_6``).
            messages: ``[{"role": ..., "content": ...}]``, formatted into one prompt.
            proxy: A proxy URL for every request.
            cookies: The website's cookies; looked up (environment, cookies file, browsers)
                if None. Not used with the inference API.
            **kwargs: Sampling parameters overriding the seed's defaults (top_k 50, temperature
                0.35, repetition_penalty 1/0.9, max_new_tokens 1024). These keywords are
                never sent as sampling parameters: ``base_url`` moves the target; ``api``
                (``"website"`` or ``"inference"``), ``token`` and ``debug_user`` choose the
                API and its credentials, as ``AsyncClient`` does; ``cookies_file`` and
                ``browsers`` steer the website session lookup; ``timeout`` (None: the
                default), ``trust_env``, ``http2``, ``verify``, ``headers``, ``event_hooks``,
                ``user_agent``, ``max_retries``, ``retry``, ``stall_timeout`` and
                ``stream_timeout`` go to ``AsyncClient`` as they are. Any other keyword
                (``stream``...) is ignored.

        Raises:
            ProviderError: The ``assistant_message`` request failed with an error status (a
                ``RuntimeError`` carrying the server's message, as the seed raised).
            RuntimeError: The server reported a failed generation (a ``GenerationError``).
            ValueError: An option is invalid, or the credentials do not fit the API.
            openassistant_sdk.OpenAssistantError: Any other failure, typed as the SDK types it.
        """
        options = cls._setup(model, cookies, kwargs)
        with _seed_errors():
            async with (
                AsyncClient(proxy=proxy, **options) as client,
                client.stream(_checked(messages)) as stream,
            ):
                async for text in stream:
                    yield text

    @classmethod
    def create_completion(
        cls, model: str, messages: Messages, stream: bool = True, proxy: str | None = None,
        cookies: Mapping[str, str] | None = None, **kwargs: Any,
    ) -> Iterator[str]:  # fmt: skip
        """The base class's sync generator: the reply in pieces, or whole if ``stream`` is False.

        Unlike the seed's, it needs no event loop: it runs on the sync client. The arguments
        and errors are ``create_async_generator``'s; the client options go to ``Client``.
        """
        options = cls._setup(model, cookies, kwargs)
        with _seed_errors(), Client(proxy=proxy, **options) as client:
            if stream:
                with client.stream(_checked(messages)) as reply:
                    yield from reply
            else:
                yield client.complete(_checked(messages))

    @classmethod
    async def create_async(
        cls, model: str, messages: Messages, proxy: str | None = None,
        cookies: Mapping[str, str] | None = None, **kwargs: Any,
    ) -> str:  # fmt: skip
        """Return the whole reply as one string.

        The arguments and errors are ``create_async_generator``'s.
        """
        parts = [
            text
            async for text in cls.create_async_generator(model, messages, proxy, cookies, **kwargs)
        ]
        return "".join(parts)
