"""The SDK's logger, turned on by ``OPENASSISTANT_LOG``; log lines never carry a secret."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

__all__ = ["logger", "scrub", "setup_from_env"]

logger = logging.getLogger("openassistant_sdk")
_configured = False


def setup_from_env(env: Mapping[str, str] | None = None) -> None:
    """Attach a stderr handler at the level ``OPENASSISTANT_LOG`` names (``debug``/``info``).

    Args:
        env: The environment to read (a client's ``env=``); ``os.environ`` when None.
    """
    global _configured
    level_name = (env if env is not None else os.environ).get("OPENASSISTANT_LOG", "")
    level_name = level_name.strip().upper()
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
