"""The local server is a package of its own: it imports nothing from the SDK.

A user can run it without the client, and a change to the client can never change what the
server does (a test that passes against the server then says something about the protocol).
"""

from __future__ import annotations

import ast
from pathlib import Path

import openassistant_server

PACKAGE = Path(openassistant_server.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_scan_sees_the_server_modules() -> None:
    names = {path.name for path in MODULES}
    assert {"__init__.py", "_app.py", "_engine.py", "_settings.py"} <= names
    assert any("starlette.requests" in _imports(path) for path in MODULES)


def test_the_server_imports_nothing_from_the_sdk() -> None:
    for path in MODULES:
        sdk = {m for m in _imports(path) if m.split(".")[0] == "openassistant_sdk"}
        assert not sdk, f"{path.name} imports {sorted(sdk)}"


def test_no_server_module_repeats_an_sdk_module_name() -> None:
    sdk = {path.name for path in (PACKAGE.parent / "openassistant_sdk").glob("_*.py")}
    assert not sdk & {path.name for path in MODULES if path.name != "__init__.py"}


def test_the_sdk_still_offers_the_server_under_its_old_name() -> None:
    from openassistant_sdk import server

    assert server.ServerConfig is openassistant_server.ServerConfig
    assert server.create_app is openassistant_server.create_app
    assert sorted(server.__all__) == sorted(openassistant_server.__all__)
