"""Request builders for the website's API (``/api/chat...``, cookie auth): docs/protocol.md 1.2.

The website proxies the inference server's chat routes, with ids in the query string; the
builders check their arguments as the inference ones do (``_requests.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._models import SamplingParameters
from ._requests import (
    _EVENT_HEADERS,
    API,
    InferenceRoutes,
    RequestSpec,
    _assistant_body,
    _check_content,
    _check_id,
    _check_model,
    _check_score,
    _list_checks,
    _query_id,
    _update_fields,
)

__all__ = ["WebsiteRoutes", "routes_for"]


class WebsiteRoutes:
    """Request builders for the website's chat proxy (docs/protocol.md 1.2)."""

    api: API = "website"

    def create_chat(self) -> RequestSpec:
        """``POST /api/chat``, no body needed."""
        return RequestSpec(operation="create_chat", api=self.api, method="POST", path="/api/chat")

    def list_chats(
        self,
        *,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        include_hidden: bool = False,
    ) -> RequestSpec:
        """``GET /api/chat``: pages of 20; ``limit`` cannot be chosen on the website."""
        _list_checks(limit, after, before)
        params: list[tuple[str, str]] = []
        if include_hidden:
            params.append(("include_hidden", "true"))
        if after is not None:
            params.append(("after", after))
        if before is not None:
            params.append(("before", before))
        return RequestSpec(
            operation="list_chats",
            api=self.api,
            method="GET",
            path="/api/chat",
            params=tuple(params),
        )

    def get_chat(self, chat_id: str) -> RequestSpec:
        """``GET /api/chat?chat_id=``; any upstream error becomes a 404."""
        return RequestSpec(
            operation="get_chat",
            api=self.api,
            method="GET",
            path="/api/chat",
            params=(("chat_id", _query_id("chat_id", chat_id)),),
        )

    def update_chat(self, chat_id: str, changes: dict[str, Any]) -> RequestSpec:
        """``PUT /api/chat`` with the chat id in the body."""
        body = {"chat_id": _check_id("chat_id", chat_id), **_update_fields(changes)}
        return RequestSpec(
            operation="update_chat", api=self.api, method="PUT", path="/api/chat", json=body
        )

    def delete_chat(self, chat_id: str) -> RequestSpec:
        """``DELETE /api/chat?chat_id=``."""
        return RequestSpec(
            operation="delete_chat",
            api=self.api,
            method="DELETE",
            path="/api/chat",
            params=(("chat_id", _query_id("chat_id", chat_id)),),
        )

    def prompter_message(self, chat_id: str, parent_id: str | None, content: str) -> RequestSpec:
        """``POST /api/chat/prompter_message``."""
        return RequestSpec(
            operation="prompter_message",
            api=self.api,
            method="POST",
            path="/api/chat/prompter_message",
            json={
                "chat_id": _check_id("chat_id", chat_id),
                "parent_id": parent_id,
                "content": _check_content(content),
            },
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
        """``POST /api/chat/assistant_message``: the body minus ``chat_id`` goes upstream."""
        body = {
            "chat_id": _check_id("chat_id", chat_id),
            **_assistant_body(
                _check_id("parent_id", parent_id),
                _check_model(model),
                sampling,
                system_prompt=system_prompt,
                user_profile=user_profile,
                user_response_instructions=user_response_instructions,
                plugins=plugins,
            ),
        }
        return RequestSpec(
            operation="assistant_message",
            api=self.api,
            method="POST",
            path="/api/chat/assistant_message",
            json=body,
        )

    def get_message(self, chat_id: str, message_id: str) -> RequestSpec:
        """``GET /api/chat/message?chat_id=&message_id=``."""
        return RequestSpec(
            operation="get_message",
            api=self.api,
            method="GET",
            path="/api/chat/message",
            params=(
                ("chat_id", _query_id("chat_id", chat_id)),
                ("message_id", _query_id("message_id", message_id)),
            ),
        )

    def events(self, chat_id: str, message_id: str) -> RequestSpec:
        """``GET /api/chat/events``: always 200; a finished message gives an empty body (1.2)."""
        return RequestSpec(
            operation="events",
            api=self.api,
            method="GET",
            path="/api/chat/events",
            params=(
                ("chat_id", _query_id("chat_id", chat_id)),
                ("message_id", _query_id("message_id", message_id)),
            ),
            headers=_EVENT_HEADERS,
            stream=True,
        )

    def vote(self, chat_id: str, message_id: str, score: int) -> RequestSpec:
        """``POST /api/chat/vote``."""
        return RequestSpec(
            operation="vote",
            api=self.api,
            method="POST",
            path="/api/chat/vote",
            json={
                "chat_id": _check_id("chat_id", chat_id),
                "message_id": _check_id("message_id", message_id),
                "score": _check_score(score),
            },
        )

    def models(self) -> RequestSpec:
        """``GET /api/chat/models``."""
        return RequestSpec(operation="models", api=self.api, method="GET", path="/api/chat/models")


_WEBSITE = WebsiteRoutes()
_INFERENCE = InferenceRoutes()


def routes_for(api: API) -> WebsiteRoutes | InferenceRoutes:
    """Return the request builders of an API."""
    if api == "website":
        return _WEBSITE
    if api == "inference":
        return _INFERENCE
    raise ValueError(f"api must be 'website' or 'inference', not {api!r}")
