"""MkDocs hook: render Sphinx roles left in docstrings (``:class:`X```) as plain code.

The package's docstrings are Google style, but some still use Sphinx roles, which Markdown
shows literally (":class:`StreamError`"). This drops the role and keeps the code span.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|attr|data|func|exc|obj|mod):(<code>)~?(?:openassistant_sdk\.)?")


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(r"\1", html)
