"""``openassistant serve``: the server's options, and the warning when it listens beyond loopback."""

from __future__ import annotations

import argparse
import ipaddress
import os
from typing import Any

from ._output import (
    CLIError,
    _say,
)


def _rate_limit(text: str) -> Any:
    from openassistant_server import RateLimit

    if text.strip().lower() in ("off", "none", "0"):
        return None
    times, _, seconds = text.partition("/")
    try:
        return RateLimit(times=int(times), seconds=float(seconds or 660))
    except ValueError:
        raise CLIError(f"--rate-limit must be N/SECONDS or off, not {text!r}", status=2) from None


def _exposure(args: argparse.Namespace) -> dict[str, Any]:
    """Return the ServerConfig fields of the CORS, login, admin and delete-loss flags."""
    origins = args.cors_origin
    if origins is None:  # the real server's setting: a comma-separated list
        origins = os.environ.get("INFERENCE_CORS_ORIGINS", "").split(",")
    changes: dict[str, Any] = {"cors_origins": tuple(o.strip() for o in origins if o.strip())}
    if args.no_debug_login:
        changes["allow_debug_auth"] = False
    if args.no_trusted_client:
        changes["trusted_client_keys"] = ()
    if args.no_admin:
        changes["admin_routes"] = False
    if args.emulate_delete_loss:
        changes["emulate_delete_loss"] = True
    return changes


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may well be reachable


def _warn_if_exposed(host: str, url: str, config: Any) -> None:
    """Warn on stderr when a non-loopback address serves what lets anyone act as anyone."""
    risks = [
        (config.allow_debug_auth, "log in as any user (--no-debug-login)"),
        (
            bool(config.trusted_client_keys),
            "act as any user with a TrustedClient key (--no-trusted-client)",
        ),
        (config.admin_routes, "read its state and inject faults (--no-admin)"),
    ]
    on = [text for enabled, text in risks if enabled]
    if on and not _is_loopback(host):
        _say(
            "warning",
            f"{url} is reachable from other machines, and anyone who reaches it can {'; '.join(on)}",
        )
