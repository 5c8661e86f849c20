"""Frozen value objects built from the server's JSON: messages, chats, model configs, presets.

Parsers are named constructors (``Message.from_json``); unknown server fields are ignored and
missing optional ones default (docs/design.md, the `_models.py` row). Shapes: docs/protocol.md 2.4 and 4.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, cast

import attrs

from ._exceptions import InvalidResponseError

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

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

MessageRole = Literal["prompter", "assistant"]
MessageState = Literal[
    "manual", "pending", "in_progress", "complete", "aborted_by_worker", "cancelled", "timeout"
]
#: States for which the events endpoint answers 204 (docs/protocol.md 5.3).
FINISHED_STATES: frozenset[str] = frozenset({"manual", "complete", "aborted_by_worker"})
#: States that will never produce text (cancelled and timed out messages stream `pending`
#: forever, docs/protocol.md 3.3).
DEAD_STATES: frozenset[str] = frozenset({"aborted_by_worker", "cancelled", "timeout"})


class _Value:
    """What every value object offers: ``to_dict()`` and ``to_json()``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict of plain Python values.

        Nested value objects become dicts, tuples become lists, timestamps stay
        ``datetime`` objects. Use ``to_json()`` for data that ``json.dumps`` can write.
        """
        fields = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _plain(getattr(self, f.name)) for f in fields}

    def to_json(self) -> dict[str, Any]:
        """Return the object as JSON-ready data in the server's shape.

        Timestamps become ISO 8601 strings (with ``+00:00``); ``json.dumps(x.to_json())``
        gives the text, and the class's ``from_json`` reads it back to an equal object.
        """
        fields = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _json_value(getattr(self, f.name)) for f in fields}


def _plain(value: object) -> Any:
    if isinstance(value, _Value):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)  # the server's own JSON (plugins): kept as it came, not walked
    return value


def _json_value(value: object) -> Any:
    if isinstance(value, _Value):
        return value.to_json()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _check_number(
    name: str, value: object, *, integer: bool, low: float, low_inclusive: bool, high: float | None
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} or None, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    too_low = value < low if low_inclusive else value <= low
    if too_low or (high is not None and value > high):
        lo = f"{'>=' if low_inclusive else '>'} {low:g}"
        rng = f"{lo} and <= {high:g}" if high is not None else lo
        raise ValueError(f"{name} must be {rng}, not {value!r}")


def _validate_sampling(
    instance: SamplingParameters, attribute: attrs.Attribute[Any], value: Any
) -> None:
    # Ranges: docs/design.md, decision 13. The server itself checks none (docs/protocol.md 4.1).
    name = attribute.name
    if name == "top_k":
        _check_number(name, value, integer=True, low=1, low_inclusive=True, high=None)
    elif name in ("top_p", "typical_p"):
        _check_number(name, value, integer=False, low=0, low_inclusive=False, high=1)
    elif name in ("temperature", "repetition_penalty"):
        _check_number(name, value, integer=False, low=0, low_inclusive=False, high=None)
    elif name == "max_new_tokens":
        _check_number(name, value, integer=True, low=1, low_inclusive=True, high=None)


@attrs.frozen(kw_only=True)
class SamplingParameters(_Value):
    """How the model samples its reply (docs/protocol.md 4.1), validated on construction.

    ``None`` means "the server's default" for the first five fields; a ``None``
    ``max_new_tokens`` is left out of the request (the server rejects ``null`` with 422 and
    uses 1024 when the field is absent).

    Attributes:
        top_k: Sample from the k most likely tokens; an integer >= 1.
        top_p: Nucleus sampling: the smallest set of tokens whose probability reaches p; in (0, 1].
        typical_p: Typical sampling mass; in (0, 1].
        temperature: Randomness; > 0 (lower is more deterministic).
        repetition_penalty: Penalty for repeated tokens; > 0 (1 is none).
        max_new_tokens: The most tokens to generate; an integer >= 1 (the worker may lower it
            to fit the model's context, docs/protocol.md 4.1).

    Raises:
        ValueError: A value is of the wrong type or out of range.
    """

    top_k: int | None = attrs.field(default=None, validator=_validate_sampling)
    top_p: float | None = attrs.field(default=None, validator=_validate_sampling)
    typical_p: float | None = attrs.field(default=None, validator=_validate_sampling)
    temperature: float | None = attrs.field(default=None, validator=_validate_sampling)
    repetition_penalty: float | None = attrs.field(default=None, validator=_validate_sampling)
    max_new_tokens: int | None = attrs.field(default=None, validator=_validate_sampling)

    @classmethod
    def preset(cls, name: str) -> SamplingParameters:
        """Return one of the server's presets by name, e.g. ``"k50"`` (docs/protocol.md 4.2).

        Raises:
            ValueError: There is no preset of that name.
        """
        try:
            return PRESETS[name].sampling_parameters
        except KeyError:
            known = ", ".join(PRESETS)
            raise ValueError(f"unknown preset {name!r}; known presets: {known}") from None

    def replace(self, **changes: Any) -> SamplingParameters:
        """Return a copy with some fields changed (validated again)."""
        return attrs.evolve(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Return the request JSON: the five nullable fields always, ``max_new_tokens`` if set.

        ``from_json`` reads it back to an equal object; ``to_dict()`` has all six fields.
        """
        out: dict[str, Any] = {
            "top_k": self.top_k,
            "top_p": self.top_p,
            "typical_p": self.typical_p,
            "temperature": self.temperature,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.max_new_tokens is not None:
            out["max_new_tokens"] = self.max_new_tokens
        return out

    @classmethod
    def from_json(cls, obj: object) -> SamplingParameters:
        """Build from server JSON without validation: what the server stored is a fact."""
        data = _mapping(obj, "sampling_parameters")
        instance = cls.__new__(cls)
        for field in attrs.fields(cls):
            value = data.get(field.name)
            if value is not None and not isinstance(value, (int, float)):
                raise InvalidResponseError(f"sampling_parameters.{field.name} is not a number")
            object.__setattr__(instance, field.name, value)
        return instance


@attrs.frozen(kw_only=True)
class Preset(_Value):
    """A named set of sampling parameters that the server offers (docs/protocol.md 4.2).

    Attributes:
        name: The preset's name, e.g. ``k50``.
        description: The server's description of it.
        sampling_parameters: Its values.
    """

    name: str
    description: str = ""
    sampling_parameters: SamplingParameters

    @classmethod
    def from_json(cls, obj: object) -> Preset:
        """Build from one item of a model config's ``parameter_configs``."""
        data = _mapping(obj, "parameter config")
        return cls(
            name=_str(data, "name"),
            description=_opt_str(data, "description") or "",
            sampling_parameters=SamplingParameters.from_json(data.get("sampling_parameters", {})),
        )


def _preset(name: str, description: str, **values: Any) -> Preset:
    return Preset(
        name=name,
        description=description,
        sampling_parameters=SamplingParameters(max_new_tokens=1024, **values),
    )


#: The eight presets every model config offers, in the server's order (docs/protocol.md 4.2).
PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        _preset("k50", "Top-k sampling with k=50", top_k=50, top_p=0.95, temperature=0.75, repetition_penalty=1.2),
        _preset("k50-Creative", "Top-k sampling with k=50, higher temperature", top_k=50, top_p=0.95, temperature=0.85, repetition_penalty=1.2),
        _preset("k50-Precise", "Top-k sampling with k=50, low temperature", top_k=50, top_p=0.95, temperature=0.1, repetition_penalty=1.2),
        _preset("k50-Original", "Top-k sampling with k=50, highest temperature", top_k=50, top_p=0.95, temperature=0.9, repetition_penalty=1.2),
        _preset("k50-Plugins", "Top-k sampling with k=50 and temperature=0.35", top_k=50, temperature=0.35, repetition_penalty=1 / 0.9),
        _preset("nucleus9", "Nucleus sampling with p=0.9", top_p=0.9, temperature=0.8, repetition_penalty=1.2),
        _preset("typical2", "Typical sampling with p=0.2", typical_p=0.2, temperature=0.8, repetition_penalty=1.2),
        _preset("typical3", "Typical sampling with p=0.3", typical_p=0.3, temperature=0.8, repetition_penalty=1.2),
    )
}  # fmt: skip


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


def _mapping(obj: object, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidResponseError(
            f"expected a JSON object for the {what}, got {type(obj).__name__}"
        )
    return obj


def _shown(value: object) -> str:
    """Show a JSON value in an error message: short, and never by a deep ``repr``.

    A list or an object from the server may be nested thousands deep (``repr`` would raise
    ``RecursionError``) or be huge; it is named by its type instead.
    """
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} keys"
    if isinstance(value, str):
        return repr(value[:80])
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)[:80]
    return type(value).__name__


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidResponseError(f"field {key!r} must be a string, got {_shown(value)}")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidResponseError(f"field {key!r} must be a string or null, got {_shown(value)}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidResponseError(f"field {key!r} must be an integer or null, got {_shown(value)}")
    return value


def _opt_time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = _opt_str(data, key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidResponseError(
            f"field {key!r} is not an ISO timestamp: {_shown(value)}"
        ) from None
    # The server's timestamps are naive UTC (docs/protocol.md 2): make that explicit.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_list(obj: object, parse: Any, what: str) -> list[Any]:
    """Parse a JSON list with ``parse`` applied to each item."""
    if not isinstance(obj, Sequence) or isinstance(obj, (str, bytes)):
        raise InvalidResponseError(f"expected a JSON list of {what}")
    return [parse(item) for item in obj]
