"""Gateway metrics (docs/metrics.md). No per-session labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SESSIONS = Gauge("livebus_gateway_sessions", "Client sessions open on this gateway")
CONNECTIONS_REJECTED = Counter("livebus_gateway_connections_rejected_total",
                               "Client connections refused before a session opened", ["reason"])
REJECTED_MESSAGES = Counter("livebus_gateway_sessions_closed_by_error_total",
                            "Sessions the gateway closed because of bad client input", ["reason"])
AUDIO_IN_BYTES = Counter("livebus_gateway_audio_in_bytes_total", "PCM bytes from clients")
AUDIO_OUT_BYTES = Counter("livebus_gateway_audio_out_bytes_total", "PCM bytes to clients")
VIDEO_IN_BYTES = Counter("livebus_gateway_video_in_bytes_total", "Video frame bytes from clients")
TOKENS_MINTED = Counter("livebus_gateway_tokens_minted_total", "Ephemeral tokens issued")
