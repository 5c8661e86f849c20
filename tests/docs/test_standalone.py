"""The project's files cite only what users have: never the team's private notes.

Docs, docstrings, comments and error messages cite docs/protocol.md (by section) and
docs/design.md (by decision) instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ._markdown import ROOT

# Spelled in pieces, so that this file does not name them itself.
PRIVATE = re.compile(
    "|".join(
        [
            re.escape("oa-protocol" + ".md"),
            re.escape("api-contract" + ".md"),
            r"\b" + re.escape("style" + ".md"),
            re.escape("shared" + "/reference"),
            re.escape("../" + "shared/"),
        ]
    )
)
SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "site"}


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = ROOT / name
        if path.is_file():
            found.append(path)
            continue
        assert path.is_dir(), f"{name} is missing"
        found += [
            p
            for p in sorted(path.rglob("*"))
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(ROOT).parts)
        ]
    return found


def _citations(paths: list[str]) -> list[str]:
    hits = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images, compiled files
        for number, line in enumerate(text.splitlines(), start=1):
            if PRIVATE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return hits


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param(
            ["docs", "README.md", "mkdocs.yml", "examples", "bench", "tests", "pyproject.toml"],
            id="docs-examples-bench-tests",
        ),
        pytest.param(
            ["openassistant_sdk", "openassistant_server", ".ci", "noxfile.py"], id="package"
        ),
    ],
)
def test_no_file_cites_the_private_notes(paths: list[str]) -> None:
    hits = _citations(paths)
    assert not hits, "\n".join(hits)


def test_the_check_finds_a_citation() -> None:
    line = "see " + "oa-protocol" + ".md 3.3"
    assert PRIVATE.search(line)
    assert not PRIVATE.search("see docs/protocol.md 3.3")
