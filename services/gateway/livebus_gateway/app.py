"""The gateway's routes (same paths as Google's endpoint). Opening a session is the library's
(livebus.edge.entry); the WebSocket is its transport (wstransport.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from livebus import closecodes, health, shadowlog, turn
from livebus.edge import auth, entry, handshake, resumption, tokens
from livebus.edge.state import EdgeState
from livebus.edge.tokens import TokenError
from livebus.edge.wire import ProtocolError
from livebus.runtime import cancel_and_wait

from . import acks, metrics, usage
from .settings import GatewaySettings
from .wstransport import WebSocketTransport

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_TOKEN_REQUEST_BYTES = 256 * 1024
MAX_DEV_TOKEN_REQUEST_BYTES = 4096  # the page's {"resume": handle}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class GatewayState(EdgeState[GatewaySettings]):
    """What the routes share: set up by the lifespan, read by the health server too."""


class CollapseSlashes:
    """`//ws/...` (a base URL with a trailing slash) is the same path as `/ws/...`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and path.startswith("//"):
            scope = dict(scope)
            scope["path"] = "/" + path.lstrip("/")
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = b"/" + raw.lstrip(b"/")
        await self.app(scope, receive, send)


def _google_error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}},
                        status_code=status)


class SlowBody(Exception):
    """The request's body did not arrive within the request timeout."""


_SLOW_BODY = ("request body not received in time", "DEADLINE_EXCEEDED")


async def _json_body(request: Request, limit: int, within_s: float, empty: Any = None) -> Any:
    """The request's JSON, at most `limit` bytes within `within_s` (`empty` for no body, when
    given); SlowBody past the time, ValueError for anything else."""
    body = bytearray()
    try:
        async with asyncio.timeout(within_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise ValueError(f"body larger than {limit} bytes")
    except TimeoutError:
        raise SlowBody from None
    if not body and empty is not None:
        return empty
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("body nested too deeply") from None


def same_origin_loopback(request: Request, http_port: int) -> bool:
    """A request from the page itself on the loopback HTTP port: Host and Origin agree."""
    if request.url.scheme != "http" or (request.scope.get("server") or ("", 0))[1] != http_port:
        return False
    host = request.headers.get("host", "")
    name, _, port = host.rpartition(":")
    if name not in LOOPBACK_HOSTS or port != str(http_port):
        return False
    return request.headers.get("origin") == f"http://{host}"


def _lifespan(state: GatewayState) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.start("gateway")
        top = asyncio.create_task(usage.top_users(state))
        try:
            yield
        finally:
            await cancel_and_wait(top)
            await state.stop()
    return lifespan


def create_app(settings: GatewaySettings, state: GatewayState | None = None) -> FastAPI:
    state = state or GatewayState.of(settings)
    app = FastAPI(title="livebus gateway", lifespan=_lifespan(state), openapi_url=None,
                  docs_url=None, redoc_url=None)
    app.router.routes.extend(r for r in health.routes(state.ready)
                             if getattr(r, "path", "") != "/metrics")
    _token_routes(app, state)
    _session_routes(app, state)
    usage.register(app, state)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app


def _token_routes(app: FastAPI, state: GatewayState) -> None:
    settings = state.settings

    @app.post("/{version}/auth_tokens")
    async def create_token(version: str, request: Request) -> JSONResponse:
        if version not in handshake.API_VERSIONS:
            return _google_error(404, "unknown API version", "NOT_FOUND")
        cred = auth.credential(request.headers, request.query_params)
        if not cred or not auth.is_server_key(cred, settings.server_keys()):
            return _google_error(401, "a server API key is required to create tokens",
                                 "UNAUTHENTICATED")
        try:
            body = await _json_body(request, MAX_TOKEN_REQUEST_BYTES, settings.request_timeout_s)
        except SlowBody:
            return _google_error(408, *_SLOW_BODY)
        except ValueError:
            return _google_error(400, "body must be JSON", "INVALID_ARGUMENT")
        if not isinstance(body, dict):
            return _google_error(400, "body must be a JSON object", "INVALID_ARGUMENT")
        try:
            token = tokens.mint(state.secret, body)
        except TokenError as e:
            return _google_error(400, str(e), "INVALID_ARGUMENT")
        metrics.TOKENS_MINTED.inc()
        return JSONResponse(_with_ice_servers(settings, token))

    @app.get("/config")
    async def page_config() -> JSONResponse:
        """What the web page needs to offer: models, whether it can get a dev token, and the
        WebRTC edge's WHIP endpoint when there is one."""
        config: dict[str, Any] = {"models": settings.allowed_models,
                                  "devTokens": settings.dev_tokens, "apiVersion": "v1alpha",
                                  "uplinkAcks": True}
        if settings.webrtc_whip_url:
            # STUN only: TURN credentials come with a token, never to anyone who asks.
            config["webrtc"] = {"whip": settings.webrtc_whip_url,
                                "iceServers": turn.ice_servers(settings.ice_urls, "", "", 0)}
        return JSONResponse(config)

    @app.post("/dev/token")
    async def dev_token(request: Request) -> JSONResponse:
        """A one-use token for the local page: only when enabled, only same-origin on loopback.

        Each call is a new identity (`page:<random>`): visitors never share sessions or notes.
        `{"resume": handle}` keeps the identity of a page session's own handle, so the page can
        resume it after a network blip. Production applications mint tokens in their own
        backend (docs/tokens.md)."""
        if not settings.dev_tokens or not same_origin_loopback(request, settings.http_port):
            return _google_error(403, "development tokens are not available here",
                                 "PERMISSION_DENIED")
        user = "page:" + secrets.token_hex(8)
        try:
            body = await _json_body(request, MAX_DEV_TOKEN_REQUEST_BYTES,
                                    settings.request_timeout_s, empty={})
        except SlowBody:
            return _google_error(408, *_SLOW_BODY)
        except ValueError:
            body = None
        handle = body.get("resume") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(handle, str | None):
            return _google_error(400, "invalid development token request", "INVALID_ARGUMENT")
        held = resumption.claims(state.secret, handle, settings.resume_grace_s) if handle else None
        if held is not None and held.user.startswith("page:"):
            user = held.user
        token = tokens.mint(state.secret, {"uses": 1, "livebus": {"user": user}})
        metrics.TOKENS_MINTED.inc()
        return JSONResponse(_with_ice_servers(settings, token))


def _with_ice_servers(settings: GatewaySettings, token: dict[str, Any]) -> dict[str, Any]:
    """A token response with the ICE servers its holder may use (TURN minted for it), when the
    gateway has any; SDKs drop the extra field."""
    servers = settings.ice_servers(str(token["name"]))
    return {**token, "livebus": {"iceServers": servers}} if servers else token


def _session_routes(app: FastAPI, state: GatewayState) -> None:
    settings = state.settings

    @app.get("/livebus/v1/sessions/{session_id}/transcript")
    async def transcript(session_id: str, request: Request) -> JSONResponse:
        """The shadow log: all of it to a server key; to the session's own handle, without
        server tools' calls and results (those stay server-side)."""
        cred = auth.credential(request.headers, request.query_params) or ""
        server = auth.is_server_key(cred, settings.server_keys())
        handle = None if server else resumption.claims(state.secret, cred,
                                                       settings.resume_grace_s)
        own = handle is not None and handle.sid == session_id and bool(handle.user)
        if not (server or own) or state.bus is None:
            return _google_error(403, "a server key or this session's handle is required",
                                 "PERMISSION_DENIED")
        entries = await shadowlog.read(state.bus.main.jetstream(), session_id)
        shown = [e.model_dump() for e in entries if server or not e.server]
        return JSONResponse({"sessionId": session_id, "entries": shown})

    async def live(ws: WebSocket, version: str, method: str) -> None:
        await ws.accept()
        # A client that asked counts its reads and gets acknowledgements (acks.py); others not.
        transport = (acks.AckingTransport(ws) if acks.wanted(ws.query_params)
                     else WebSocketTransport(ws))
        try:
            handshake.check_endpoint(version, method)
        except ProtocolError as e:
            state.metrics.connections_rejected.labels("auth").inc()
            await _close(transport, e.code, e.reason)
            return
        await entry.serve(state, transport, ws.headers, ws.query_params)

    app.add_api_websocket_route(
        "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}", live)


async def _close(transport: WebSocketTransport, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await transport.close(code, closecodes.clamp_reason(reason))
