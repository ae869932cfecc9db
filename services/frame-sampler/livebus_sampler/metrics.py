"""Prometheus metrics (no per-session labels)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("livebus_sampler_frames_received_total",
                   "Raw frames received for sessions this sampler owns")
FOREIGN = Counter("livebus_sampler_frames_foreign_total",
                  "Raw frames seen for sessions another sampler owns (ignored)")
EMITTED = Counter("livebus_sampler_frames_emitted_total",
                  "Frames sent to the model, by why (first, cut, moving, still, upload)",
                  ["reason"])
DROPPED = Counter("livebus_sampler_frames_dropped_total",
                  "Frames not sent, by reason (rate, duplicate, stale, pixel_budget, a bad-frame "
                  "reason, or for stills answered busy: still_replaced, still_queue_full, "
                  "still_expired)",
                  ["reason"])
OUTPUT_BYTES = Counter("livebus_sampler_output_bytes_total", "JPEG bytes sent to the model")
PROCESS_SECONDS = Histogram(
    "livebus_sampler_process_seconds", "Worker time per frame, by outcome (emitted, dropped)",
    ["outcome"], buckets=(0.0005, 0.001, 0.002, 0.004, 0.008, 0.015, 0.03, 0.06, 0.12, 0.25))
SESSIONS = Gauge("livebus_sampler_sessions", "Sessions this sampler currently owns")
MEMBERS = Gauge("livebus_sampler_members", "Live samplers this one sees (itself included)")
HOP_GATEWAY = Histogram("livebus_sampler_hop_seconds",
                        "Raw frame latency per hop: gateway_sampler (gateway publish to receipt)",
                        ["hop"], buckets=(0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
                                          0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          1.0)).labels("gateway_sampler")

# Known label values start at 0, so dashboards and alerts see the series before the first event.
for _reason in ("rate", "duplicate", "stale", "too_many_pixels", "animated", "pixel_budget",
                "still_replaced", "still_queue_full", "still_expired"):
    DROPPED.labels(_reason)
