"""The request models of the inference server (docs/protocol.md 2.3), as validators.

Field order, defaults and nullability follow `schemas/chat.py` and
`oasst_shared/schemas/inference.py`, so error lists and `work_parameters` come out in
upstream's order.
"""

from __future__ import annotations

from ._data import sampling_defaults
from ._validation import (
    Field,
    any_dict,
    enum_of,
    list_of,
    max_length,
    model,
    to_bool,
    to_float,
    to_int,
    to_str,
)

__all__ = [
    "ASSISTANT_MESSAGE",
    "CHAT_UPDATE",
    "CREATE_CHAT",
    "MESSAGE_EVAL",
    "PLUGIN_ENTRY",
    "PROMPTER_MESSAGE",
    "REPORT",
    "REPORT_TYPES",
    "TRUSTED_CLIENT",
    "VOTE",
]

#: `CreateChatRequest` has no fields; any dict-like body is accepted.
CREATE_CHAT = model([])

PROMPTER_MESSAGE = model(
    [
        Field("parent_id", to_str),
        Field("content", to_str, required=True, nullable=False),
    ]
)

SAMPLING_PARAMETERS = model(
    [
        Field("top_k", to_int),
        Field("top_p", to_float),
        Field("typical_p", to_float),
        Field("temperature", to_float),
        Field("repetition_penalty", to_float),
        # `max_new_tokens: int = 1024` is not Optional: null is a 422 (golden 02 #23).
        Field("max_new_tokens", to_int, default=lambda: 1024, nullable=False),
    ]
)

PLUGIN_ENTRY = model(
    [
        Field("url", to_str, required=True, nullable=False),
        Field("enabled", to_bool, default=lambda: True, nullable=False),
        # The manifest is kept as given (upstream validates the ai-plugin.json shape).
        Field("plugin_config", any_dict),
        Field("trusted", to_bool, default=lambda: False),
    ]
)

ASSISTANT_MESSAGE = model(
    [
        Field("parent_id", to_str, required=True, nullable=False),
        Field("model_config_name", to_str, required=True, nullable=False),
        Field(
            "sampling_parameters", SAMPLING_PARAMETERS, default=sampling_defaults, nullable=False
        ),
        Field("system_prompt", to_str),
        Field("user_profile", to_str),
        Field("user_response_instructions", to_str),
        Field("plugins", list_of(PLUGIN_ENTRY), default=list, nullable=False),
        # `used_plugin` is accepted and ignored by upstream.
        Field("used_plugin", any_dict),
    ]
)

CHAT_UPDATE = model(
    [
        Field("title", max_length(to_str, 100)),
        Field("hidden", to_bool),
        Field("allow_data_use", to_bool),
        Field("active_thread_tail_message_id", to_str),
    ]
)

VOTE = model([Field("score", to_int, required=True, nullable=False)])

MESSAGE_EVAL = model(
    [Field("inferior_message_ids", list_of(to_str), required=True, nullable=False)]
)

#: `ReportType` values; note upstream's member is named `feeback` but its value is `feedback`.
REPORT_TYPES = ("spam", "offensive", "feedback")

REPORT = model(
    [
        Field("report_type", enum_of(REPORT_TYPES), required=True, nullable=False),
        Field("reason", to_str, required=True, nullable=False),
    ]
)

#: The decoded TrustedClient header (2.1); any failure here is an unhandled 500.
TRUSTED_CLIENT = model(
    [
        Field("api_key", to_str, required=True, nullable=False),
        Field("client", to_str, required=True, nullable=False),
        Field("user_id", to_str, required=True, nullable=False),
        Field("provider_account_id", to_str, required=True, nullable=False),
        Field("username", to_str, required=True, nullable=False),
    ]
)
