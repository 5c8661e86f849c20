"""Inference-server routes without chats: `/auth/*` and `/configs/*` (docs/protocol.md 2.1, 4.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._data import PRESETS
from ._http import HTTPError, UnhandledError, json_response
from ._routing import api_route, query_param, read_body
from ._schemas import PLUGIN_ENTRY
from ._tokens import current_user_id, parse_trusted_client
from ._validation import ErrorList, raise_if_errors, to_str, validate_body

if TYPE_CHECKING:
    from ._engine import ServerCore

__all__ = ["AuthRoutes"]


class AuthRoutes:
    """Login, token and config routes."""

    def __init__(self, core: ServerCore) -> None:
        self.core = core

    def routes(self) -> list[Route]:
        """Return the routes in upstream's registration order."""
        return [
            api_route("/auth/check", self.check, ["GET"]),
            api_route("/auth/providers", self.providers, ["GET"]),
            api_route("/auth/refresh", self.refresh, ["GET"]),
            api_route("/auth/login/debug", self.login_debug, ["GET"]),
            api_route("/auth/callback/debug", self.callback_debug, ["GET"]),
            api_route("/auth/trusted", self.trusted, ["POST"]),
            api_route("/configs/model_configs", self.model_configs, ["GET"]),
            api_route("/configs/plugin_config", self.plugin_config, ["POST"]),
            api_route("/configs/builtin_plugins", self.builtin_plugins, ["GET"]),
        ]

    def user_id(self, request: Request) -> str:
        """Resolve the calling user (2.1)."""
        return current_user_id(request, self.core.signer, self.core.config.trusted_client_keys)

    def token_pair(self, user_id: str) -> dict[str, Any]:
        """Mint a `TokenPair` (2.1)."""
        config, signer = self.core.config, self.core.signer
        access = signer.mint(user_id, "access", config.access_token_expire_minutes)
        refresh = signer.mint(user_id, "refresh", config.refresh_token_expire_minutes)
        return {
            "access_token": {"access_token": access, "token_type": "bearer"},
            "refresh_token": {"access_token": refresh, "token_type": "refresh"},
        }

    async def check(self, request: Request) -> Response:
        """`GET /auth/check`: the caller's user id as a JSON string."""
        return json_response(self.user_id(request))

    async def providers(self, request: Request) -> Response:
        """`GET /auth/providers`: only the debug login exists here."""
        return json_response(["debug"] if self.core.config.allow_debug_auth else [])

    async def refresh(self, request: Request) -> Response:
        """`GET /auth/refresh`, which never succeeds upstream (10.1).

        Upstream stores the hash of the encrypted refresh token but looks up the hash of the
        decrypted payload, so every token is `Invalid token`; without the header the
        decryption of `None` crashes (an unhandled 500, golden 02 #14-#17).
        """
        if not request.headers.get("refresh"):
            raise UnhandledError("refresh token missing")
        raise HTTPError(401, "Invalid token")

    async def login_debug(self, request: Request) -> Response:
        """`GET /auth/login/debug?username=`: 302 to the callback (golden 02 #13)."""
        errors: ErrorList = []
        username = query_param(request, "username", to_str, errors, required=True)
        state = query_param(request, "state", to_str, errors, default="{}")
        raise_if_errors(errors)
        root = self.core.config.api_root or str(request.base_url).rstrip("/")
        location = f"{root}/auth/callback/debug?code={username}&state={state}"
        raise HTTPError(302, headers={"location": location})

    async def callback_debug(self, request: Request) -> Response:
        """`GET /auth/callback/debug?code=<user>`: a token pair; creates the user (2.1)."""
        errors: ErrorList = []
        code = query_param(request, "code", to_str, errors, required=True)
        raise_if_errors(errors)
        if not self.core.config.allow_debug_auth:
            raise HTTPError(403, "Debug auth is not allowed")
        if not code:
            raise HTTPError(400, "Username is required")
        self.core.store.ensure_user(
            code, provider="debug", display_name=code, provider_account_id=code
        )
        return json_response(self.token_pair(code))

    async def trusted(self, request: Request) -> Response:
        """`POST /auth/trusted`: create the TrustedClient's user and return its row."""
        header = request.headers.get("trustedclient")
        if not header:
            raise HTTPError(401, "Missing token")
        info = parse_trusted_client(header)
        if info["api_key"] not in self.core.config.trusted_client_keys:
            raise HTTPError(401, "Unauthorized client")
        user = self.core.store.ensure_user(
            info["user_id"],
            provider=info["client"],
            display_name=info["username"],
            provider_account_id=info["provider_account_id"],
        )
        return json_response(user.to_json())

    async def model_configs(self, request: Request) -> Response:
        """`GET /configs/model_configs`: every served model with the eight presets (4.2)."""
        core = self.core
        if core.backend is not None:
            await core.backend.refresh(core)
        presets = [dict(p) for p in PRESETS]
        return json_response(
            [
                {
                    "name": name,
                    "description": core.model_description(name),
                    "parameter_configs": presets,
                }
                for name in core.listed_models()
            ]
        )

    async def builtin_plugins(self, request: Request) -> Response:
        """`GET /configs/builtin_plugins`: no built-in plugins are hosted here."""
        return json_response([])

    async def plugin_config(self, request: Request) -> Response:
        """`POST /configs/plugin_config`: a `PluginEntry` with its manifest filled in.

        Manifests come from `ServerConfig.plugin_manifests`; any other URL is answered as
        upstream answers a manifest that is not there: 404 `Plugin not found`.
        """
        body = await read_body(request)
        errors: ErrorList = []
        entry = validate_body(body, PLUGIN_ENTRY, errors)
        raise_if_errors(errors)
        manifest = self.core.config.plugin_manifests.get(entry["url"])
        if manifest is None:
            raise HTTPError(404, "Plugin not found")
        return json_response(
            {
                "url": entry["url"],
                "enabled": entry["enabled"],
                "plugin_config": dict(manifest),
                "trusted": False,
            }
        )
