"""The one-shot prompt: the seed's format_prompt, without its [INST] wrapper (docs/protocol.md 7)."""

from __future__ import annotations

import copy
from typing import Any, get_args, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import ChatMessage, format_prompt


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
    messages: list[ChatMessage] = [
        {"role": "system", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
    ]
    assert format_prompt(messages) == "System: a\nUser: b\nAssistant: c\nAssistant:"


@pytest.mark.parametrize("role", ["tool", "USER", "User", "prompter", "function", " user"])
@pytest.mark.parametrize("count", [1, 2])
def test_an_unknown_role_is_a_value_error(role: str, count: int) -> None:
    # Before, any role was capitalised into the prompt ("Tool: ..."), a typo included.
    messages = [{"role": "user", "content": "Hi"}] * (count - 1) + [{"role": role, "content": "x"}]
    with pytest.raises(ValueError, match=rf"messages\[{count - 1}\] has the role {role!r}"):
        format_prompt(messages)


@pytest.mark.parametrize("content", ["\ud800", "a\udfffb", "ok \udc80"])
@pytest.mark.parametrize("count", [1, 2])
def test_content_with_a_lone_surrogate_is_a_value_error(content: str, count: int) -> None:
    # Such text cannot be sent as UTF-8: refused here, before the one-shot call's requests.
    messages = [{"role": "user", "content": "Hi"}] * (count - 1) + [
        {"role": "user", "content": content}
    ]
    with pytest.raises(
        ValueError, match=rf"messages\[{count - 1}\] content holds a lone surrogate"
    ):
        format_prompt(messages)


def test_surrogate_pairs_and_other_text_are_fine() -> None:
    text = "emoji \U0001f600 caf\u00e9 \u4e2d"
    assert format_prompt([{"role": "user", "content": text}]) == text


def test_chat_message_is_the_typed_dict_of_a_one_shot_message() -> None:
    assert ChatMessage.__required_keys__ == frozenset({"role", "content"})
    assert get_args(get_type_hints(ChatMessage)["role"]) == ("system", "user", "assistant")


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
