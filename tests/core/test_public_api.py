"""The public names (docs/api.md) and the sync/async twins' matching methods (docs/design.md)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

import openassistant_sdk

CONTRACT_NAMES = {
    # Clients, chats, streams and the core
    "Client", "AsyncClient", "Chat", "AsyncChat", "ReplyStream", "AsyncReplyStream",
    "EventStream", "AsyncEventStream", "EventDecoder",
    # Models and parameters
    "SamplingParameters", "Message", "ChatInfo", "ModelConfig", "TrustedClient",
    # Events
    "PendingEvent", "TokenEvent", "PluginIntermediateEvent", "MessageEvent", "ErrorEvent",
    # Errors
    "OpenAssistantError", "APIConnectionError", "APITimeoutError", "APIStatusError",
    "BadRequestError", "AuthenticationError", "NotFoundError", "RequestTooLargeError",
    "UnprocessableEntityError", "RateLimitError", "InternalServerError",
    "ServiceUnavailableError", "GenerationError", "StreamError",
}  # fmt: skip

TWINS = [
    ("Client", "AsyncClient"),
    ("Chat", "AsyncChat"),
    ("ReplyStream", "AsyncReplyStream"),
    ("EventStream", "AsyncEventStream"),
]
# httpx's naming: the async twin of a method on a shared object takes an "a" prefix.
ASYNC_NAME = {
    "close": "aclose",
    "__iter__": "__aiter__",
    "__next__": "__anext__",
    "__enter__": "__aenter__",
    "__exit__": "__aexit__",
}
PROTOCOL_DUNDERS = set(ASYNC_NAME)


def ruf022_key(name: str) -> tuple[int, list[Any]]:
    """Ruff's RUF022 "isort-style" order: SCREAMING_CASE, then CamelCase, then the rest.

    Within each group names are in natural order (runs of digits compare as numbers).
    """
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def public_methods(cls: type) -> set[str]:
    names = {n for n in dir(cls) if not n.startswith("_")}
    names |= {n for n in PROTOCOL_DUNDERS | set(ASYNC_NAME.values()) if hasattr(cls, n)}
    return names


# --- __all__ ------------------------------------------------------------------------------------


def test_every_name_in_all_is_importable() -> None:
    namespace: dict[str, Any] = {}
    exec("from openassistant_sdk import *", namespace)
    for name in openassistant_sdk.__all__:
        assert hasattr(openassistant_sdk, name), name
        assert name in namespace, name


def test_all_has_no_duplicates() -> None:
    assert len(set(openassistant_sdk.__all__)) == len(openassistant_sdk.__all__)


def test_all_is_sorted_like_ruff_sorts_it() -> None:
    names = list(openassistant_sdk.__all__)
    assert names == sorted(names, key=ruf022_key)


def test_the_sort_key_matches_ruff_s_documented_order() -> None:
    shuffled = ["format_prompt", "Client", "NOT_GIVEN", "__version__", "APIError", "DEFAULT_MODEL"]
    assert sorted(shuffled, key=ruf022_key) == [
        "DEFAULT_MODEL", "NOT_GIVEN", "APIError", "Client", "__version__", "format_prompt",
    ]  # fmt: skip
    assert sorted(["Item10", "Item9", "Item1"], key=ruf022_key) == ["Item1", "Item9", "Item10"]


def test_all_contains_the_contract() -> None:
    assert CONTRACT_NAMES - set(openassistant_sdk.__all__) == set()


def test_every_public_class_of_the_package_is_in_all() -> None:
    missing = {
        name
        for name, value in vars(openassistant_sdk).items()
        if inspect.isclass(value) and not name.startswith("_")
    } - set(openassistant_sdk.__all__)
    assert missing == set()


def test_every_error_is_exported() -> None:
    errors = {
        cls.__name__
        for cls in _subclasses(openassistant_sdk.OpenAssistantError)
        if not cls.__name__.startswith("_")
    }
    assert errors - set(openassistant_sdk.__all__) == set()


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        if sub.__module__.startswith("openassistant_sdk"):
            out |= {sub} | _subclasses(sub)
    return out


def test_the_version_is_a_string() -> None:
    assert isinstance(openassistant_sdk.__version__, str)
    assert re.match(r"^\d+\.\d+", openassistant_sdk.__version__)


# --- sync and async twins ----------------------------------------------------------------------


@pytest.mark.parametrize(("sync_name", "async_name"), TWINS)
def test_the_async_twin_has_the_same_public_methods(sync_name: str, async_name: str) -> None:
    sync_cls = getattr(openassistant_sdk, sync_name)
    async_cls = getattr(openassistant_sdk, async_name)
    expected = {ASYNC_NAME.get(n, n) for n in public_methods(sync_cls)}
    assert public_methods(async_cls) == expected


@pytest.mark.parametrize(("sync_name", "async_name"), TWINS)
def test_the_twins_take_the_same_arguments(sync_name: str, async_name: str) -> None:
    sync_cls = getattr(openassistant_sdk, sync_name)
    async_cls = getattr(openassistant_sdk, async_name)
    for name in public_methods(sync_cls) - PROTOCOL_DUNDERS:
        sync_attr = inspect.getattr_static(sync_cls, name)
        async_attr = inspect.getattr_static(async_cls, ASYNC_NAME.get(name, name))
        if isinstance(sync_attr, property) or not callable(sync_attr):
            assert isinstance(async_attr, property) == isinstance(sync_attr, property), name
            continue
        sync_params = list(inspect.signature(sync_attr).parameters.values())
        async_params = list(inspect.signature(async_attr).parameters.values())
        assert [(p.name, p.kind, p.default) for p in async_params] == [
            (p.name, p.kind, p.default) for p in sync_params
        ], name


# Decision 1: streams are returned directly; everything else on the async side is awaited
# (or, like iter_chats, iterated with `async for` where the sync twin is a generator).
NOT_AWAITED = {"stream", "events", "chat", "with_options"}  # with_options only builds a client


@pytest.mark.parametrize(("sync_name", "async_name"), TWINS)
def test_async_methods_are_awaited_except_the_streams(sync_name: str, async_name: str) -> None:
    sync_cls = getattr(openassistant_sdk, sync_name)
    async_cls = getattr(openassistant_sdk, async_name)
    for name in public_methods(async_cls) - PROTOCOL_DUNDERS - set(ASYNC_NAME.values()):
        attr = inspect.getattr_static(async_cls, name)
        if isinstance(attr, property) or not callable(attr):
            continue
        if inspect.isasyncgenfunction(attr):
            assert inspect.isgeneratorfunction(getattr(sync_cls, name)), name
            continue
        assert inspect.iscoroutinefunction(attr) is (name not in NOT_AWAITED), name


def test_clients_and_chats_are_context_managers() -> None:
    for sync_name, async_name in TWINS:
        sync_cls = getattr(openassistant_sdk, sync_name)
        async_cls = getattr(openassistant_sdk, async_name)
        if sync_name in ("Client", "Chat"):
            assert hasattr(sync_cls, "__enter__")
            assert hasattr(sync_cls, "__exit__")
            assert hasattr(async_cls, "__aenter__")
            assert hasattr(async_cls, "__aexit__")
        if sync_name in ("ReplyStream", "EventStream"):
            assert hasattr(sync_cls, "__iter__")
            assert hasattr(async_cls, "__aiter__")
            assert inspect.iscoroutinefunction(async_cls.__anext__)
            assert hasattr(sync_cls, "close")
            assert inspect.iscoroutinefunction(async_cls.aclose)


def test_public_names_report_the_public_module() -> None:
    published = [
        value
        for value in (getattr(openassistant_sdk, name) for name in openassistant_sdk.__all__)
        if isinstance(value, type) or inspect.isfunction(value)
    ]
    assert len(published) > 40
    for value in published:
        assert value.__module__ == "openassistant_sdk", value
    assert repr(openassistant_sdk.NotFoundError) == "<class 'openassistant_sdk.NotFoundError'>"
