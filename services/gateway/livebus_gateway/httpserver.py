"""The gateway's listening sockets: bounded HTTP parsing, connection caps, a metrics port.

h11, not httptools: h11 refuses a request whose line and headers exceed max_header_bytes (400)
instead of buffering them whole. Each listening port holds at most max_connections (WebSockets
included); a connection must send its request headers within handshake_timeout_s; an idle
keep-alive connection is closed after idle_timeout_s.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from livebus import health
from livebus.health import EmbeddedServer, ReadyCheck

from .settings import GatewaySettings

_TOO_MANY_HEADERS = b"too many request headers"


def limited_h11(max_connections: int, handshake_timeout_s: float) -> type[H11Protocol]:
    """H11Protocol that drops connections past the cap and ones that are slow to ask."""

    class LimitedH11(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.abort()
                return
            self._deadline = self.loop.call_later(handshake_timeout_s, self._too_slow)

        def _too_slow(self) -> None:
            if self.scope is None:  # no complete request line and headers yet
                self.transport.abort()

        def handle_events(self) -> None:
            super().handle_events()
            if self.scope is not None and self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

    return LimitedH11


class HeaderLimit:
    """At most max_headers header lines: 431 for HTTP, a refused handshake for WebSockets."""

    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app = app
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and len(scope["headers"]) > self.max_headers:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send({"type": "http.response.start", "status": 431,
                        "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": _TOO_MANY_HEADERS})
            return
        await self.app(scope, receive, send)


def _limits(settings: GatewaySettings) -> dict[str, Any]:
    return {
        "http": limited_h11(settings.max_connections, settings.handshake_timeout_s),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": settings.idle_timeout_s,
        "server_header": False,
        "log_config": None,
        "access_log": False,
    }


def public_servers(app: ASGIApp, settings: GatewaySettings) -> list[uvicorn.Server]:
    """TLS for SDK clients, plain HTTP (loopback) for the page; one runs the app's lifespan."""
    app = HeaderLimit(app, settings.max_headers)
    common = {**_limits(settings), "ws_max_size": settings.max_message_bytes * 2,
              # permessage-deflate on base64 audio and JPEG costs a quarter of the gateway's CPU
              # for almost no saving (py-spy at 100 sessions): off unless configured.
              "ws_per_message_deflate": settings.ws_compression, "ws_ping_interval": None}
    servers: list[uvicorn.Server] = []
    if settings.cert_file and settings.key_file:
        servers.append(EmbeddedServer(uvicorn.Config(
            app, host=settings.host, port=settings.https_port, lifespan="on",
            ssl_certfile=str(settings.cert_file), ssl_keyfile=str(settings.key_file), **common)))
    if settings.http_port:
        servers.append(EmbeddedServer(uvicorn.Config(
            app, host=settings.host, port=settings.http_port,
            lifespan="off" if servers else "on", **common)))
    return servers


def metrics_server(settings: GatewaySettings, ready: ReadyCheck) -> uvicorn.Server | None:
    """/livez, /readyz and /metrics on the internal port (Prometheus and probes only)."""
    if not settings.health_port:
        return None
    app = Starlette(routes=health.routes(ready))
    return EmbeddedServer(uvicorn.Config(app, host=settings.health_host,
                                         port=settings.health_port, lifespan="off",
                                         **_limits(settings)))
