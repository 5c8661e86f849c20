"""Every citation of docs/protocol.md and of docs/design.md's decisions points at a real section.

The code cites "docs/protocol.md 3.3" and "docs/design.md, decision 7"; these pages number
their sections with explicit anchors (``{#3.3}``, ``{#decision-7}``) so that such citations
stay valid. A renumbered or deleted section fails here, with the files that cite it.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._markdown import DOCS, ROOT

SECTION = r"\d+(?:\.\d+)?"
PROTOCOL_CITATION = re.compile(
    rf"docs/protocol\.md,?\s+({SECTION}(?:(?:,\s+|\s+and\s+){SECTION}(?![\w.]*\w))*)"
)
DECISION_CITATION = re.compile(r"docs/design\.md,?\s+decisions?\s+(\d+)")
ANCHOR = re.compile(r"^#+ .*\{#([\w.-]+)\}\s*$", flags=re.M)
PLACES = ["docs", "README.md", "examples", "bench", "tests", "openassistant_sdk",
          "openassistant_server", ".ci"]  # fmt: skip


def _anchors(page: str) -> set[str]:
    return set(ANCHOR.findall((DOCS / page).read_text(encoding="utf-8")))


def _texts() -> list[tuple[Path, str]]:
    texts = []
    for name in PLACES:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if file.suffix in (".py", ".md", ".toml", ".yml") and "__pycache__" not in file.parts:
                texts.append((file, file.read_text(encoding="utf-8")))
    return texts


def test_the_protocol_page_has_every_numbered_section() -> None:
    anchors = _anchors("protocol.md")
    expected = {str(n) for n in range(11)}
    expected |= {f"{n}.{m}" for n, last in {1: 4, 2: 4, 3: 4, 4: 4, 5: 3}.items()
                 for m in range(1, last + 1)}  # fmt: skip
    expected |= {f"10.{m}" for m in range(1, 16)}
    assert expected <= anchors, sorted(expected - anchors)


def test_the_design_page_has_every_decision() -> None:
    anchors = _anchors("design.md")
    assert {f"decision-{n}" for n in range(1, 17)} <= anchors


def test_every_citation_points_at_a_section() -> None:
    sections = _anchors("protocol.md")
    decisions = _anchors("design.md")
    dangling, found = [], 0
    for path, text in _texts():
        for match in PROTOCOL_CITATION.finditer(text):
            for number in re.findall(SECTION, match[1]):
                found += 1
                if number not in sections:
                    dangling.append(f"{path.relative_to(ROOT)}: docs/protocol.md {number}")
        for match in DECISION_CITATION.finditer(text):
            found += 1
            if f"decision-{match[1]}" not in decisions:
                dangling.append(f"{path.relative_to(ROOT)}: docs/design.md, decision {match[1]}")
    assert found > 30  # the pattern still finds the citations
    assert not dangling, "\n".join(dangling)
