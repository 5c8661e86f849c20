"""The local server's configuration: one frozen value object with upstream's defaults.

Each option names the upstream setting it mirrors (docs/protocol.md 5.1, 6); the simulation
knobs (workers, token delay, intervals) exist so tests can run the protocol fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._data import DEFAULT_MODEL, UPSTREAM_MODEL_CONFIGS

__all__ = ["BACKEND_PREFIX", "GENERATORS", "RateLimit", "ServerConfig"]

#: The built-in generators a model name can be served by (no weights needed).
GENERATORS = ("lorem", "echo")
#: Prefix of a generator that is a backend model: `"backend:llama3.2:1b"`; `"backend:"`
#: alone is the backend's first model.
BACKEND_PREFIX = "backend:"


@attrs.frozen(kw_only=True)
class RateLimit:
    """A fixed-window limit on `assistant_message` per user (5.1, 10.3).

    Upstream configures 20 per 600 s, but fastapi-limiter adds its default minute, so the
    real window is 660 s, starting at the user's first request.

    Attributes:
        times: Requests allowed in one window.
        seconds: Length of the window.
    """

    times: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    seconds: float = attrs.field(default=660.0, validator=attrs.validators.gt(0))


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _str_mapping(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value).items()}


def _check_aliases(_inst: Any, _attr: Any, value: Mapping[str, str]) -> None:
    for name, generator in value.items():
        if generator not in GENERATORS:
            raise ValueError(
                f"model_aliases[{name!r}] must be one of {GENERATORS}, not {generator!r}"
            )


def _check_backend(_inst: Any, _attr: Any, value: str | None) -> None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"backend must be an http:// or https:// URL ending in /v1, not {value!r}")


def _check_backend_aliases(inst: Any, _attr: Any, value: Mapping[str, str]) -> None:
    if value and not inst.backend:
        raise ValueError("aliases name backend models: they need a backend URL")
    for name, model in value.items():
        if not name or not model:
            raise ValueError(f"an alias is OA_NAME=BACKEND_MODEL, not {name!r}={model!r}")


def _opt_ge(minimum: float) -> Any:
    return attrs.validators.optional(attrs.validators.ge(minimum))


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Configuration of the local Open Assistant server.

    Attributes:
        allowed_models: Model config names accepted by `assistant_message`
            (`ALLOWED_MODEL_CONFIG_NAMES`). Every upstream name is served by the lorem
            generator and `echo` by the echo one; a name the server does not know is
            accepted but, as upstream with no worker connected, its messages stay
            `pending` (4.3). None (the default): all of upstream's model configs and
            `echo`, or with a `backend` only `_lorem` and `echo` besides the backend's.
        model_aliases: Extra model names served by a built-in generator (`"lorem"` or
            `"echo"`), e.g. ``{"OA_SFT_Llama_30B_6": "echo"}``. They are allowed implicitly and
            carry upstream's model config for that name (4.3).
        workers: Simulated workers per model config, each generating one message at a time.
            0 means no worker is connected: messages wait in the queue (golden 04).
        token_delay: Seconds between generated tokens (upstream's lorem worker: 0.2).
        pending_interval: Seconds between `pending` events while queued
            (`PENDING_EVENT_INTERVAL`, 3.2).
        ping_interval: Seconds between `: ping` comments on an event stream (3.1, 10.13).
        assistant_message_timeout: A message picked by a worker later than this many seconds
            after its creation times out (`ASSISTANT_MESSAGE_TIMEOUT`, 5.1); 0 disables it.
        message_queue_expire: Seconds a message's token buffer and queue position live
            (`MESSAGE_QUEUE_EXPIRE`, 3.3).
        work_queue_max_size: Queue length at which `assistant_message` answers 503
            (`WORK_QUEUE_MAX_SIZE`, 5.1); None for no limit.
        rate_limit: The `assistant_message` rate limit, or None to switch it off.
        chat_max_messages: `CHAT_MAX_MESSAGES` (413 when reached); None for no limit.
        message_max_length: `MESSAGE_MAX_LENGTH` (413 when exceeded); None for no limit.
        allow_debug_auth: `ALLOW_DEBUG_AUTH`: enables `/auth/login/debug` and
            `/auth/callback/debug`.
        trusted_client_keys: `TRUSTED_CLIENT_KEYS`: api keys accepted in a TrustedClient header.
        access_token_expire_minutes: Lifetime of access tokens (negative: already expired).
        refresh_token_expire_minutes: Lifetime of refresh tokens.
        auth_secret: Key that signs tokens; a random one per server when None.
        enable_chat: The website's `ENABLE_CHAT`; when False the gated `/api/chat` routes
            answer 404 (1.1).
        session_tokens: Valid website session tokens mapped to user ids; when None any
            non-empty token is a user whose id is derived from it.
        api_root: `API_ROOT`, used in the debug-login redirect; the request's own base URL
            when None.
        plugin_manifests: Plugin manifest URL -> `ai-plugin.json` object, served by
            `POST /configs/plugin_config` instead of fetching over the network.
        plugin_max_depth: `PLUGIN_MAX_DEPTH`, copied into `work_parameters`.
        admin_routes: Serve the `/_local/...` fault-injection and introspection routes.
        cors_origins: Origins whose browser pages may call the API with credentials
            (upstream's `INFERENCE_CORS_ORIGINS`; `"*"` allows any origin, as upstream's
            default). None by default: no cross-origin access. The admin routes and the
            debug login never answer a cross-origin request, whatever this says.
        emulate_delete_loss: Reproduce the real server's loss (docs/protocol.md 10.14):
            after a chat is deleted while one of its assistant messages is `pending` or
            `in_progress`, the next assistant message any user queues stays `pending`
            forever. Off by default.
        seed: Seed for lorem text and work seeds, for reproducible runs; random when None.
        backend: Base URL of an OpenAI-compatible model server, ending in `/v1` (llama.cpp's
            server, Ollama, vLLM, ...). Its models are listed as model configs, and
            `OA_SFT_Llama_30B_6` is served by its first model; see docs/real-models.md.
        backend_api_key: Bearer token for the backend; never shown in a repr or a log.
        aliases: Open Assistant model config name -> backend model id, each served by that
            backend model (needs `backend`), e.g. ``{"OA_SFT_Llama_30B_6": "llama3.2:1b"}``.
        backend_timeout: Seconds the backend may stay silent (before its answer or between
            two chunks) before the reply fails.
    """

    allowed_models: tuple[str, ...] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_tuple_of_str)
    )
    model_aliases: Mapping[str, str] = attrs.field(
        factory=dict, converter=_str_mapping, validator=_check_aliases
    )
    workers: int = attrs.field(default=4, validator=attrs.validators.ge(0))
    token_delay: float = attrs.field(default=0.05, validator=attrs.validators.ge(0))
    pending_interval: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    ping_interval: float = attrs.field(default=15.0, validator=attrs.validators.gt(0))
    assistant_message_timeout: float = attrs.field(default=60.0)
    message_queue_expire: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    work_queue_max_size: int | None = attrs.field(default=100, validator=_opt_ge(1))
    rate_limit: RateLimit | None = attrs.field(factory=RateLimit)
    chat_max_messages: int | None = attrs.field(default=None, validator=_opt_ge(0))
    message_max_length: int | None = attrs.field(default=None, validator=_opt_ge(0))
    allow_debug_auth: bool = True
    trusted_client_keys: tuple[str, ...] = attrs.field(default=("6969",), converter=_tuple_of_str)
    access_token_expire_minutes: float = 60.0
    refresh_token_expire_minutes: float = 60.0 * 24 * 7
    auth_secret: bytes | None = None
    enable_chat: bool = True
    session_tokens: Mapping[str, str] | None = attrs.field(
        default=None, converter=attrs.converters.optional(_str_mapping)
    )
    api_root: str | None = None
    plugin_manifests: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    plugin_max_depth: int = 4
    admin_routes: bool = True
    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    emulate_delete_loss: bool = False
    seed: int | None = None
    backend: str | None = attrs.field(default=None, validator=_check_backend)
    backend_api_key: str | None = attrs.field(default=None, repr=False)
    aliases: Mapping[str, str] = attrs.field(
        factory=dict, converter=_str_mapping, validator=_check_backend_aliases
    )
    backend_timeout: float = attrs.field(default=120.0, validator=attrs.validators.gt(0))

    def served_models(self) -> dict[str, str | None]:
        """Return every accepted model name mapped to its generator (None: no worker).

        A generator is `"lorem"`, `"echo"` or a backend model (`BACKEND_PREFIX` + its id).
        The backend's own models join at run time, when the server has listed them.
        """
        names = self.allowed_models
        if names is None:
            names = ("_lorem", "echo") if self.backend else (*UPSTREAM_MODEL_CONFIGS, "echo")
        served: dict[str, str | None] = {}
        for name in names:
            known = name in UPSTREAM_MODEL_CONFIGS
            served[name] = "echo" if name == "echo" else "lorem" if known else None
        for name, generator in self.model_aliases.items():
            served[name] = generator
        if self.backend:
            if DEFAULT_MODEL not in self.model_aliases:
                served[DEFAULT_MODEL] = BACKEND_PREFIX  # the backend's first model
            for name, model in self.aliases.items():
                served[name] = BACKEND_PREFIX + model
        return served

    def listed_models(self, served: Mapping[str, str | None] | None = None) -> list[str]:
        """Return the accepted names in the order `/configs/model_configs` lists them.

        Upstream iterates its own table (4.2); names it does not know follow in config order.

        Args:
            served: The running server's names (with the backend's); `served_models()` if None.
        """
        served = self.served_models() if served is None else served
        known = [name for name in UPSTREAM_MODEL_CONFIGS if name in served]
        return known + [name for name in served if name not in UPSTREAM_MODEL_CONFIGS]
