"""The async testing examples of docs/async.md run as they are, in a pytest of their own.

Each example runs in a separate pytest process, configured only by what the page shows, with
the package's plugin (the `openassistant_server` fixture) loaded from its entry point.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ._markdown import DOCS, CodeBlock, code_blocks

SECTION = "Testing async code"
BLOCKS = [b for b in code_blocks(DOCS / "async.md") if b.section == SECTION]
EXAMPLES = [b for b in BLOCKS if b.lang == "python" and "def test_" in b.text]
(CONFIG,) = [b for b in BLOCKS if b.lang == "toml"]
HAS_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None


def _expected_passes(block: CodeBlock) -> int:
    tests = len(re.findall(r"^async def test_", block.text, flags=re.M))
    params = re.search(r"@pytest\.fixture\(params=\[(.*?)\]\)", block.text)
    return tests * (len(params[1].split(",")) if params else 1)


def test_the_section_has_both_examples() -> None:
    markers = sorted(
        m for b in EXAMPLES for m in re.findall(r"pytest\.mark\.(anyio|asyncio)", b.text)
    )
    assert markers == ["anyio", "asyncio"]


@pytest.mark.integration
@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: f"async.md:{b.line}")
def test_the_example_passes(block: CodeBlock, tmp_path: Path) -> None:
    uses_pytest_asyncio = "pytest.mark.asyncio" in block.text
    if uses_pytest_asyncio and not HAS_PYTEST_ASYNCIO:
        pytest.skip("pytest-asyncio is not installed (it is in the [dev] extra)")
    if HAS_PYTEST_ASYNCIO:
        # The page's configuration: with it, pytest-asyncio sits beside anyio's plugin.
        (tmp_path / "pyproject.toml").write_text(CONFIG.text, encoding="utf-8")
    else:
        (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
    (tmp_path / "test_example.py").write_text(block.text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENASSISTANT_")}
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{_expected_passes(block)} passed" in result.stdout, result.stdout
