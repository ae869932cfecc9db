"""Bridge metrics (docs/metrics.md). No per-session labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from livebus import latency, usage

ACTIVE_SESSIONS = Gauge("livebus_bridge_active_sessions",
                        "Upstream sessions held by this bridge (the autoscaling signal)")
CAPACITY = Gauge("livebus_bridge_capacity", "Sessions this bridge accepts at most")
OPENS = Counter("livebus_bridge_session_opens_total", "Open requests by result", ["result"])
UPSTREAM_CLOSES = Counter("livebus_bridge_upstream_closes_total",
                          "Upstream connections that ended, by close code", ["code"])
AUDIO_UP_BYTES = Counter("livebus_bridge_audio_up_bytes_total", "PCM bytes sent upstream")
AUDIO_DOWN_BYTES = Counter("livebus_bridge_audio_down_bytes_total", "PCM bytes from upstream")
FRAMES_UP = Counter("livebus_bridge_frames_up_total", "Video frames sent upstream")
FRAMES_REPLACED = Counter("livebus_bridge_frames_replaced_total",
                          "Frames dropped because a newer one arrived before sending")
UPLINK_DROPPED_BYTES = Counter("livebus_bridge_uplink_dropped_bytes_total",
                               "Uplink audio dropped because a switch outlasted the buffer")
RECONNECTS = Counter("livebus_bridge_reconnects_total",
                     "Upstream connections replaced, by cause (goaway, drop, context_lost)",
                     ["cause"])
HANDOFF_SECONDS = Histogram("livebus_bridge_handoff_seconds",
                            "From closing one upstream connection to the next one ready",
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
REBUILDS = Counter("livebus_bridge_rebuilds_total",
                   "Fresh upstream sessions rebuilt from the shadow log, by reason", ["reason"])
CONTEXT_LOSS = Counter("livebus_bridge_context_loss_total",
                       "Resumed sessions whose prompt token count collapsed")
TURNS_CUT = Counter("livebus_bridge_turns_cut_total",
                    "Replies ended early because the upstream connection went away mid-turn",
                    ["cause"])
TOOL_CALLS = Counter("livebus_bridge_tool_calls_total",
                     "Server-side tool calls by tool and outcome (ok or an error code)",
                     ["tool", "outcome"])
TOOL_SECONDS = Histogram("livebus_bridge_tool_seconds", "Server-side tool call latency",
                         ["tool"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
STILLS_DROPPED = Counter("livebus_bridge_stills_dropped_total",
                         "Uploaded images not downsized, by why: queue_full and budget (left "
                         "out, a text note instead), timeout (sent as they were)", ["reason"])
AUDIO_HELD_BYTES = Counter("livebus_bridge_audio_held_bytes_total",
                           "Uplink audio not sent upstream: nobody spoke (local turn detection)")
TURN_DETECTION = Counter("livebus_bridge_turn_detection_total",
                         "Sessions by who detects the user's turns (local, server, client)",
                         ["mode"])
BAD_CLIENT_MESSAGES = Counter("livebus_bridge_bad_client_messages_total",
                              "Client control messages the upstream could not take, dropped")

# Latency and usage (libs/livebus/livebus/latency.py has the rules; docs/metrics.md the meanings).
TTFAB_UPSTREAM = Histogram("livebus_bridge_ttfab_upstream_seconds",
                           "The upstream's part of TTFAB: the user's turn end sent upstream to the "
                           "reply's first audio received from it", buckets=latency.TTFAB_BUCKETS)
HOP = Histogram("livebus_bridge_hop_seconds",
                "Latency per hop: gateway_bridge (uplink audio, gateway publish to bridge "
                "receipt), bridge_upstream (uplink audio, receipt to sent upstream), "
                "sampler_bridge (video), video_slot (video, receipt to sent upstream)",
                ["hop"], buckets=latency.HOP_BUCKETS)
VIDEO_AGE = Histogram("livebus_bridge_video_age_seconds",
                      "Age of a frame sent upstream, from the gateway receiving it",
                      buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5))
VIDEO_UP_BYTES = Counter("livebus_bridge_video_up_bytes_total", "Video frame bytes sent upstream")
TOKENS = Counter("livebus_bridge_tokens_total",
                 "Tokens the upstream reported in usageMetadata, by direction (prompt, response, "
                 "cached, thoughts, tool_use) and modality (text, audio, image, video, document, "
                 "other)", ["direction", "modality"])
SESSION_SECONDS = Counter("livebus_bridge_session_seconds_total",
                          "Conversation time of the sessions held (the cost per minute divisor)")

# Known label values start at 0, so dashboards and alerts see the series before the first event.
for _cause in ("goaway", "drop", "context_lost", "takeover"):
    RECONNECTS.labels(_cause)
    REBUILDS.labels(_cause)
for _direction in usage.DIRECTIONS:
    for _modality in usage.MODALITIES:
        TOKENS.labels(_direction, _modality)
for _mode in ("local", "server", "client"):
    TURN_DETECTION.labels(_mode)
for _reason in ("queue_full", "budget", "timeout"):
    STILLS_DROPPED.labels(_reason)
TRANSLATIONS = Counter("livebus_bridge_translations_total",
                       "Client shapes the session's model refuses, sent in the form it accepts",
                       ["kind"])
