"""The core never imports httpx, and ruff is set up to keep it that way.

The flat level of the package holds the pure core; the facades (which do I/O) live in the
``_async`` and ``_sync`` packages. The core modules are named here, one by one, so that a new
module at the flat level must be placed on one side or the other on purpose.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import openassistant_sdk

PACKAGE = Path(openassistant_sdk.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
CORE_NAMES = [
    "_actions.py", "_arguments.py", "_auth.py", "_chats.py", "_config.py", "_cookies.py", "_events.py", "_exceptions.py", "_failures.py", "_flow.py",
    "_logging.py", "_models.py", "_prompt.py", "_reply.py", "_requests.py", "_responses.py", "_routes.py",
    "_retry.py", "_sampling.py", "_sse.py", "_turns.py", "_values.py", "_version.py",
]  # fmt: skip
CORE = [PACKAGE / name for name in CORE_NAMES]
# The facade packages, and the tools around them that do I/O on purpose.
FACADE_PACKAGES = ("_async", "_sync")
TOOLS = {"__init__.py", "__main__.py", "compat.py", "pytest_plugin.py", "server.py", "testing.py"}  # fmt: skip
FACADES = sorted(p for package in FACADE_PACKAGES for p in (PACKAGE / package).glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it, relative ones resolved in the package."""
    return imported_in(path.read_text(encoding="utf-8"))


def imported_in(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "openassistant_sdk." if node.level else ""
            if node.module:
                found.add(base + node.module)
            else:
                found.update(base + alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.add(node.args[0].value)
    return found


def is_httpx(module: str) -> bool:
    return module == "httpx" or module.startswith("httpx.")


def test_every_flat_module_is_core_or_a_tool() -> None:
    flat = {p.name for p in PACKAGE.glob("*.py")}
    assert flat == set(CORE_NAMES) | TOOLS, "classify the new module: core (pure) or a tool"
    assert all(p.is_file() for p in CORE)


def test_the_facades_are_packages_of_their_own() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in FACADES}
    assert {
        "_async/_client.py",
        "_async/_stream.py",
        "_sync/_client.py",
        "_sync/_stream.py",
    } <= names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_core_module_imports_httpx(path: Path) -> None:
    assert not {m for m in imported_modules(path) if is_httpx(m)}


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_core_module_imports_a_facade(path: Path) -> None:
    # Importing a facade would bring httpx in through the back door.
    imported = imported_modules(path)
    assert not {m for m in imported for package in FACADE_PACKAGES if f".{package}" in "." + m}


def test_the_import_scan_finds_httpx_where_it_is() -> None:
    # Guard against a scan that finds nothing: the facades do import httpx.
    for name in ("_async/_http.py", "_sync/_http.py", "_async/_client.py"):
        assert any(is_httpx(m) for m in imported_modules(PACKAGE / name)), name


def test_the_import_scan_sees_every_form() -> None:
    source = (
        "def f():\n"
        "    import httpx.Client\n"
        "    from httpx import Timeout\n"
        "    __import__('httpx')\n"
        "    importlib.import_module('httpx._api')\n"
        "from . import _client\n"
    )
    assert imported_in(source) == {
        "httpx.Client", "httpx", "httpx._api", "openassistant_sdk._client",
    }  # fmt: skip


def _pyproject() -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    if not PYPROJECT.is_file():  # pragma: no cover - installed without the sources
        pytest.skip("pyproject.toml is not beside the package")
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_ruff_bans_httpx_outside_the_facades() -> None:
    lint = _pyproject()["tool"]["ruff"]["lint"]
    assert any(code in ("TID", "TID2", "TID25", "TID251") for code in lint["select"])
    assert "TID251" not in lint.get("ignore", [])
    assert "httpx" in lint["flake8-tidy-imports"]["banned-api"]
    for pattern, ignored in lint.get("per-file-ignores", {}).items():
        if "TID251" not in ignored:
            continue
        for path in CORE:
            relative = path.relative_to(PYPROJECT.parent).as_posix()
            assert not fnmatch.fnmatch(relative, pattern), (
                f"{pattern} exempts the core module {relative} from the httpx ban"
            )


# Stdlib modules that only some paths need (a cookies file, cookies=, a retry, an HTTP-date
# Retry-After), each a few milliseconds to import: the core imports them where it needs them.
ONLY_SOME_PATHS = {"http.cookiejar", "urllib.request", "http.client", "email.utils", "random"}

_IMPORT_CORE = """
import sys, types
pkg = types.ModuleType("openassistant_sdk")
pkg.__path__ = [{package!r}]
sys.modules["openassistant_sdk"] = pkg  # the core alone: no __init__, so no facade, no httpx
for name in {names!r}:
    __import__("openassistant_sdk." + name)
assert "httpx" not in sys.modules
print(" ".join(sorted(set(sys.modules) & {heavy!r})))
"""


# The protocol core (the I/O primitives, which also do without httpx, are left out).
PURE_CORE = [
    "_actions", "_arguments", "_auth", "_chats", "_config", "_cookies", "_events", "_exceptions", "_failures", "_flow",
    "_logging", "_models", "_prompt", "_reply", "_requests", "_responses", "_retry", "_routes",
    "_sampling", "_sse", "_turns", "_values", "_version",
]  # fmt: skip


def test_importing_the_core_loads_nothing_that_only_some_paths_need() -> None:
    assert {name + ".py" for name in PURE_CORE} <= {p.name for p in CORE}
    code = _IMPORT_CORE.format(package=str(PACKAGE), names=PURE_CORE, heavy=ONLY_SOME_PATHS)
    # Without the coverage measurement of the test run, which imports modules of its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert out.stdout.split() == []
