"""Gateway metrics (docs/metrics.md). No per-session labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from livebus import latency

SESSIONS = Gauge("livebus_gateway_sessions", "Client sessions open on this gateway")
CONNECTIONS_REJECTED = Counter("livebus_gateway_connections_rejected_total",
                               "Client connections refused before a session opened", ["reason"])
REJECTED_MESSAGES = Counter("livebus_gateway_sessions_closed_by_error_total",
                            "Sessions the gateway closed because of bad client input", ["reason"])
AUDIO_IN_BYTES = Counter("livebus_gateway_audio_in_bytes_total", "PCM bytes from clients")
AUDIO_OUT_BYTES = Counter("livebus_gateway_audio_out_bytes_total", "PCM bytes to clients")
VIDEO_IN_BYTES = Counter("livebus_gateway_video_in_bytes_total", "Video frame bytes from clients")
TOP_USER_TOKENS = Gauge("livebus_gateway_usage_top_user_tokens",
                        "Tokens today (UTC) of the LIVEBUS_GATEWAY_USAGE_TOP_USERS users who used "
                        "most, from the usage records in KV (at most that many series)", ["user"])
TOKENS_MINTED = Counter("livebus_gateway_tokens_minted_total", "Ephemeral tokens issued")
TAKEOVERS = Counter("livebus_gateway_session_moves_total",
                    "Sessions moved to another bridge, by cause (bridge_lost, bridge_drain)",
                    ["cause"])
HELD_AUDIO_DROPPED = Counter("livebus_gateway_held_audio_dropped_bytes_total",
                             "Uplink audio dropped because a move outlasted the hold buffer")

# Latency (libs/livebus/livebus/latency.py has the rules; docs/metrics.md the meanings).
TTFAB = Histogram("livebus_gateway_ttfab_seconds",
                  "Time to first audio byte: end of the user's turn to the reply's first audio "
                  "written to the client, by what ended the turn (speech = VAD, explicit)",
                  ["start"], buckets=latency.TTFAB_BUCKETS)
TTFAB_PIPELINE = Histogram("livebus_gateway_ttfab_pipeline_seconds",
                           "The pipeline's own share of a TTFAB: TTFAB minus the bridge's "
                           "upstream part", buckets=latency.HOP_BUCKETS)
HOP = Histogram("livebus_gateway_hop_seconds",
                "Downlink audio chunk latency per hop: bridge_gateway (bridge publish to gateway "
                "receipt), gateway_client (gateway receipt to written to the client)",
                ["hop"], buckets=latency.HOP_BUCKETS)
RESUMPTIONS = Counter("livebus_gateway_client_resumptions_total",
                      "Clients that resumed a session with a livebus handle")

# Known label values start at 0, so dashboards and alerts see the series before the first event.
for _cause in ("bridge_lost", "bridge_drain"):
    TAKEOVERS.labels(_cause)
