"""The gateway's HTTP and WebSocket surface (same paths as Google's endpoint)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from google.genai import types
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from livebus import closecodes, health, shadowlog

from . import auth, metrics, resumption, tokens, wire
from .buses import GatewayBus
from .session import ClientSession
from .settings import GatewaySettings
from .tokens import Grant, TokenError
from .wire import ProtocolError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

API_VERSIONS = ("v1alpha", "v1beta", "v1")
LIVE_METHODS = ("BidiGenerateContent", "BidiGenerateContentConstrained")


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


def validate_setup(setup: dict[str, Any], grant: Grant, allowed: list[str]) -> dict[str, Any]:
    """Apply the token's locked setup, check the model and the fields; returns the setup to open."""
    setup = tokens.apply_locked_setup(grant, setup)
    model = wire.normalize_model(str(setup.get("model", "")))
    permitted = [wire.normalize_model(m) for m in (grant.models or allowed)]
    if model not in permitted or model not in [wire.normalize_model(m) for m in allowed]:
        raise ProtocolError(closecodes.INVALID_ARGUMENT,
                            f"model {model} is not available on this gateway")
    body = {k: v for k, v in setup.items() if k != "model"}
    try:
        types.LiveConnectConfig.model_validate_json(json.dumps(body))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ProtocolError(
                closecodes.INVALID_ARGUMENT,
                f'Invalid JSON payload received. Unknown name "{where}" at \'setup\': '
                "Cannot find field.") from None
        raise ProtocolError(closecodes.INVALID_ARGUMENT,
                            f"invalid setup.{where}: {first['msg']}") from None
    return {**body, "model": model}


def resumed_session(setup: dict[str, Any], grant: Grant, secret: str,
                    settings: GatewaySettings) -> str | None:
    """The livebus session a setup resumes (its handle is replaced by an empty request)."""
    key = "sessionResumption" if "sessionResumption" in setup else "session_resumption"
    config = setup.get(key)
    if not isinstance(config, dict) or not config.get("handle"):
        return None
    handle = str(config["handle"])
    sid = resumption.verify(secret, handle, grant.user, settings.resume_grace_s)
    if sid is None:
        raise ProtocolError(closecodes.INVALID_ARGUMENT, "invalid session resumption handle")
    setup[key] = {k: v for k, v in config.items() if k != "handle"}
    metrics.RESUMPTIONS.inc()
    return sid


def create_app(settings: GatewaySettings) -> FastAPI:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["bus"] = await GatewayBus.connect(settings.nats_url, settings.instance_id,
                                                settings.js_replicas)
        state["secret"] = settings.signing_secret()
        try:
            yield
        finally:
            await state["bus"].close()

    app = FastAPI(title="livebus gateway", lifespan=lifespan, docs_url=None, redoc_url=None)

    def ready() -> tuple[bool, str]:
        b: GatewayBus | None = state.get("bus")
        if b is None or not b.connected():
            return False, "not connected to NATS"
        return True, "ok"

    for route in health.routes(ready):
        app.router.routes.append(route)

    @app.post("/{version}/auth_tokens")
    async def create_token(version: str, request: Request) -> JSONResponse:
        if version not in API_VERSIONS:
            return _google_error(404, f"unknown API version {version}", "NOT_FOUND")
        cred = auth.credential(request.headers, request.query_params)
        if not cred or not auth.is_server_key(cred, settings.server_keys()):
            return _google_error(401, "a server API key is required to create tokens",
                                 "UNAUTHENTICATED")
        try:
            body = await request.json()
        except ValueError:
            return _google_error(400, "body must be JSON", "INVALID_ARGUMENT")
        if not isinstance(body, dict):
            return _google_error(400, "body must be a JSON object", "INVALID_ARGUMENT")
        try:
            token = tokens.mint(state["secret"], body)
        except TokenError as e:
            return _google_error(400, str(e), "INVALID_ARGUMENT")
        metrics.TOKENS_MINTED.inc()
        return JSONResponse(token)

    @app.get("/config")
    async def page_config() -> JSONResponse:
        """What the web page needs to offer: models and whether it can get a dev token."""
        return JSONResponse({"models": settings.allowed_models, "devTokens": settings.dev_tokens,
                             "apiVersion": "v1alpha"})

    @app.post("/dev/token")
    async def dev_token(request: Request) -> JSONResponse:
        """A one-use token for the local page, only when LIVEBUS_GATEWAY_DEV_TOKENS is on.

        Production applications mint tokens in their own backend (docs/tokens.md)."""
        if not settings.dev_tokens:
            return _google_error(403, "development tokens are disabled on this gateway",
                                 "PERMISSION_DENIED")
        token = tokens.mint(state["secret"], {"uses": 1, "livebus": {"user": "dev-page"}})
        metrics.TOKENS_MINTED.inc()
        return JSONResponse(token)

    @app.get("/livebus/v1/sessions/{session_id}/transcript")
    async def transcript(session_id: str, request: Request) -> JSONResponse:
        """The session's shadow log: a server key, or the session's own resumption handle."""
        cred = auth.credential(request.headers, request.query_params) or ""
        handle = resumption.claims(state["secret"], cred, settings.resume_grace_s)
        if not (auth.is_server_key(cred, settings.server_keys())
                or (handle is not None and handle["sid"] == session_id)):
            return _google_error(403, "a server key or this session's handle is required",
                                 "PERMISSION_DENIED")
        bus: GatewayBus = state["bus"]
        entries = await shadowlog.read(bus.main.jetstream(), session_id)
        return JSONResponse({"sessionId": session_id,
                             "entries": [e.model_dump() for e in entries]})

    async def live(ws: WebSocket, version: str, method: str) -> None:
        await ws.accept()
        try:
            if version not in API_VERSIONS or method not in LIVE_METHODS:
                raise ProtocolError(closecodes.POLICY, f"unknown endpoint {version}.{method}")
            bus: GatewayBus = state["bus"]
            try:
                grant = auth.authenticate(auth.credential(ws.headers, ws.query_params),
                                          settings.server_keys(), state["secret"])
            except TokenError as e:
                metrics.CONNECTIONS_REJECTED.labels("auth").inc()
                raise ProtocolError(closecodes.POLICY, str(e)) from None
            try:
                first = await asyncio.wait_for(ws.receive(), settings.setup_timeout_s)
            except TimeoutError:
                raise ProtocolError(closecodes.INVALID_ARGUMENT, "no setup message") from None
            if first["type"] == "websocket.disconnect":
                return
            data = first.get("text") or first.get("bytes") or b""
            if len(data) > settings.max_message_bytes:
                raise ProtocolError(closecodes.TOO_BIG, "setup message too large")
            setup = validate_setup(wire.parse_setup(data), grant, settings.allowed_models)
            resume = resumed_session(setup, grant, state["secret"], settings)
            if resume is None:  # resuming uses no use of a token, as with Google
                try:
                    tokens.check_new_session(grant)
                    await tokens.spend(bus.token_uses, grant)
                except TokenError as e:
                    metrics.CONNECTIONS_REJECTED.labels("auth").inc()
                    raise ProtocolError(closecodes.POLICY, str(e)) from None
        except ProtocolError as e:
            metrics.CONNECTIONS_REJECTED.labels(f"close_{e.code}").inc()
            with contextlib.suppress(Exception):
                await ws.close(e.code, e.reason)
            return
        await ClientSession(ws, bus, settings, grant, setup, state["secret"], resume).run()

    app.add_api_websocket_route(
        "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}", live)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app


def asgi(settings: GatewaySettings) -> ASGIApp:
    return CollapseSlashes(create_app(settings))
