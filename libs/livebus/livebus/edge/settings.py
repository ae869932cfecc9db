"""The knobs of the session edge: credentials, the setup, what a session may cost, moves.

Each edge service subclasses EdgeSettings with its own env prefix (the gateway's is
`LIVEBUS_GATEWAY_`) and `metrics_prefix`. Edges that share a deployment give every one the same
token secret and server keys, so a token minted by one opens a session on any.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from livebus import models
from livebus.config import CsvList, ServiceSettings, secret_value


class EdgeSettings(ServiceSettings):
    """Environment variables `<prefix>*`; the subclass names the prefix."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_EDGE_", extra="ignore")
    # The service's metric names start with this (livebus.edge.metrics); not an env variable.
    metrics_prefix: ClassVar[str] = "livebus_edge"

    # Server keys: may open sessions directly and mint ephemeral tokens.
    api_keys: CsvList = Field(default_factory=list)
    api_key_file: Path | None = None
    # HMAC key signing ephemeral tokens; every gateway replica must share it.
    token_secret: str = ""
    token_secret_file: Path | None = None

    # Every model in the capability table (livebus.models), current Live models included.
    allowed_models: CsvList = Field(default_factory=models.known_models)
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

    # -- Per-session runtime (G2): what a session may cost, and how long it may live. ------
    # Per session, sustained per second and burst (1008 "rate limit exceeded: ..." past either).
    max_chunks_per_message: int = 32              # media chunks in one realtime_input message
    max_chunks_per_second: float = 200.0          # audio + video chunks
    burst_chunks: int = 400
    max_uplink_bytes_per_second: float = 4 * 1024 * 1024  # client frame bytes as received
    burst_uplink_bytes: int = 16 * 1024 * 1024
    max_publishes_per_second: float = 250.0       # NATS publishes the session causes
    burst_publishes: int = 500
    # Per credential (grant.user: a token's user, or one server key's identity), per replica.
    credential_messages_per_second: float = 20000.0
    credential_burst_messages: int = 40000
    credential_chunks_per_second: float = 20000.0
    credential_burst_chunks: int = 40000
    credential_uplink_bytes_per_second: float = 64 * 1024 * 1024
    credential_burst_uplink_bytes: int = 128 * 1024 * 1024
    credential_publishes_per_second: float = 25000.0
    credential_burst_publishes: int = 50000
    # One client connection lives at most this long (1008 "maximum session duration reached").
    max_session_s: float = 4 * 3600.0

    # Concurrent sessions on this replica: max_sessions in all, this many per credential (a
    # server key, a token's user); past either, 1013 and /readyz says not ready (in all).
    max_sessions_per_user: int = 20

    def server_keys(self) -> list[str]:
        keys = list(self.api_keys)
        if self.api_key_file and self.api_key_file.exists():
            keys += [k.strip() for k in self.api_key_file.read_text().splitlines() if k.strip()]
        return keys

    def signing_secret(self) -> str:
        secret = secret_value(self.token_secret, self.token_secret_file)
        if secret:
            return secret
        prefix = str(self.model_config.get("env_prefix", ""))
        raise ValueError(f"set {prefix}TOKEN_SECRET or {prefix}TOKEN_SECRET_FILE")
