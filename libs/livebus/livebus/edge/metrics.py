"""An edge service's metrics (docs/metrics.md), named by its prefix: `livebus_gateway_*` for
the WebSocket gateway, another prefix for another edge. No per-session labels.

`of(prefix)` makes the set once per process (a Prometheus name registers once); the session
reads it from its settings' `metrics_prefix`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from livebus import latency

# Name (after the prefix) -> help text; the ones with labels and buckets are made below.
COUNTERS = {
    "audio_in_bytes_total": "PCM bytes from clients",
    "audio_out_bytes_total": "PCM bytes to clients",
    "video_in_bytes_total": "Video frame bytes from clients",
    "held_audio_dropped_bytes_total": "Uplink audio dropped because a move outlasted the hold "
                                      "buffer",
    "client_resumptions_total": "Clients that resumed a session with a livebus handle",
}
NAMES = ("sessions", "connections_rejected_total", "sessions_closed_by_error_total",
         "session_moves_total", "ttfab_seconds", "ttfab_pipeline_seconds", "hop_seconds",
         *COUNTERS)
MOVE_CAUSES = ("bridge_lost", "bridge_drain")


class EdgeMetrics:
    def __init__(self, prefix: str) -> None:
        p = prefix + "_"
        self.prefix = prefix
        self.sessions = Gauge(p + "sessions", "Client sessions open on this edge")
        self.connections_rejected = Counter(
            p + "connections_rejected_total",
            "Client connections refused before a session opened", ["reason"])
        self.rejected_messages = Counter(
            p + "sessions_closed_by_error_total",
            "Sessions the edge closed because of bad client input", ["reason"])
        made = {name: Counter(p + name, text)
                for name, text in COUNTERS.items()}
        self.audio_in_bytes = made["audio_in_bytes_total"]
        self.audio_out_bytes = made["audio_out_bytes_total"]
        self.video_in_bytes = made["video_in_bytes_total"]
        self.held_audio_dropped = made["held_audio_dropped_bytes_total"]
        self.resumptions = made["client_resumptions_total"]
        self.takeovers = Counter(
            p + "session_moves_total",
            "Sessions moved to another bridge, by cause (bridge_lost, bridge_drain)", ["cause"])
        # Latency (libs/livebus/livebus/latency.py has the rules; docs/metrics.md the meanings).
        self.ttfab = Histogram(
            p + "ttfab_seconds",
            "Time to first audio byte: end of the user's turn to the reply's first audio "
            "written to the client, by what ended the turn (speech = VAD, explicit)",
            ["start"], buckets=latency.TTFAB_BUCKETS)
        self.ttfab_pipeline = Histogram(
            p + "ttfab_pipeline_seconds",
            "The pipeline's own share of a TTFAB: TTFAB minus the bridge's upstream part",
            buckets=latency.HOP_BUCKETS)
        self.hop = Histogram(
            p + "hop_seconds",
            "Downlink audio chunk latency per hop: bridge_gateway (bridge publish to edge "
            "receipt), gateway_client (edge receipt to written to the client)",
            ["hop"], buckets=latency.HOP_BUCKETS)
        # Known label values start at 0, so dashboards and alerts see the series before the
        # first event; the hot path's children are looked up once, here.
        self.moves = {cause: self.takeovers.labels(cause) for cause in MOVE_CAUSES}
        self.hop_bridge_edge = self.hop.labels("bridge_gateway")
        self.hop_edge_client = self.hop.labels("gateway_client")
        self.ttfab_by_start = {kind: self.ttfab.labels(kind) for kind in ("speech", "explicit")}


_MADE: dict[str, EdgeMetrics] = {}


def of(prefix: str) -> EdgeMetrics:
    """The one set of metrics for `prefix` in this process."""
    if prefix not in _MADE:
        _MADE[prefix] = EdgeMetrics(prefix)
    return _MADE[prefix]


def names(prefix: str) -> list[str]:
    """Every metric name an edge with `prefix` registers (docs/metrics.md lists them)."""
    return [f"{prefix}_{n}" for n in NAMES]
