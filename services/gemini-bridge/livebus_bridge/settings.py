from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from livebus.config import CsvList, ServiceSettings


class BridgeSettings(ServiceSettings):
    """Environment variables `LIVEBUS_BRIDGE_*`."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_BRIDGE_", extra="ignore")

    health_port: int = 9100
    capacity: int = 100            # live sessions this bridge accepts
    idle_timeout_s: float = 600.0  # no uplink at all for this long: the gateway is gone
    uplink_buffer_s: float = 30.0  # uplink audio held while an upstream connection is replaced
    goaway_margin_s: float = 5.0   # switch this long before a goAway's deadline at the latest
    reconnect_base_s: float = 0.1  # first backoff step (jittered, doubling)
    reconnect_max_s: float = 2.0
    reconnect_deadline_s: float = 30.0  # give up and close the client after this long
    context_loss_ratio: float = 0.5     # resumed prompt tokens below this share: context lost
    shadow_max_age_s: float = 7 * 86400.0
    lease_ttl_s: float = 1.0          # a dead bridge's sessions are free this long after it died
    heartbeat_interval_s: float = 0.1  # how often the bridge tells gateways it is alive
    takeover_wait_s: float = 3.0      # how long a takeover waits for the old lease to expire
    session_record_ttl_s: float = 7200.0  # resumable this long after the last activity
    # On SIGTERM: stop taking sessions, fail readiness, let live ones finish for at most this.
    drain_deadline_s: float = 25.0
    # Without compression Google ends audio+video sessions after 2 minutes: unless the client
    # configured it, every session gets a sliding window (any session may turn its camera on).
    default_compression: bool = True
    compression_trigger_tokens: int = 25600
    compression_target_tokens: int = 12800
    tools: CsvList = Field(default_factory=list)  # server tools offered; empty: all served
    upstream_ws_compression: bool = False  # permessage-deflate towards Gemini
    # Uploaded images (clientContent inlineData image/*), per session: stills waiting for a
    # downsize (past it the oldest becomes a text note), images and bytes accepted per minute
    # (past it: a text note), and how long one downsize may take (then: sent as it is).
    stills_max_pending: int = 4
    stills_per_minute: int = 30
    still_bytes_per_minute: int = 16 * 1024 * 1024
    still_timeout_s: float = 2.0
    # Control events held while a connection is replaced: past this many bytes the oldest
    # pending uploaded images become text notes (control events themselves are never dropped).
    uplink_control_buffer_bytes: int = 16 * 1024 * 1024
    # Usage (docs/metrics.md): each session's totals go to KV this often; kept this many days.
    usage_flush_interval_s: float = 2.0
    usage_retention_days: float = 40.0
    # Quotas per credential (quota.py, docs/security.md); 0 = off. Checked every interval.
    quota_tokens_per_day: int = 0
    quota_minutes_per_day: float = 0.0
    quota_concurrent_sessions: int = 0
    quota_warn_ratio: float = 0.8
    quota_check_interval_s: float = 2.0
    # Turn detection (activity.py): "local" = the bridge's voice activity detector sends
    # activityStart/activityEnd, no silence goes upstream, and the client gets voiceActivity
    # from the bridge; "server" = the upstream's automatic detection. A session may choose
    # either (OpenSession.turn_detection); a client that disabled automatic detection itself
    # is passed through. A client's silenceDurationMs and prefixPaddingMs replace
    # vad_silence_ms and vad_onset_ms.
    turn_detection: Literal["local", "server"] = "local"
    vad_prefix_ms: int = 300      # audio before the onset sent with the turn
    vad_onset_ms: int = 40        # voiced audio that starts a turn
    vad_silence_ms: int = 500     # quiet that ends a turn (the emulator's default too)
    vad_tail_ms: int = 200        # quiet after speech streamed at once; longer pauses held
    vad_floor_rms: float = 0.005  # quieter frames (share of full scale) are never speech
    # generationConfig.mediaResolution when the client set none (video frames at low resolution
    # cost a quarter of the image tokens); "" leaves it to the model's default.
    default_media_resolution: Literal["", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM",
                                      "MEDIA_RESOLUTION_HIGH"] = "MEDIA_RESOLUTION_LOW"


class UpstreamSettings(BaseSettings):
    """The Gemini Live endpoint. Unprefixed names, as Google's tools use them.

    The key lives only in the bridge's environment: it is never sent on the bus or logged.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    gemini_api_key: str = ""
    gemini_base_url: str | None = None   # None: Google's endpoint
    gemini_ca_file: Path | None = None   # extra CA to trust (the emulator's)
    gemini_api_version: str = "v1beta"
