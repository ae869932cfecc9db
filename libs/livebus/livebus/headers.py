"""NATS header names that carry media metadata (media payloads are raw bytes)."""

from __future__ import annotations

SEQ = "Livebus-Seq"          # per-session, per-direction sequence number of a media message
MIME = "Livebus-Mime"        # e.g. "audio/pcm;rate=24000", "image/jpeg"
SENT_NS = "Livebus-Sent-Ns"  # time.time_ns() when the previous hop published it
ERROR = "Livebus-Error"      # why a request/reply failed (the payload is then empty)
STILL = "Livebus-Still"      # "1": a still image the user uploaded (downsized, never rate-dropped)
VOICED = "Livebus-Voiced"    # "1": the gateway's VAD heard speech in this uplink audio chunk
ORIGIN_NS = "Livebus-Origin-Ns"  # time.time_ns() when the gateway received it from the client
UPSTREAM_NS = "Livebus-Upstream-Ns"  # on a reply's first audio: ns the upstream took (TTFAB part)
SESSION = "Livebus-Session"  # on a request: the session it is for (per-session limits there)
