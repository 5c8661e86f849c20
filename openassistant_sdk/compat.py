"""A drop-in for the seed's ``OpenAssistant`` provider, built on the SDK.

Same class attributes and signatures as the provider the seed describes (oa-protocol.md 7), and
the base class's ``create_completion`` and ``create_async``. What the seed got wrong is done
right: an in-stream error raises ``RuntimeError`` (a ``GenerationError``) instead of
ending the reply early, the chat is deleted on every path, only sampling keywords are sent as
sampling parameters, and the target can be moved with ``base_url=`` or
``OPENASSISTANT_BASE_URL`` (api-contract.md decision 14).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ._async_client import AsyncClient
from ._client import Client
from ._config import DEFAULT_BASE_URL
from ._cookies import find_session
from ._logging import logger
from ._models import DEFAULT_MODEL, SamplingParameters

__all__ = ["OpenAssistant"]

Messages = Sequence[Mapping[str, str]]

# The seed's sampling defaults: exactly the server's k50-Plugins preset (oa-protocol.md 7).
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
# Keywords that configure the call rather than the sampling; never sent to the server.
_CALL_KEYS = frozenset(("stream", "timeout", "base_url", "cookies_file", "browsers", "api"))


class OpenAssistant:
    """The seed's provider: ``async for text in OpenAssistant.create_async_generator(...)``."""

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
        base_url = (
            kwargs.pop("base_url", None)
            or os.environ.get("OPENASSISTANT_BASE_URL")
            or DEFAULT_BASE_URL
        )
        cookies_file = kwargs.pop("cookies_file", None)
        browsers = kwargs.pop("browsers", True)
        timeout = kwargs.pop("timeout", None)
        for key in sorted(set(kwargs) - _SAMPLING_KEYS):
            if key not in _CALL_KEYS:
                logger.debug("ignoring keyword %r: it is not a sampling parameter", key)
        sampling = SEED_SAMPLING.replace(**{k: v for k, v in kwargs.items() if k in _SAMPLING_KEYS})
        options: dict[str, Any] = {
            "base_url": base_url,
            "api": "website",
            "model": model or cls.model,
            "sampling": sampling,
        }
        if timeout is not None:
            options["timeout"] = timeout
        if cookies is None:
            host = urlsplit(base_url).hostname or ""
            found = find_session(host, cookies_file=cookies_file, browsers=browsers)
            if found.session_token is not None:
                options["session_token"] = found.session_token
            else:
                options["cookies"] = dict(found.cookies)
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
            cookies: The site's cookies; looked up (environment, cookies file, browsers) if None.
            **kwargs: Sampling parameters overriding the seed's defaults (top_k 50, temperature
                0.35, repetition_penalty 1/0.9, max_new_tokens 1024); ``base_url`` moves the
                target; other keywords (``stream``...) are not sent.

        Raises:
            RuntimeError: The server reported a failed generation (a ``GenerationError``).
            openassistant_sdk.OpenAssistantError: Any other failure.
        """
        options = cls._setup(model, cookies, kwargs)
        async with AsyncClient(proxy=proxy, **options) as client, client.stream(messages) as stream:
            async for text in stream:
                yield text

    @classmethod
    def create_completion(
        cls, model: str, messages: Messages, stream: bool = True, proxy: str | None = None,
        cookies: Mapping[str, str] | None = None, **kwargs: Any,
    ) -> Iterator[str]:  # fmt: skip
        """The base class's sync generator: the reply in pieces, or whole if ``stream`` is False.

        Unlike the seed's, it needs no event loop: it runs on the sync client.
        """
        options = cls._setup(model, cookies, kwargs)
        with Client(proxy=proxy, **options) as client:
            if stream:
                with client.stream(messages) as reply:
                    yield from reply
            else:
                yield client.complete(messages)

    @classmethod
    async def create_async(
        cls, model: str, messages: Messages, proxy: str | None = None,
        cookies: Mapping[str, str] | None = None, **kwargs: Any,
    ) -> str:  # fmt: skip
        """Return the whole reply as one string."""
        parts = [
            text
            async for text in cls.create_async_generator(model, messages, proxy, cookies, **kwargs)
        ]
        return "".join(parts)
