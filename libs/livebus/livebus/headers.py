"""NATS header names that carry media metadata on video and requests (audio frames carry
theirs in a binary prefix: livebus.audioframe)."""

from __future__ import annotations

MIME = "Livebus-Mime"        # e.g. "audio/pcm;rate=24000", "image/jpeg"
SENT_NS = "Livebus-Sent-Ns"  # time.time_ns() when the previous hop published it
ERROR = "Livebus-Error"      # why a request/reply failed (the payload is then empty)
STILL = "Livebus-Still"      # "1": a still image the user uploaded (downsized, never rate-dropped)
ORIGIN_NS = "Livebus-Origin-Ns"  # time.time_ns() when the gateway received it from the client
SESSION = "Livebus-Session"  # on a request: the session it is for (per-session limits there)
