"""The one-shot prompt: the seed's format_prompt, without its [INST] wrapper (docs/protocol.md 7)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import format_prompt


def test_one_message_is_its_content_unchanged() -> None:
    # The seed sent "<s>[INST]\nHi\n[/INST]"; the worker adds the model's own tokens (4.4).
    assert format_prompt([{"role": "user", "content": "Hi"}]) == "Hi"


def test_one_system_message_is_also_its_content() -> None:
    assert format_prompt([{"role": "system", "content": "  Be brief\n"}]) == "  Be brief\n"


def test_several_messages_are_role_lines_and_a_final_assistant_line() -> None:
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]
    assert format_prompt(messages) == "System: Be brief\nUser: Hi\nAssistant:"


def test_a_conversation() -> None:
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "And in French?"},
    ]
    assert format_prompt(messages) == (
        "User: Hello\nAssistant: Hi! How can I help?\nUser: And in French?\nAssistant:"
    )


def test_roles_are_capitalised_like_str_capitalize() -> None:
    messages = [{"role": "USER", "content": "a"}, {"role": "tool", "content": "b"}]
    assert format_prompt(messages) == "User: a\nTool: b\nAssistant:"


def test_no_special_tokens_are_added() -> None:
    text = format_prompt([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert "[INST]" not in text
    assert "<s>" not in text


def test_the_caller_s_list_is_not_changed() -> None:
    # The 2023 seed popped the only message off the caller's list (docs/protocol.md 7).
    for messages in (
        [{"role": "user", "content": "Hi"}],
        [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}],
    ):
        before = copy.deepcopy(messages)
        format_prompt(messages)
        format_prompt(messages)
        assert messages == before


def test_extra_keys_and_tuples_are_accepted() -> None:
    messages = ({"role": "user", "content": "Hi", "name": "bob"},)
    assert format_prompt(messages) == "Hi"


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([], "empty"),
        ("Hello", "list"),
        (b"Hello", "list"),
        ({"role": "user", "content": "Hi"}, "list"),
        (None, "list"),
        (iter([{"role": "user", "content": "Hi"}]), "list"),
        (["Hello"], r"messages\[0\]"),
        ([{"content": "Hi"}], "role"),
        ([{"role": "", "content": "Hi"}], "role"),
        ([{"role": 1, "content": "Hi"}], "role"),
        ([{"role": "user"}], "content"),
        ([{"role": "user", "content": None}], "content"),
        ([{"role": "user", "content": ["Hi"]}], "content"),
        ([{"role": "user", "content": "Hi"}, {"role": "user"}], r"messages\[1\]"),
    ],
)
def test_bad_input_is_a_value_error(messages: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        format_prompt(messages)


message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system"]), "content": st.text(max_size=20)}
)


@settings(max_examples=100, deadline=None)
@given(st.lists(message, min_size=2, max_size=6))
def test_several_messages_keep_every_content_in_order(messages: list[dict[str, str]]) -> None:
    text = format_prompt(messages)
    assert text.endswith("\nAssistant:")
    rest = text
    for m in messages:
        line = f"{m['role'].capitalize()}: {m['content']}"
        assert rest.startswith(line)
        rest = rest[len(line) + 1 :]
    assert rest == "Assistant:"
