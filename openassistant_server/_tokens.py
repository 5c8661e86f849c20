"""Who is calling: bearer access tokens, the TrustedClient header, and token minting (2.1).

Tokens are this server's own opaque format (an HMAC-signed JSON payload with upstream's
fields `user_id`, `exp`, `type`); the checks and their errors are upstream's, in its order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from starlette.requests import Request

from ._http import HTTPError, UnhandledError
from ._schemas import TRUSTED_CLIENT
from ._validation import INVALID, ErrorList

__all__ = ["TokenSigner", "current_user_id", "parse_trusted_client", "user_from_bearer"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Mints and opens this server's tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mint(self, user_id: str, token_type: str, expire_minutes: float) -> str:
        """Return a token for `user_id` of the given type ("access" or "refresh").

        Args:
            user_id: The user the token authenticates.
            token_type: Upstream's payload `type`.
            expire_minutes: Lifetime; negative values make an already expired token.
        """
        payload = json.dumps(
            {"user_id": user_id, "exp": time.time() + expire_minutes * 60, "type": token_type}
        ).encode()
        signature = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(signature)}"

    def open(self, token: str) -> dict[str, Any] | None:
        """Return the payload of a token this server signed, or None (`Invalid token`)."""
        payload_b64, dot, signature_b64 = token.partition(".")
        if not dot:
            return None
        try:
            payload = _unb64(payload_b64)
            signature = _unb64(signature_b64)
        except (binascii.Error, ValueError):
            return None
        expected = hmac.new(self._secret, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            return None
        try:
            decoded = json.loads(payload)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None


def user_from_bearer(signer: TokenSigner, header: str | None) -> str:
    """Resolve `Authorization: Bearer <token>` as upstream's `get_user_id_from_auth_token`.

    Raises:
        HTTPError: 403 `Not authenticated` (no header, no `Bearer ` prefix, empty token),
            401 `Invalid token`, 400 `Invalid token type`, 401 `Token expired` (golden 02 #4-#10).
    """
    if header is None or not header.startswith("Bearer ") or not header[len("Bearer ") :]:
        raise HTTPError(403, "Not authenticated")
    payload = signer.open(header[len("Bearer ") :])
    if payload is None:
        raise HTTPError(401, "Invalid token")
    user_id, exp, token_type = payload.get("user_id"), payload.get("exp"), payload.get("type")
    if not user_id or not exp:
        raise HTTPError(401, "Invalid token")
    if token_type != "access":
        raise HTTPError(400, "Invalid token type")
    if time.time() >= float(exp):
        raise HTTPError(401, "Token expired")
    return str(user_id)


def parse_trusted_client(header: str) -> dict[str, Any]:
    """Decode a TrustedClient header: base64 of a JSON object (2.1).

    Upstream decodes it inside a pydantic validator, so anything malformed (not base64, not
    JSON, a missing field) escapes as an unhandled exception: the 21-byte 500 (golden 02 #22).

    Raises:
        UnhandledError: The header cannot be decoded or lacks a field.
    """
    try:
        decoded = json.loads(base64.b64decode(header))
    except (ValueError, TypeError) as exc:
        raise UnhandledError("TrustedClient header is not base64 JSON") from exc
    errors: ErrorList = []
    info = TRUSTED_CLIENT(decoded, ("content",), errors)
    if info is INVALID:
        raise UnhandledError(f"invalid TrustedClient header: {errors}")
    assert isinstance(info, dict)
    return info


def current_user_id(request: Request, signer: TokenSigner, trusted_keys: tuple[str, ...]) -> str:
    """Resolve the calling user: a TrustedClient header wins over Authorization (2.1).

    Raises:
        HTTPError: 401 `Unauthorized client` for an unknown api key, or a bearer error.
        UnhandledError: A TrustedClient header that cannot be decoded.
    """
    trusted = request.headers.get("trustedclient")
    if trusted:
        info = parse_trusted_client(trusted)
        if info["api_key"] not in trusted_keys:
            raise HTTPError(401, "Unauthorized client")
        return str(info["user_id"])
    return user_from_bearer(signer, request.headers.get("authorization") or None)
