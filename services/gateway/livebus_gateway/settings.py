from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from livebus import turn
from livebus.config import CsvList, secret_value
from livebus.edge.settings import EdgeSettings

_NETLOC = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class GatewaySettings(EdgeSettings):
    """Environment variables `LIVEBUS_GATEWAY_*`: the edge's (livebus.edge.settings) and the
    WebSocket/HTTP surface's."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_GATEWAY_", extra="ignore")
    metrics_prefix: ClassVar[str] = "livebus_gateway"

    host: str = "127.0.0.1"
    https_port: int = 8443   # TLS, for SDK clients (they always use wss://)
    http_port: int = 8080    # plain HTTP, loopback only, for the browser page
    cert_file: Path | None = None
    key_file: Path | None = None
    ws_compression: bool = False  # permessage-deflate towards clients
    # Hand the page served on the loopback HTTP port a token without a server key (make run).
    dev_tokens: bool = False
    # The WebRTC edge's WHIP endpoint the page may use (GET /config's `webrtc.whip`; its origin
    # is added to the page's CSP connect-src): https://host[:port]/whip, or a path on the page's
    # own origin. Empty: no WebRTC on the page. The edge must list the page's origin in
    # LIVEBUS_WEBRTC_ALLOWED_ORIGINS.
    webrtc_whip_url: str = ""
    # ICE servers for WebRTC clients: stun: URLs go to the page in GET /config; turn:/turns: URLs
    # come with a credential minted per token (every token response's `livebus.iceServers`,
    # coturn's use-auth-secret with this shared secret), valid turn_ttl_s. No secret: no TURN.
    ice_urls: CsvList = Field(default_factory=list)
    turn_secret: str = ""
    turn_secret_file: Path | None = None
    turn_ttl_s: float = 6 * 3600.0

    # -- Admission and the HTTP surface (G1). -------------------------------------------------
    # /livez, /readyz and /metrics on health_host:health_port; /metrics never on the public
    # ports (/livez and /readyz are on both). 0: no internal server.
    health_port: int = 9090
    # Per listening port: open connections (WebSockets included); past it a new one is dropped.
    max_connections: int = 2000
    max_header_bytes: int = 64 * 1024  # request line + headers (400 past it)
    max_headers: int = 100             # header lines (431 past it)
    handshake_timeout_s: float = 10.0  # a connection must send its request headers by then
    idle_timeout_s: float = 5.0        # an idle keep-alive HTTP connection is closed after it
    request_timeout_s: float = 10.0    # a request's body must arrive by then (408 past it)
    # The top users by tokens today, as a gauge for the dashboard (usage.py); 0 users: off.
    usage_top_users: int = 10
    usage_top_refresh_s: float = 15.0

    @field_validator("webrtc_whip_url")
    @classmethod
    def _whip_url(cls, v: str) -> str:
        if not v or (v.startswith("/") and not v.startswith("//")):
            return v
        u = urlsplit(v)
        # The origin goes into the CSP header as is: host and port characters only.
        if u.scheme != "https" or not _NETLOC.fullmatch(u.netloc) or u.fragment \
                or any(c.isspace() for c in v):
            raise ValueError("an https:// URL (host, port, path; no credentials), or a path")
        return v

    @field_validator("ice_urls")
    @classmethod
    def _ice_urls(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not turn.valid_url(u)]
        if bad:
            raise ValueError("stun:, turn: or turns: URLs only")
        return v

    def ice_servers(self, label: str) -> list[dict[str, Any]]:
        """What a client holding a credential labelled `label` may use (STUN, minted TURN)."""
        secret = secret_value(self.turn_secret, self.turn_secret_file)
        return turn.ice_servers(self.ice_urls, secret, label, self.turn_ttl_s)

    def whip_origin(self) -> str | None:
        """The WHIP endpoint's origin when it is not the page's own (None: none, or a path)."""
        if not self.webrtc_whip_url.startswith("https://"):
            return None
        return "https://" + urlsplit(self.webrtc_whip_url).netloc.lower()
