"""Environment variables `LIVEBUS_WEBRTC_*` (docs/configuration.md lists them all)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from livebus.config import CsvList
from livebus.edge.settings import EdgeSettings


class WebRTCSettings(EdgeSettings):
    """Environment variables `LIVEBUS_WEBRTC_*` (the session edge's knobs included: keys, token
    secret, models, limits, admission; the same values as the gateway's in one deployment)."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_WEBRTC_", extra="ignore")
    metrics_prefix: ClassVar[str] = "livebus_webrtc"

    # WHIP signalling over HTTPS (POST /whip, DELETE /whip/<resource>).
    host: str = "127.0.0.1"
    https_port: int = 8643
    cert_file: Path | None = None
    key_file: Path | None = None
    health_port: int = 9500  # /livez, /readyz, /metrics (0: none)
    # Origins whose pages may POST offers from a browser (CORS), e.g. http://127.0.0.1:8080.
    allowed_origins: CsvList = Field(default_factory=list)

    # ICE: the local addresses candidates are gathered on (empty: every interface's, as aioice
    # does), the address announced in their place (a public address in front of the pod's; empty:
    # the local one) and the UDP ports they bind (0 and 0: any ephemeral port).
    ice_addresses: CsvList = Field(default_factory=list)
    ice_announced_address: str = ""
    udp_port_min: int = 0
    udp_port_max: int = 0

    max_sdp_bytes: int = 64 * 1024             # one WHIP offer (413 past it)
    busy_retry_after_s: int = 5                # Retry-After of a 503 when full
    ice_timeout_s: float = 20.0                # the peer connection must connect by then
    request_timeout_s: float = 10.0            # an offer's body must arrive by then (408)

    # Reply audio queued for real-time playback on the return track; past it the oldest goes.
    playback_max_s: float = 120.0
    # Client video: at most this many frames a second are converted and JPEG-encoded (the
    # frame-sampler's top rate), within max_side x max_side.
    video_max_fps: float = 3.0
    video_max_side: int = 512
    video_jpeg_qscale: int = 4  # FFmpeg's MJPEG scale: 2 (best) .. 31; the frame-sampler re-encodes
