"""The ASGI app: the Live websocket, the control API and health, on one (TLS) port."""

from __future__ import annotations

import re

from fastapi import FastAPI, WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send

from livebus.health import routes as health_routes
from livebus_emulator.control import router as control_router
from livebus_emulator.session import LiveSession
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.state import EmulatorState

RPC_RE = re.compile(r"^google\.ai\.generativelanguage\.(v1alpha|v1beta|v1)\.GenerativeService\."
                    r"(BidiGenerateContent|BidiGenerateContentConstrained)$")


class CollapseLeadingSlashes:
    """`//ws/...` -> `/ws/...` (the SDK with a trailing-slash base_url sends two slashes).

    Only the leading run of slashes is touched, and the path is never parsed as a URL
    (`urlsplit("//ws/x")` would read `ws` as a host).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope.get("path", "")
            if path.startswith("//"):
                scope = dict(scope)
                scope["path"] = "/" + path.lstrip("/")
                raw = scope.get("raw_path")
                if isinstance(raw, bytes):
                    scope["raw_path"] = b"/" + raw.lstrip(b"/")
        await self.app(scope, receive, send)


def create_app(settings: EmulatorSettings | None = None,
               state: EmulatorState | None = None) -> FastAPI:
    settings = settings or EmulatorSettings()
    state = state or EmulatorState(settings)
    app = FastAPI(title="livebus gemini-emulator", docs_url=None, redoc_url=None,
                  openapi_url="/control/openapi.json")
    app.state.emulator = state

    @app.websocket("/ws/{rpc}")
    async def live(ws: WebSocket, rpc: str) -> None:
        m = RPC_RE.match(rpc)
        if m is None:
            await ws.close(1008)  # before accept: the handshake is refused (HTTP 403)
            return
        await LiveSession(ws, state, api_version=m.group(1), method=m.group(2)).run()

    app.include_router(control_router)
    app.router.routes.extend(health_routes(lambda: (True, "ok")))
    app.add_middleware(CollapseLeadingSlashes)
    return app
