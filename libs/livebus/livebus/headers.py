"""NATS header names that carry media metadata (media payloads are raw bytes)."""

from __future__ import annotations

SEQ = "Livebus-Seq"          # per-session, per-direction sequence number of a media message
MIME = "Livebus-Mime"        # e.g. "audio/pcm;rate=24000", "image/jpeg"
SENT_NS = "Livebus-Sent-Ns"  # time.time_ns() when the previous hop published it
STILL = "Livebus-Still"      # "1": a still image the user uploaded (downsized, never rate-dropped)
