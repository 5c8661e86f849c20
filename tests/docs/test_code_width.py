"""No code block in the docs makes a reader scroll sideways on a 1280 px wide screen.

Measured in headless Chromium on the built site (mkdocs-material, both sidebars shown, as
they are from 1220 px on): a code block is 688 px wide, and the fallback monospace font
(DejaVu Sans Mono at 13.6 px) takes 8.18 px a character, so 80 characters fit. Fonts with
narrower glyphs (SF Mono, Consolas) fit more; 80 is the limit for all of them.
"""

from __future__ import annotations

import pytest

from ._markdown import CodeBlock, code_blocks, docs_pages

MAX_CODE_LINE = 80

BLOCKS = [block for page in docs_pages() for block in code_blocks(page)]


def test_the_pages_have_code_blocks() -> None:
    assert len(BLOCKS) > 50  # the parser finds them (a broken one would pass the test below)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b.path.name}:{b.line}")
def test_code_lines_fit_without_scrolling(block: CodeBlock) -> None:
    too_long = [
        f"line {block.line + 1 + i}: {len(line.expandtabs(8))} > {MAX_CODE_LINE}: {line}"
        for i, line in enumerate(block.lines)
        if len(line.expandtabs(8)) > MAX_CODE_LINE
    ]
    assert not too_long, "\n".join(too_long)
