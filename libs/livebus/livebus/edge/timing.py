"""One session's TTFAB clock at the edge: VAD on the uplink, the reply's first audio out."""

from __future__ import annotations

import time
from collections.abc import Mapping

import webrtcvad

from livebus import headers, latency

from . import wire
from .metrics import EdgeMetrics

VAD_MODE = 3  # the most aggressive mode: its hangover after speech is the shortest (~60-80 ms)



class SessionTiming:
    __slots__ = ("clock", "last_voiced", "metrics", "speech", "start")

    def __init__(self, metrics: EdgeMetrics) -> None:
        self.metrics = metrics
        self.speech = latency.SpeechDetector(webrtcvad.Vad(VAD_MODE))
        self.clock = latency.ReplyClock()
        self.start = "speech"
        self.last_voiced: bytes | None = None

    def client_action(self, action: wire.Action) -> None:
        """Each client action once, as it arrives (held or replayed ones are not seen again)."""
        if isinstance(action, wire.Audio):
            if self.speech.voiced(action.pcm):
                self.clock.user_end(time.time_ns())
                self.start = "speech"
                self.last_voiced = action.pcm
        elif isinstance(action, wire.Control) and latency.is_turn_end(action.event):
            self.clock.user_end(time.time_ns())
            self.start = "explicit"

    def audio_headers(self, seq: int, pcm: bytes) -> dict[str, str]:
        hdrs = {headers.SEQ: str(seq), headers.SENT_NS: str(time.time_ns())}
        if pcm is self.last_voiced:  # the bridge starts its upstream clock when it sends this
            hdrs[headers.VOICED] = "1"
        return hdrs

    def audio_sent(self, hdrs: Mapping[str, str] | None, received_ns: int) -> None:
        """After a downlink audio chunk was written to the client."""
        now = time.time_ns()
        m = self.metrics
        latency.observe_since(m.hop_bridge_edge, hdrs, received_ns)
        m.hop_edge_client.observe((now - received_ns) / 1e9)
        elapsed = self.clock.reply_audio(now)
        if elapsed is None:
            return
        m.ttfab_by_start[self.start].observe(elapsed / 1e9)
        upstream = (hdrs or {}).get(headers.UPSTREAM_NS)
        if upstream and upstream.isdigit():
            m.ttfab_pipeline.observe(max(0, elapsed - int(upstream)) / 1e9)

    def reply_over(self) -> None:
        """The model's reply ended (turnComplete or interrupted, as wire.server_message parsed)."""
        self.clock.reply_over()
