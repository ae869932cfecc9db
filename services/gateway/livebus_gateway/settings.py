from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from livebus.config import CsvList, ServiceSettings


class GatewaySettings(ServiceSettings):
    """Environment variables `LIVEBUS_GATEWAY_*`."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    https_port: int = 8443   # TLS, for SDK clients (they always use wss://)
    http_port: int = 8080    # plain HTTP, loopback only, for the browser page
    cert_file: Path | None = None
    key_file: Path | None = None

    # Server keys: may open sessions directly and mint ephemeral tokens.
    api_keys: CsvList = Field(default_factory=list)
    api_key_file: Path | None = None
    # HMAC key signing ephemeral tokens; every gateway replica must share it.
    token_secret: str = ""
    token_secret_file: Path | None = None

    allowed_models: CsvList = Field(
        default_factory=lambda: [
            "models/gemini-live-2.5-flash-preview",
            "models/gemini-2.5-flash-native-audio-preview-09-2025",
            "models/gemini-2.0-flash-live-001",
        ]
    )
    max_message_bytes: int = 4 * 1024 * 1024   # one client frame
    # One decoded video frame; it must fit a NATS message (1 MiB by default) with its headers.
    max_frame_bytes: int = 960 * 1024
    max_messages_per_second: float = 200.0     # per session, sustained
    burst_messages: int = 400
    setup_timeout_s: float = 10.0
    open_timeout_s: float = 20.0               # waiting for a bridge + upstream setup
    open_attempts: int = 3
    resume_grace_s: float = 7200.0     # a client may resume its session this long after
    bridge_silence_s: float = 0.6      # a bridge silent this long is gone: move its sessions
    takeover_deadline_s: float = 15.0  # give up moving a session after this long (close 1011)
    hold_audio_bytes: int = 30 * 32000  # uplink audio held while a session moves (30 s)
    max_sessions: int = 1000
    ws_compression: bool = False  # permessage-deflate towards clients
    # Hand the page served on the loopback HTTP port a token without a server key (make run).
    dev_tokens: bool = False

    def server_keys(self) -> list[str]:
        keys = list(self.api_keys)
        if self.api_key_file and self.api_key_file.exists():
            keys += [k.strip() for k in self.api_key_file.read_text().splitlines() if k.strip()]
        return keys

    def signing_secret(self) -> str:
        if self.token_secret:
            return self.token_secret
        if self.token_secret_file and self.token_secret_file.exists():
            return self.token_secret_file.read_text().strip()
        raise ValueError("set LIVEBUS_GATEWAY_TOKEN_SECRET or LIVEBUS_GATEWAY_TOKEN_SECRET_FILE")
