"""WebRTC edge metrics (docs/metrics.md). No per-session labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PEERS = Gauge("livebus_webrtc_peers", "WebRTC peer connections open on this edge")
WHIP_REQUESTS = Counter("livebus_webrtc_whip_requests_total",
                        "WHIP offers answered, by HTTP status", ["status"])
VIDEO_FRAMES = Counter("livebus_webrtc_video_frames_total",
                       "Client video frames decoded, by what became of them (dropped, encoded)",
                       ["outcome"])
GATED_SECONDS = Counter("livebus_webrtc_gated_audio_seconds_total",
                        "Track audio not sent upstream, by why: outside every activity of a "
                        "push-to-talk session (ptt), silence after audioStreamEnd (paused)",
                        ["reason"])
PLAYBACK_FLUSHED_BYTES = Counter("livebus_webrtc_playback_flushed_bytes_total",
                                 "Reply PCM bytes dropped from playback queues on interrupted")

for _status in ("201", "400", "401", "413", "415", "429", "503"):
    WHIP_REQUESTS.labels(_status)
for _outcome in ("dropped", "encoded"):
    VIDEO_FRAMES.labels(_outcome)
for _reason in ("ptt", "paused"):
    GATED_SECONDS.labels(_reason)
