"""The seed's provider, replaced by ours: same calls, same results, its mistakes fixed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any

import pytest

from openassistant_sdk import AuthenticationError, GenerationError, MissingCredentialsError
from openassistant_sdk._cookies import find_session
from openassistant_sdk.compat import SEED_SAMPLING, OpenAssistant
from openassistant_sdk.server import Fault
from openassistant_sdk.testing import LocalServer

MESSAGES = [{"role": "user", "content": "Hello from the seed"}]
COOKIES = {"next-auth.session-token": "local-session"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(token_delay=0.002, rate_limit=None) as running:
        yield running


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENASSISTANT_BASE_URL",
        "OPENASSISTANT_SESSION_TOKEN",
        "OPENASSISTANT_COOKIES_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_seed_class_attributes() -> None:
    assert OpenAssistant.url == "https://open-assistant.io/chat"
    assert OpenAssistant.needs_auth is True
    assert OpenAssistant.working is True
    assert OpenAssistant.model == "OA_SFT_Llama_30B_6"


def test_the_async_generator_streams_and_deletes_its_chat(server: LocalServer) -> None:
    async def run() -> list[str]:
        parts = []
        async for text in OpenAssistant.create_async_generator(
            model="echo",
            messages=MESSAGES,
            cookies=COOKIES,
            base_url=server.url,
            max_new_tokens=500,
            stream=True,
        ):
            parts.append(text)
        return parts

    parts = asyncio.run(run())
    assert "".join(parts) == "Hello from the seed"
    assert server.chats_alive() == 0


def test_create_completion_and_create_async(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENASSISTANT_BASE_URL", server.url)  # the target, moved by the environment
    streamed = list(OpenAssistant.create_completion("echo", MESSAGES, stream=True, cookies=COOKIES))
    assert "".join(streamed) == "Hello from the seed"
    whole = list(OpenAssistant.create_completion("echo", MESSAGES, stream=False, cookies=COOKIES))
    assert whole == ["Hello from the seed"]
    assert (
        asyncio.run(OpenAssistant.create_async("echo", MESSAGES, cookies=COOKIES))
        == "Hello from the seed"
    )
    assert server.chats_alive() == 0


def test_an_in_stream_error_raises_runtime_error_instead_of_a_short_reply(
    server: LocalServer,
) -> None:
    server.add_fault(Fault(action="worker_error", op="assistant_message", after_events=2))
    with pytest.raises(RuntimeError, match="Aborted due to worker error") as info:
        list(
            OpenAssistant.create_completion(
                "_lorem", MESSAGES, cookies=COOKIES, base_url=server.url
            )
        )
    assert isinstance(info.value, GenerationError)
    assert server.chats_alive() == 0


def test_seed_defaults_are_kept_and_only_sampling_keywords_are_sent() -> None:
    options = OpenAssistant._setup(
        "", COOKIES, {"stream": True, "temperature": 0.9, "foo": 1, "base_url": "http://x.test"}
    )
    assert options["model"] == "OA_SFT_Llama_30B_6"
    assert options["base_url"] == "http://x.test"
    assert options["sampling"] == SEED_SAMPLING.replace(temperature=0.9)
    assert options["sampling"].to_json() == {
        "top_k": 50, "top_p": None, "typical_p": None, "temperature": 0.9,
        "repetition_penalty": 1.1111111111111112, "max_new_tokens": 1024,
    }  # fmt: skip
    with pytest.raises(ValueError, match="temperature"):
        OpenAssistant._setup("", COOKIES, {"temperature": -1})


def test_the_reply_prompt_has_no_llama_wrapper(server: LocalServer) -> None:
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]
    text = asyncio.run(
        OpenAssistant.create_async(
            "echo", messages, cookies=COOKIES, base_url=server.url, max_new_tokens=50
        )
    )
    assert text == "System: Be brief\nUser: Hi\nAssistant:"


# -- finding a session ------------------------------------------------------------------------


def _cookie(name: str, value: str, domain: str) -> Cookie:
    return Cookie(
        0,
        name,
        value,
        None,
        False,
        domain,
        True,
        domain.startswith("."),
        "/",
        True,
        True,
        None,
        False,
        None,
        None,
        {},
    )


def test_the_environment_comes_first(tmp_path: Path) -> None:
    found = find_session(
        "open-assistant.io", env={"OPENASSISTANT_SESSION_TOKEN": "tok"}, browsers=False
    )
    assert found.session_token == "tok"
    assert "OPENASSISTANT_SESSION_TOKEN" in found.source
    assert "tok" not in repr(found)


def test_a_netscape_cookies_file(tmp_path: Path) -> None:
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        ".open-assistant.io\tTRUE\t/\tTRUE\t4102444800\t__Secure-next-auth.session-token\tsecret\n"
        ".example.com\tTRUE\t/\tTRUE\t4102444800\t__Secure-next-auth.session-token\tother\n"
    )
    found = find_session("open-assistant.io", cookies_file=str(path), env={}, browsers=False)
    assert found.cookies == {"__Secure-next-auth.session-token": "secret"}
    assert str(path) in found.source


def test_browsers_through_browser_cookie3(tmp_path: Path) -> None:
    class FakeBrowsers:
        def chrome(self, domain_name: str) -> CookieJar:
            raise PermissionError("locked")

        def firefox(self, domain_name: str) -> CookieJar:
            jar = CookieJar()
            jar.set_cookie(_cookie("next-auth.session-token.0", "part0", ".open-assistant.io"))
            jar.set_cookie(_cookie("next-auth.session-token.1", "part1", ".open-assistant.io"))
            jar.set_cookie(_cookie("unrelated", "x", ".open-assistant.io"))
            return jar

    found = find_session("open-assistant.io", env={}, browser_loader=FakeBrowsers())
    assert found.cookies == {
        "next-auth.session-token.0": "part0",
        "next-auth.session-token.1": "part1",
    }
    assert found.source == "the firefox browser"


def test_no_session_anywhere_is_a_clear_authentication_error(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentialsError, match="OPENASSISTANT_SESSION_TOKEN") as info:
        find_session("open-assistant.io", env={}, browser_loader=object())
    assert isinstance(info.value, AuthenticationError)
    with pytest.raises(MissingCredentialsError, match="cannot read"):
        find_session(
            "open-assistant.io", cookies_file=str(tmp_path / "missing.txt"), env={}, browsers=False
        )


def test_the_shim_looks_the_session_up_when_no_cookies_are_given(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENASSISTANT_SESSION_TOKEN", "from-env")
    parts: list[Any] = list(OpenAssistant.create_completion("echo", MESSAGES, base_url=server.url))
    assert "".join(parts) == "Hello from the seed"
