"""parse_json_body: a successful answer's JSON, or an InvalidResponseError that says where."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openassistant_sdk import InvalidResponseError, StreamError
from openassistant_sdk._responses import parse_json_body

from . import golden


def parse(body: bytes, content_type: str = "application/json") -> object:
    return parse_json_body(
        body, content_type=content_type, status=200, method="GET", path="/chats/c1"
    )


def test_a_recorded_body_parses_like_json_loads() -> None:
    body = json.dumps(golden.json_body(golden.FULL_FLOW, 11)).encode()
    assert parse(body) == json.loads(body)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_json_in_any_json_encoding_parses(encoding: str) -> None:
    # As httpx's Response.json(): the encoding is told apart by the first bytes.
    assert parse('{"title": "café"}'.encode(encoding)) == {"title": "café"}


def test_the_content_type_is_not_needed_to_parse() -> None:
    assert parse(b'{"id": "c1"}', content_type="text/plain") == {"id": "c1"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"<html><title>502</title></html>", "not JSON", id="html"),
        pytest.param(b'{"id": "c1"', "not JSON", id="cut-short"),
        pytest.param(b'{"id": "\xff"}', "not JSON", id="not-utf-8"),
        pytest.param(b"[" * 100_000, "nested too deeply", id="open-brackets"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="balanced"),
        pytest.param(
            b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply", id="objects"
        ),
    ],
)
def test_a_body_that_cannot_be_read_is_an_invalid_response_error(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse(body, content_type="text/html")
    err = info.value
    assert not isinstance(err, StreamError)
    text = str(err)
    assert text.startswith("GET /chats/c1 answered 200 with ")
    assert reason in text
    assert "(text/html)" in text
    assert len(text) < 300  # an excerpt of the body, not all of it
    assert err.__cause__ is not None


def test_no_content_type_is_said_so() -> None:
    with pytest.raises(InvalidResponseError, match="no content type"):
        parse(b"nope", content_type="")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(alphabet='[]{}":, 0a', max_size=400).map(str.encode))
def test_any_bytes_parse_or_raise_invalid_response_error(body: bytes) -> None:
    try:
        value = parse(body)
    except InvalidResponseError:
        return
    assert value == json.loads(body)
