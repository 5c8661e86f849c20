"""The SDK's logger, turned on by ``OPENASSISTANT_LOG``; log lines never carry a secret."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

__all__ = ["logger", "scrub", "setup_from_env"]

logger = logging.getLogger("openassistant_sdk")
_configured = False


def setup_from_env() -> None:
    """Attach a stderr handler at the level ``OPENASSISTANT_LOG`` names (``debug``/``info``)."""
    global _configured
    level_name = os.environ.get("OPENASSISTANT_LOG", "").strip().upper()
    if _configured or level_name not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level_name)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
