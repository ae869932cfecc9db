"""Security headers on every HTTP response of the gateway (the page above all)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The page loads only its own scripts, styles and worklets (audio worklets count as scripts)
# and talks only to its own origin (CSP Level 3 'self' covers ws:/wss: to the same host).
# No inline script or style, no framing. Beyond 'self' it needs only images: its icon is a
# data: URL and an attached picture is shown from a blob: URL. It uses no workers and plays
# no media from URLs (the camera preview is a MediaStream), so those stay 'self'.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self'; connect-src 'self'; worker-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def csp(connect_origin: str | None = None) -> str:
    """CSP, with `connect_origin` (the WebRTC edge's, for its WHIP requests) in connect-src."""
    if not connect_origin:
        return CSP
    return CSP.replace("connect-src 'self';", f"connect-src 'self' {connect_origin};")


HSTS = "max-age=31536000; includeSubDomains"
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Adds HEADERS (with `policy` as the CSP) to every HTTP response, and HSTS when the
    request came over TLS."""

    def __init__(self, app: ASGIApp, policy: str = CSP) -> None:
        self.app = app
        self.headers = {**HEADERS, "content-security-policy": policy}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    out.setdefault(name, value)
                if tls:
                    out.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
