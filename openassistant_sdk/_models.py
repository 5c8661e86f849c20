"""Frozen value objects built from the server's JSON: messages, chats, model configs, presets.

Parsers are named constructors (``Message.from_json``); unknown server fields are ignored and
missing optional ones default (docs/design.md, the `_models.py` row). Shapes: docs/protocol.md 2.4 and 4.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, cast

import attrs

from ._exceptions import InvalidResponseError
from ._sampling import Preset, SamplingParameters
from ._values import (
    _EPOCH,
    _mapping,
    _opt_int,
    _opt_str,
    _opt_time,
    _str,
    _Value,
)

__all__ = [
    "DEFAULT_MODEL",
    "ChatInfo",
    "ChatPage",
    "Message",
    "MessageRole",
    "MessageState",
    "ModelConfig",
    "ModelInfo",
    "Preset",
    "SamplingParameters",
    "TokenPair",
    "WorkParameters",
]

DEFAULT_MODEL = "OA_SFT_Llama_30B_6"
"""The model the seed's provider used (docs/protocol.md 7)."""

MessageRole = Literal["prompter", "assistant"]
MessageState = Literal[
    "manual", "pending", "in_progress", "complete", "aborted_by_worker", "cancelled", "timeout"
]
#: States for which the events endpoint answers 204 (docs/protocol.md 5.3).
FINISHED_STATES: frozenset[str] = frozenset({"manual", "complete", "aborted_by_worker"})
#: States that will never produce text (cancelled and timed out messages stream `pending`
#: forever, docs/protocol.md 3.3).
DEAD_STATES: frozenset[str] = frozenset({"aborted_by_worker", "cancelled", "timeout"})


@attrs.frozen(kw_only=True)
class ModelConfig(_Value):
    """A model config the server can run, with its presets (``GET /configs/model_configs``).

    Attributes:
        name: The model config name to pass as ``model=``.
        description: The server's description (often empty).
        presets: Its sampling presets, the UI's default first.
    """

    name: str
    description: str = ""
    presets: tuple[Preset, ...] = ()

    @classmethod
    def from_json(cls, obj: object) -> ModelConfig:
        """Build from one item of the model configs list (docs/protocol.md 4.2)."""
        data = _mapping(obj, "model config")
        presets = data.get("parameter_configs") or []
        if not isinstance(presets, list):
            raise InvalidResponseError("model config parameter_configs is not a list")
        return cls(
            name=_str(data, "name"),
            description=_opt_str(data, "description") or "",
            presets=tuple(Preset.from_json(p) for p in presets),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the server's shape: the presets under ``parameter_configs``.

        ``from_json`` reads it back to an equal object.
        """
        return {
            "name": self.name,
            "description": self.description,
            "parameter_configs": [p.to_json() for p in self.presets],
        }

    def preset(self, name: str) -> Preset:
        """Return this config's preset of that name.

        Raises:
            ValueError: This config has no preset of that name.
        """
        for preset in self.presets:
            if preset.name == name:
                return preset
        raise ValueError(f"model config {self.name!r} has no preset {name!r}")


@attrs.frozen(kw_only=True)
class ModelInfo(_Value):
    """The model behind a message: ``work_parameters.model_config`` (docs/protocol.md 2.4)."""

    model_id: str
    max_input_length: int | None = None
    max_total_length: int | None = None
    quantized: bool = False

    @classmethod
    def from_json(cls, obj: object) -> ModelInfo:
        """Build from ``work_parameters.model_config``."""
        data = _mapping(obj, "model_config")
        return cls(
            model_id=_str(data, "model_id"),
            max_input_length=_opt_int(data, "max_input_length"),
            max_total_length=_opt_int(data, "max_total_length"),
            quantized=bool(data.get("quantized", False)),
        )


@attrs.frozen(kw_only=True)
class WorkParameters(_Value):
    """How an assistant message is generated (docs/protocol.md 2.4). ``seed`` may exceed 2**63."""

    model_config: ModelInfo
    sampling_parameters: SamplingParameters
    seed: int | None = None
    do_sample: bool = True
    system_prompt: str | None = None
    user_profile: str | None = None
    user_response_instructions: str | None = None
    plugins: tuple[Mapping[str, Any], ...] = ()
    plugin_max_depth: int | None = None

    @classmethod
    def from_json(cls, obj: object) -> WorkParameters:
        """Build from a message's ``work_parameters``."""
        data = _mapping(obj, "work_parameters")
        plugins = data.get("plugins") or []
        if not isinstance(plugins, list):
            raise InvalidResponseError("work_parameters plugins is not a list")
        return cls(
            model_config=ModelInfo.from_json(data.get("model_config")),
            sampling_parameters=SamplingParameters.from_json(data.get("sampling_parameters") or {}),
            seed=_opt_int(data, "seed"),
            do_sample=bool(data.get("do_sample", True)),
            system_prompt=_opt_str(data, "system_prompt"),
            user_profile=_opt_str(data, "user_profile"),
            user_response_instructions=_opt_str(data, "user_response_instructions"),
            plugins=tuple(p for p in plugins if isinstance(p, Mapping)),
            plugin_max_depth=_opt_int(data, "plugin_max_depth"),
        )


@attrs.frozen(kw_only=True)
class Message(_Value):
    """A message of a chat: the user's (``prompter``) or the model's (``assistant``).

    Attributes:
        id: The message id (a UUIDv7 string, so ids sort by creation time).
        chat_id: The chat it belongs to.
        parent_id: The message it answers; ``None`` for a chat's first message.
        role: ``"prompter"`` or ``"assistant"``.
        state: ``manual`` (prompter messages), ``pending``, ``in_progress``, ``complete``,
            ``aborted_by_worker``, ``cancelled`` or ``timeout`` (docs/protocol.md 5.3).
        content: The text; ``None`` while an assistant message is not complete (and for one
            that failed). ``text`` gives it as a ``str``, ``""`` when it is ``None``.
        created_at: When it was created (timezone-aware UTC).
        score: The user's vote: -1, 0 or 1.
        work_parameters: How an assistant message is generated; ``None`` for prompter messages.
        used_plugin: The plugin an assistant message used, as the server sent it.
    """

    id: str
    chat_id: str
    parent_id: str | None
    role: MessageRole
    state: MessageState
    content: str | None
    created_at: datetime | None = None
    score: int = 0
    work_parameters: WorkParameters | None = None
    used_plugin: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        """The message's text as a ``str``: ``content``, or ``""`` while there is none.

        ``content`` stays ``None`` until an assistant message is complete (that is how
        the server tells "no text yet" from an empty reply); ``text`` is for code that
        wants a string without a ``None`` check, e.g. ``chat.send("Hi").text.upper()``.
        """
        content = self.content
        return content if content is not None else ""

    @property
    def is_finished(self) -> bool:
        """True when the server will stream nothing more for it (204 states, 5.3)."""
        return self.state in FINISHED_STATES

    @classmethod
    def from_json(cls, obj: object) -> Message:
        """Build from a ``MessageRead`` object.

        Raises:
            InvalidResponseError: A required field is missing or of the wrong type.
        """
        data = _mapping(obj, "message")
        work = data.get("work_parameters")
        used_plugin = data.get("used_plugin")
        return cls(
            id=_str(data, "id"),
            chat_id=_str(data, "chat_id"),
            parent_id=_opt_str(data, "parent_id"),
            # Unknown roles and states are kept as they are: newer servers may add some.
            role=cast(MessageRole, _str(data, "role")),
            state=cast(MessageState, _str(data, "state")),
            content=_opt_str(data, "content"),
            created_at=_opt_time(data, "created_at"),
            score=_opt_int(data, "score") or 0,
            work_parameters=WorkParameters.from_json(work) if work is not None else None,
            used_plugin=used_plugin if isinstance(used_plugin, Mapping) else None,
        )


@attrs.frozen(kw_only=True)
class ChatInfo(_Value):
    """A chat (``ChatListRead``); ``messages`` is filled only by ``get_chat`` (``ChatRead``).

    Attributes:
        id: The chat id.
        title: Its title: set from the first prompter message, or by ``update_chat``.
        created_at: When it was created (timezone-aware UTC).
        modified_at: When it last changed.
        hidden: Whether it is hidden from ``list_chats`` (unless ``include_hidden``).
        allow_data_use: Whether its messages may be used as training data.
        active_thread_tail_message_id: The last message of the thread the UI shows (only
            ``get_chat`` fills it).
        messages: Every message of every branch, oldest first (only from ``get_chat``).
    """

    id: str
    title: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    hidden: bool = False
    allow_data_use: bool = True
    active_thread_tail_message_id: str | None = None
    messages: tuple[Message, ...] = ()

    @classmethod
    def from_json(cls, obj: object) -> ChatInfo:
        """Build from a ``ChatListRead`` or ``ChatRead`` object (docs/protocol.md 2.4)."""
        data = _mapping(obj, "chat")
        messages = data.get("messages") or []
        if not isinstance(messages, list):
            raise InvalidResponseError("chat messages is not a list")
        return cls(
            id=_str(data, "id"),
            title=_opt_str(data, "title"),
            created_at=_opt_time(data, "created_at"),
            modified_at=_opt_time(data, "modified_at"),
            hidden=bool(data.get("hidden", False)),
            allow_data_use=bool(data.get("allow_data_use", True)),
            active_thread_tail_message_id=_opt_str(data, "active_thread_tail_message_id"),
            # The server sends them in no guaranteed order; the website sorts by time (2.4).
            messages=tuple(
                sorted(
                    (Message.from_json(m) for m in messages),
                    key=lambda m: m.created_at or _EPOCH,
                )
            ),
        )


@attrs.frozen(kw_only=True)
class ChatPage(_Value):
    """One page of ``list_chats``, newest first; pass ``next`` as ``after`` for older chats.

    Attributes:
        chats: The chats of this page.
        next: The cursor for the next, older page (pass it as ``after``), or ``None``.
        prev: The cursor for the previous, newer page (pass it as ``before``), or ``None``.
    """

    chats: tuple[ChatInfo, ...]
    next: str | None = None
    prev: str | None = None

    def __iter__(self) -> Iterator[ChatInfo]:
        return iter(self.chats)

    def __len__(self) -> int:
        return len(self.chats)

    @classmethod
    def from_json(cls, obj: object) -> ChatPage:
        """Build from a ``ListChatsResponse`` (docs/protocol.md 2.2)."""
        data = _mapping(obj, "chat list")
        chats = data.get("chats") or []
        if not isinstance(chats, list):
            raise InvalidResponseError("chat list chats is not a list")
        return cls(
            chats=tuple(ChatInfo.from_json(c) for c in chats),
            next=_opt_str(data, "next"),
            prev=_opt_str(data, "prev"),
        )


@attrs.frozen(kw_only=True)
class TokenPair:
    """The access and refresh tokens of an inference-server login (docs/protocol.md 2.1)."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_json(cls, obj: object) -> TokenPair:
        """Build from a ``TokenPair`` (nested) or a flat ``{"access_token": ...}`` answer."""
        data = _mapping(obj, "token pair")
        access = data.get("access_token")
        if isinstance(access, Mapping):
            refresh = data.get("refresh_token")
            return cls(
                access_token=_str(access, "access_token"),
                refresh_token=_str(refresh, "access_token")
                if isinstance(refresh, Mapping)
                else None,
            )
        return cls(access_token=_str(data, "access_token"))


# --- parsing helpers -----------------------------------------------------------------------
