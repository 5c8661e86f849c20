"""The backend bridge: an OpenAI-compatible model server behind the Open Assistant protocol.

llama.cpp's server, Ollama, vLLM, LM Studio and TGI all speak `POST /v1/chat/completions`
with `"stream": true`. The bridge lists the backend's models (`GET /v1/models`) as model
configs, and a worker that picks a message served by the backend sends it the chat's thread
and turns the streamed deltas into the protocol's `token` events and the final `message`
event (docs/protocol.md 3.2). Anything that goes wrong ends the reply as a failed worker's
does: an `error` event and the state `aborted_by_worker` (docs/protocol.md 3.3, 5.3).

All backend-served model configs share one work queue, so `workers` generations run against
the backend at once and the others wait with real `pending` positions.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import httpx

from ._data import ModelConfig
from ._eventsource import encode_data, sse_json
from ._settings import BACKEND_PREFIX

if TYPE_CHECKING:
    from ._engine import ServerCore
    from ._settings import ServerConfig
    from ._store import Message

__all__ = ["BACKEND_QUEUE", "Backend", "BackendError", "BackendModelConfig", "is_backend"]

#: The one work queue key of every backend-served model config.
BACKEND_QUEUE = "backend"
#: The model listing is fetched again when older than this (seconds), on demand.
_LISTING_MAX_AGE = 5.0
_LISTING_TIMEOUT = 5.0
_ERROR_HOLD = 5.0  # seconds a failed message waits for its error event to be read
_SEED_MODULUS = 2**31  # llama.cpp, Ollama and vLLM all take a seed of this size

logger = logging.getLogger("openassistant_server.backend")


@attrs.frozen(kw_only=True)
class BackendModelConfig(ModelConfig):
    """A model config served by the backend: its messages wait in the backend's queue."""

    @property
    def compat_hash(self) -> str:
        """Return the queue key shared by every backend-served model config."""
        return BACKEND_QUEUE


class BackendError(Exception):
    """A generation failed; the text is what the `error` event says."""


def _public_url(url: str) -> str:
    """Return the URL without any user:password part, for messages."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def _backend_message(body: bytes) -> str:
    """Return the error text of a backend's error body (OpenAI's shape, or plain text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:300]
    return json.dumps(data)[:300]


class Backend:
    """The connection to one OpenAI-compatible server, shared by the backend workers.

    Args:
        config: The server configuration (`backend`, `backend_api_key`, `aliases`,
            `backend_timeout`).
    """

    def __init__(self, config: ServerConfig) -> None:
        assert config.backend is not None
        self.url = config.backend.rstrip("/")
        self.public_url = _public_url(self.url)
        self._key = config.backend_api_key
        self._timeout = config.backend_timeout
        #: Model ids from the last successful `GET /models`, in the backend's order.
        self.models: list[str] = []
        #: Why the last listing failed, or None.
        self.listing_error: str | None = None
        self._listed_at = -float("inf")
        self._client: httpx.AsyncClient | None = None
        self._lock: anyio.Lock | None = None
        self._running: dict[str, anyio.CancelScope] = {}

    def __repr__(self) -> str:
        return f"Backend(url={self.public_url!r})"

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, core: ServerCore) -> None:
        """Open the HTTP client and list the backend's models (failures are logged only)."""
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = httpx.Timeout(self._timeout, connect=_LISTING_TIMEOUT)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits)
        self._lock = anyio.Lock()
        await self.refresh(core, force=True)
        if self.listing_error is not None:
            logger.warning("%s", self.listing_error)
        else:
            for name, model in core.config.aliases.items():
                if model not in self.models:
                    logger.warning(
                        "alias %s: the backend %s has no model %r (it has: %s)",
                        name,
                        self.public_url,
                        model,
                        ", ".join(self.models) or "none",
                    )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            client, self._client = self._client, None
            with anyio.CancelScope(shield=True):
                await client.aclose()

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    # -- models ------------------------------------------------------------------------------
    async def refresh(self, core: ServerCore, *, force: bool = False) -> None:
        """List the backend's models again if the last listing is stale or failed.

        New ids become model configs served by themselves; the default model follows the
        first one unless an alias names its backend model.
        """
        if self._client is None or self._lock is None:
            return
        async with self._lock:
            fresh = time.monotonic() - self._listed_at < _LISTING_MAX_AGE
            if fresh and not force and self.listing_error is None:
                return
            try:
                self.models = await self._list_models()
                self.listing_error = None
            except BackendError as exc:
                self.listing_error = str(exc)
            self._listed_at = time.monotonic()
        for model in self.models:
            core.served.setdefault(model, BACKEND_PREFIX + model)

    async def _list_models(self) -> list[str]:
        assert self._client is not None
        try:
            response = await self._client.get(self.url + "/models", timeout=_LISTING_TIMEOUT)
        except httpx.HTTPError as exc:
            raise BackendError(self._unreachable(exc)) from None
        if response.status_code != 200:
            raise BackendError(self._status_error(response.status_code, response.content, None))
        try:
            data = response.json()["data"]
            return [str(entry["id"]) for entry in data]
        except (ValueError, KeyError, TypeError):
            raise BackendError(
                f"the backend at {self.public_url} answered GET /models with something "
                "that is not a model list: is the URL the one ending in /v1?"
            ) from None

    def target(self, generator: str) -> str | None:
        """Return the backend model of a generator (None: the first one, not known yet)."""
        model = generator[len(BACKEND_PREFIX) :]
        return model or (self.models[0] if self.models else None)

    def describe(self, generator: str) -> str:
        """Return the `description` of a backend-served model config."""
        model = self.target(generator)
        if model is None:
            return f"served by the first model of {self.public_url}"
        return f"served by {model} at {self.public_url}"

    def model_config(self, name: str, config: ModelConfig | None) -> BackendModelConfig:
        """Return the model config of a backend-served name (upstream's fields if it has one)."""
        if config is None:
            return BackendModelConfig(model_id=name)
        return BackendModelConfig(**attrs.asdict(config))

    # -- errors ------------------------------------------------------------------------------
    def _unreachable(self, exc: httpx.HTTPError) -> str:
        kind = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return f"the backend at {self.public_url} did not answer in time ({kind})"
        return self._scrub(f"the backend at {self.public_url} is unreachable ({kind}: {exc})")

    def _status_error(self, status: int, body: bytes, model: str | None) -> str:
        detail = self._scrub(_backend_message(body))
        where = f"the backend at {self.public_url}"
        if status in (401, 403):
            if self._key:
                return f"{where} rejected the API key (HTTP {status}: {detail})"
            return f"{where} needs an API key (HTTP {status}: {detail}); pass --backend-api-key"
        named = model is not None and (model not in self.models or "model" in detail.lower())
        if status == 404 and named and self.models:  # listed: the URL is right, the model not
            known = ", ".join(self.models)
            return f"{where} has no model {model!r} (HTTP 404: {detail}); it has: {known}"
        if status == 404:
            return f"{where} answered HTTP 404 ({detail}): is the URL the one ending in /v1?"
        return f"{where} failed (HTTP {status}: {detail})"

    # -- generation --------------------------------------------------------------------------
    def cancel(self, message_id: str) -> None:
        """Cancel the backend request of a message (its chat was deleted)."""
        scope = self._running.get(message_id)
        if scope is not None:
            scope.cancel()

    async def generate(self, core: ServerCore, message: Message, generator: str) -> None:
        """Generate one reply with the backend, as a worker does (docs/protocol.md 3.2).

        Tokens go to the message's event buffer as they arrive; the end is the `message`
        event, a failure an `error` event with state `aborted_by_worker`. A deleted chat
        cancels the request at once.
        """
        tokens: list[str] = []
        error: str | None = None
        with anyio.CancelScope() as scope:
            self._running[message.id] = scope
            try:
                await self._stream(core, message, generator, tokens)
            except BackendError as exc:
                error = str(exc)
            finally:
                self._running.pop(message.id, None)
        if scope.cancelled_caught or message.id not in core.store.messages:
            return  # the chat was deleted
        if error is not None:
            await self._fail(core, message, error)
            return
        message.content = "".join(tokens)
        message.state = "complete"
        event = {"event_type": "message", "message": message.to_json()}
        core.message_queue(message.id).push(encode_data(sse_json(event)), terminal=True)

    async def _fail(self, core: ServerCore, message: Message, error: str) -> None:
        """End a reply with an `error` event whose reader learns why (docs/protocol.md 3.3).

        A finished message's stream answers 204 and its `MessageRead` has no error text,
        so a backend that fails at once (unreachable, bad key, unknown model) would leave
        the client, which opens the stream a moment after `assistant_message`, only the
        state. The message therefore stays `in_progress` until its `error` event has been
        read, or `_ERROR_HOLD` seconds have passed; the event carries the failed state.
        """
        message.error = error
        data = {**message.to_json(), "state": "aborted_by_worker"}
        event = {"event_type": "error", "error": error, "message": data}
        buffer = core.message_queue(message.id)
        buffer.push(encode_data(sse_json(event)), terminal=True)
        deadline = time.monotonic() + _ERROR_HOLD
        # The buffer signals pushes, not pops: poll it (only failed replies wait here).
        while len(buffer) and time.monotonic() < deadline:  # noqa: ASYNC110
            await anyio.sleep(0.02)
        message.state = "aborted_by_worker"

    async def _stream(
        self, core: ServerCore, message: Message, generator: str, tokens: list[str]
    ) -> None:
        if self.target(generator) is None:
            await self.refresh(core)
        model = self.target(generator)
        if model is None:
            raise BackendError(self.listing_error or f"{self.public_url} lists no models")
        assert self._client is not None
        body = self.request_body(core, message, model)
        buffer = core.message_queue(message.id)
        done = False
        try:
            async with self._client.stream(
                "POST", self.url + "/chat/completions", json=body
            ) as response:
                if response.status_code != 200:
                    content = await response.aread()
                    raise BackendError(self._status_error(response.status_code, content, model))
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # blank lines, comments, `event:` fields
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    for text, finished in self._chunk(data):
                        if text:
                            tokens.append(text)
                            buffer.push(
                                encode_data(sse_json({"event_type": "token", "text": text}))
                            )
                        done = done or finished
        except httpx.HTTPError as exc:
            if done:
                return  # the finish chunk came: what breaks after it (usage, [DONE]) is moot
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                raise BackendError(self._unreachable(exc)) from None
            if isinstance(exc, httpx.ReadTimeout):
                raise BackendError(
                    f"the backend at {self.public_url} sent nothing for "
                    f"{self._timeout:g} s (backend_timeout)"
                ) from None
            raise BackendError(
                self._scrub(
                    f"the backend's stream broke off after {len(tokens)} tokens "
                    f"({type(exc).__name__}: {exc})"
                )
            ) from None
        if not done:
            raise BackendError(
                f"the backend's stream ended after {len(tokens)} tokens without finishing"
            )

    def _chunk(self, data: str) -> list[tuple[str, bool]]:
        """Return (text, finished) for each choice of one streamed chunk."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BackendError(
                f"the backend sent a line that is not JSON: {data[:100]!r}"
            ) from None
        if not isinstance(chunk, dict):
            raise BackendError(f"the backend sent an unexpected chunk: {data[:100]!r}")
        if "error" in chunk:
            detail = _backend_message(json.dumps(chunk).encode())
            raise BackendError(self._scrub(f"the backend failed mid-stream: {detail}"))
        out = []
        for choice in chunk.get("choices") or ():  # a usage chunk has no choices
            delta = choice.get("delta") or {}
            text = delta.get("content")
            out.append((text if isinstance(text, str) else "", bool(choice.get("finish_reason"))))
        return out

    def request_body(self, core: ServerCore, message: Message, model: str) -> dict[str, Any]:
        """Return the `/chat/completions` request for a message.

        The thread from the root to the parent becomes `messages` (prompter -> `user`,
        assistant -> `assistant`), after a `system` message when the request had a system
        prompt, user profile or response instructions. The sampling parameters map onto
        OpenAI's fields; top_k, typical_p and repetition_penalty go as the extra fields
        llama.cpp and vLLM accept (docs/protocol.md 4.1, 4.4).
        """
        params = message.work_parameters or {}
        messages: list[dict[str, str]] = []
        system = _system_text(params)
        if system:
            messages.append({"role": "system", "content": system})
        thread: list[Message] = []
        parent = core.store.messages.get(message.parent_id or "")
        while parent is not None:
            thread.append(parent)
            parent = core.store.messages.get(parent.parent_id or "")
        for item in reversed(thread):
            role = "user" if item.role == "prompter" else "assistant"
            messages.append({"role": role, "content": item.content or ""})
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        sampling = params.get("sampling_parameters") or {}
        for ours, theirs in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("max_new_tokens", "max_tokens"),
            ("top_k", "top_k"),
            ("typical_p", "typical_p"),
            ("repetition_penalty", "repetition_penalty"),
        ):
            if sampling.get(ours) is not None:
                body[theirs] = sampling[ours]
        if sampling.get("repetition_penalty") is not None:
            body["repeat_penalty"] = sampling["repetition_penalty"]  # llama.cpp's name
        if isinstance(params.get("seed"), int):
            body["seed"] = params["seed"] % _SEED_MODULUS
        return body


def _system_text(params: dict[str, Any]) -> str:
    """Return the system message: the system prompt, then the user's custom instructions."""
    parts = []
    if params.get("system_prompt"):
        parts.append(str(params["system_prompt"]))
    if params.get("user_profile"):
        parts.append(f"About the user: {params['user_profile']}")
    if params.get("user_response_instructions"):
        parts.append(f"How to respond: {params['user_response_instructions']}")
    return "\n\n".join(parts)


def is_backend(generator: str | None) -> bool:
    """Whether a generator names a backend model."""
    return generator is not None and generator.startswith(BACKEND_PREFIX)
