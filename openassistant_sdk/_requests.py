"""Pure request builders: ``RequestSpec``, its checks, and the inference server's routes.

Inference-server routes (``/chats...``, ``/auth/...``, ``/configs/...``, bearer auth):
docs/protocol.md 2; the website's are in ``_routes.py``. Nothing here sends anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import attrs

from ._models import SamplingParameters

__all__ = [
    "API",
    "InferenceRoutes",
    "Operation",
    "RequestSpec",
    "Routes",
]

API = Literal["website", "inference"]

Operation = Literal[
    "create_chat",
    "list_chats",
    "get_chat",
    "update_chat",
    "delete_chat",
    "prompter_message",
    "assistant_message",
    "get_message",
    "events",
    "vote",
    "models",
    "debug_login",
    "refresh",
    "trusted_login",
]

_NO_BODY: Any = object()


def check_utf8(name: str, value: str) -> str:
    """Refuse text that cannot be sent as UTF-8: one holding a lone surrogate.

    Such text (``"\\ud800"``, from ``errors="surrogateescape"`` decoding or a broken
    ``\\u`` escape) would fail deep inside the HTTP client, after earlier requests of the
    same call were sent; refusing it here means no request is sent at all.

    Args:
        name: What the text is, for the error message (``"message content"``).
        value: The text.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: The text holds a lone surrogate; the message says where.
    """
    if not value.isascii():  # isascii() is a flag check: free for the usual ASCII text
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"{name} holds a lone surrogate {value[err.start]!r} at index {err.start},"
                " which cannot be sent as UTF-8 (was it decoded with errors='surrogateescape'"
                " or built from a broken \\u escape?)"
            ) from None
    return value


@attrs.frozen(kw_only=True)
class RequestSpec:
    """An immutable description of one HTTP request: what to send, not how.

    Attributes:
        operation: Which API call this is; retry rules and error hints depend on it.
        api: ``"website"`` or ``"inference"``.
        method: The HTTP method.
        path: The path, relative to the client's base URL.
        params: Query parameters, in order.
        headers: Extra headers for this request (auth headers are added by the client).
        json: The JSON body; ``has_body`` tells whether there is one.
        stream: True for the event stream, which is read incrementally.
        authenticated: False for routes that take no credentials (model configs, login).
    """

    operation: Operation
    api: API
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = _NO_BODY
    stream: bool = False
    authenticated: bool = True

    @property
    def has_body(self) -> bool:
        """Whether the request carries a JSON body."""
        return self.json is not _NO_BODY

    @property
    def log_path(self) -> str:
        """The path as logged and put into errors: no query string, hence no secrets."""
        return self.path


_EVENT_HEADERS = (("Accept", "text/event-stream"), ("Cache-Control", "no-cache"))


def _assistant_body(
    parent_id: str,
    model: str,
    sampling: SamplingParameters,
    *,
    system_prompt: str | None,
    user_profile: str | None,
    user_response_instructions: str | None,
    plugins: Sequence[Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "parent_id": parent_id,
        "model_config_name": model,
        "sampling_parameters": sampling.to_json(),
        "plugins": _check_plugins(list(plugins)),
    }
    # Optional fields are sent only when set: the server accepts them (docs/protocol.md 2.3).
    if system_prompt is not None:
        body["system_prompt"] = _check_str("system_prompt", system_prompt)
    if user_profile is not None:
        body["user_profile"] = _check_str("user_profile", user_profile)
    if user_response_instructions is not None:
        body["user_response_instructions"] = _check_str(
            "user_response_instructions", user_response_instructions
        )
    return body


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string or None, not {type(value).__name__}")
    return check_utf8(name, value)


def _check_plugins(plugins: list[Any]) -> list[Any]:
    if plugins:
        # Encoded once here as the HTTP client will encode it (UTF-8 JSON, no NaN), so that
        # a plugin it cannot send is refused before any request.
        try:
            json.dumps(plugins, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                "plugins hold text with a lone surrogate, which cannot be sent as UTF-8"
            ) from None
        except (TypeError, ValueError, RecursionError) as err:
            raise ValueError(f"plugins must be JSON-serialisable: {err}") from None
    return plugins


_ID_FORBIDDEN = frozenset("/?#%\\")


def _check_id(name: str, value: object) -> str:
    # Ids go into URL paths: refuse anything that would change the path (a typed error, not
    # a request to the wrong route).
    if (
        not isinstance(value, str)
        or value in ("", ".", "..")
        or any(c in _ID_FORBIDDEN or ord(c) < 0x21 or ord(c) == 0x7F for c in value)
    ):
        raise ValueError(
            f"{name} must be a non-empty id without '/', '?', '#', '%', '\\', whitespace,"
            f" and not '.' or '..', not {value!r}"
        )
    return check_utf8(name, value)


def _check_score(score: object) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or score not in (-1, 0, 1):
        raise ValueError(f"score must be -1, 0 or 1, not {score!r}")
    return score


class Routes(Protocol):
    """The request builders one API offers; both APIs offer the same chat calls."""

    api: API

    def create_chat(self) -> RequestSpec: ...
    def list_chats(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        include_hidden: bool = False,
    ) -> RequestSpec: ...
    def get_chat(self, chat_id: str) -> RequestSpec: ...
    def update_chat(self, chat_id: str, changes: dict[str, Any]) -> RequestSpec: ...
    def delete_chat(self, chat_id: str) -> RequestSpec: ...
    def prompter_message(
        self, chat_id: str, parent_id: str | None, content: str
    ) -> RequestSpec: ...
    def assistant_message(
        self,
        chat_id: str,
        parent_id: str,
        model: str,
        sampling: SamplingParameters,
        *,
        system_prompt: str | None = None,
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        plugins: Sequence[Any] = (),
    ) -> RequestSpec: ...
    def get_message(self, chat_id: str, message_id: str) -> RequestSpec: ...
    def events(self, chat_id: str, message_id: str) -> RequestSpec: ...
    def vote(self, chat_id: str, message_id: str, score: int) -> RequestSpec: ...
    def models(self) -> RequestSpec: ...


def _list_checks(limit: object, after: object, before: object) -> None:
    if after is not None and before is not None:
        # The server answers 400 "Cannot specify both after and before." (docs/protocol.md 2.2).
        raise ValueError("pass either after or before, not both")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100
    ):
        raise ValueError(f"limit must be an integer from 1 to 100, not {limit!r}")


def _update_fields(changes: dict[str, Any]) -> dict[str, Any]:
    allowed = {"title", "hidden", "allow_data_use", "active_thread_tail_message_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot update chat fields {sorted(unknown)}; allowed: {sorted(allowed)}")
    title = changes.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > 100):
        raise ValueError("title must be a string of at most 100 characters (docs/protocol.md 2.3)")
    if title is not None:
        check_utf8("title", title)
    tail = changes.get("active_thread_tail_message_id")
    if tail is not None:
        _check_id("active_thread_tail_message_id", tail)
    return {k: v for k, v in changes.items() if v is not None}


class InferenceRoutes:
    """Request builders for the inference server (docs/protocol.md 2)."""

    api: API = "inference"

    def create_chat(self) -> RequestSpec:
        """``POST /chats`` with body ``{}``: no body at all is a 422 (docs/protocol.md 2.2)."""
        return RequestSpec(
            operation="create_chat", api=self.api, method="POST", path="/chats", json={}
        )

    def list_chats(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        include_hidden: bool = False,
    ) -> RequestSpec:
        """``GET /chats``: newest first, cursors ``after`` (older) and ``before`` (newer)."""
        _list_checks(limit, after, before)
        params: list[tuple[str, str]] = []
        if include_hidden:
            params.append(("include_hidden", "true"))
        if limit is not None:
            params.append(("limit", str(limit)))
        if after is not None:
            params.append(("after", after))
        if before is not None:
            params.append(("before", before))
        return RequestSpec(
            operation="list_chats", api=self.api, method="GET", path="/chats", params=tuple(params)
        )

    def get_chat(self, chat_id: str) -> RequestSpec:
        """``GET /chats/{id}``: the chat with all its messages."""
        return RequestSpec(
            operation="get_chat",
            api=self.api,
            method="GET",
            path=f"/chats/{_check_id('chat_id', chat_id)}",
        )

    def update_chat(self, chat_id: str, changes: dict[str, Any]) -> RequestSpec:
        """``PUT /chats/{id}``: only non-null fields are applied."""
        return RequestSpec(
            operation="update_chat",
            api=self.api,
            method="PUT",
            path=f"/chats/{_check_id('chat_id', chat_id)}",
            json=_update_fields(changes),
        )

    def delete_chat(self, chat_id: str) -> RequestSpec:
        """``DELETE /chats/{id}``: deletes its messages too."""
        return RequestSpec(
            operation="delete_chat",
            api=self.api,
            method="DELETE",
            path=f"/chats/{_check_id('chat_id', chat_id)}",
        )

    def prompter_message(self, chat_id: str, parent_id: str | None, content: str) -> RequestSpec:
        """``POST /chats/{id}/prompter_message``; ``parent_id`` is null only in an empty chat."""
        return RequestSpec(
            operation="prompter_message",
            api=self.api,
            method="POST",
            path=f"/chats/{_check_id('chat_id', chat_id)}/prompter_message",
            json={"parent_id": parent_id, "content": _check_content(content)},
        )

    def assistant_message(
        self,
        chat_id: str,
        parent_id: str,
        model: str,
        sampling: SamplingParameters,
        *,
        system_prompt: str | None = None,
        user_profile: str | None = None,
        user_response_instructions: str | None = None,
        plugins: Sequence[Any] = (),
    ) -> RequestSpec:
        """``POST /chats/{id}/assistant_message``: queues the reply (docs/protocol.md 2.3)."""
        return RequestSpec(
            operation="assistant_message",
            api=self.api,
            method="POST",
            path=f"/chats/{_check_id('chat_id', chat_id)}/assistant_message",
            json=_assistant_body(
                _check_id("parent_id", parent_id),
                _check_model(model),
                sampling,
                system_prompt=system_prompt,
                user_profile=user_profile,
                user_response_instructions=user_response_instructions,
                plugins=plugins,
            ),
        )

    def get_message(self, chat_id: str, message_id: str) -> RequestSpec:
        """``GET /chats/{id}/messages/{mid}``."""
        return RequestSpec(
            operation="get_message",
            api=self.api,
            method="GET",
            path=f"/chats/{_check_id('chat_id', chat_id)}/messages/{_check_id('message_id', message_id)}",
        )

    def events(self, chat_id: str, message_id: str) -> RequestSpec:
        """``GET .../messages/{mid}/events``: the SSE stream, or 204 if finished (3.3)."""
        return RequestSpec(
            operation="events",
            api=self.api,
            method="GET",
            path=f"/chats/{_check_id('chat_id', chat_id)}/messages/{_check_id('message_id', message_id)}/events",
            headers=_EVENT_HEADERS,
            stream=True,
        )

    def vote(self, chat_id: str, message_id: str, score: int) -> RequestSpec:
        """``POST .../messages/{mid}/votes`` with a score of -1, 0 or 1."""
        return RequestSpec(
            operation="vote",
            api=self.api,
            method="POST",
            path=f"/chats/{_check_id('chat_id', chat_id)}/messages/{_check_id('message_id', message_id)}/votes",
            json={"score": _check_score(score)},
        )

    def models(self) -> RequestSpec:
        """``GET /configs/model_configs`` (no auth needed)."""
        return RequestSpec(
            operation="models",
            api=self.api,
            method="GET",
            path="/configs/model_configs",
            authenticated=False,
        )

    def debug_login(self, username: str) -> RequestSpec:
        """``GET /auth/callback/debug?code=<username>``: a token pair (docs/protocol.md 2.1)."""
        if not _non_empty_str(username):
            raise ValueError("the debug login needs a non-empty user name")
        check_utf8("the debug login's user name", username)
        return RequestSpec(
            operation="debug_login",
            api=self.api,
            method="GET",
            path="/auth/callback/debug",
            params=(("code", username),),
            authenticated=False,
        )

    def refresh(self, refresh_token: str) -> RequestSpec:
        """``GET /auth/refresh`` with the raw refresh token in a ``Refresh`` header.

        The real server never accepts it (docs/protocol.md 10.1); clients log in again instead.
        """
        return RequestSpec(
            operation="refresh",
            api=self.api,
            method="GET",
            path="/auth/refresh",
            headers=(("Refresh", refresh_token),),
            authenticated=False,
        )

    def trusted_login(self) -> RequestSpec:
        """``POST /auth/trusted``: creates the TrustedClient's user if missing (2.1)."""
        return RequestSpec(
            operation="trusted_login", api=self.api, method="POST", path="/auth/trusted"
        )


def _query_id(name: str, value: object) -> str:
    # Website ids travel in the query string, which httpx encodes, so dots and percent signs
    # cannot change the route there; separators are still refused, as no id has them.
    if not isinstance(value, str) or not value or any(c in "/?#" for c in value):
        raise ValueError(f"{name} must be a non-empty id without '/', '?' or '#', not {value!r}")
    return check_utf8(name, value)


def _non_empty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _check_content(content: object) -> str:
    if not isinstance(content, str):
        raise ValueError(f"message content must be a string, not {type(content).__name__}")
    return check_utf8("message content", content)


def _check_model(model: object) -> str:
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty model config name, not {model!r}")
    return check_utf8("model", model)
