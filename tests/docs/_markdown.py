"""Fenced code blocks of the docs pages, read the way Python-Markdown's superfences reads them."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


@attrs.frozen
class CodeBlock:
    """One fenced code block: where it is, its language and its lines (indent removed)."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    section: str  # the nearest "## " heading above it
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def code_blocks(path: Path) -> list[CodeBlock]:
    """Return the fenced code blocks of one Markdown file, in order."""
    blocks: list[CodeBlock] = []
    section = ""
    opened: tuple[int, str, str, str] | None = None  # line, indent, fence, lang
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if opened is None:
            if line.startswith("## "):
                section = line[3:].strip()
            match = _FENCE.match(line)
            if match:
                lang = match["info"].strip().split(" ")[0].lstrip(".")
                opened = (number, match["indent"], match["fence"], lang)
                body = []
            continue
        start, indent, fence, lang = opened
        if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            blocks.append(CodeBlock(path, start, lang, section, tuple(body)))
            opened = None
            continue
        body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    assert opened is None, f"{path}:{opened[0]}: unclosed code block"
    return blocks


def docs_pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.glob("*.md"))
