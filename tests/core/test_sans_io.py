"""The core never imports httpx (docs/design.md), and ruff is set up to keep it that way."""

from __future__ import annotations

import ast
import fnmatch
import sys
from pathlib import Path
from typing import Any

import pytest

import openassistant_sdk

PACKAGE = Path(openassistant_sdk.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
FACADES = {"_client.py", "_async_client.py", "_transport.py"}
CORE = sorted(p for p in PACKAGE.glob("_*.py") if p.name not in FACADES and p.name != "__init__.py")


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


def test_the_core_modules_are_found() -> None:
    names = {p.name for p in CORE}
    expected = {
        "_sse.py", "_events.py", "_models.py", "_requests.py", "_retry.py", "_prompt.py",
        "_exceptions.py", "_auth.py", "_config.py", "_reply.py",
    }  # fmt: skip
    assert expected <= names
    assert not FACADES & names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_core_module_imports_httpx(path: Path) -> None:
    assert not {m for m in imported_modules(path) if is_httpx(m)}


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_no_core_module_imports_a_facade(path: Path) -> None:
    # Importing a facade would bring httpx in through the back door.
    facades = {"openassistant_sdk." + name.removesuffix(".py") for name in FACADES}
    assert not imported_modules(path) & facades


def test_the_import_scan_finds_httpx_where_it_is() -> None:
    # Guard against a scan that finds nothing: the facades do import httpx.
    for name in FACADES:
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
