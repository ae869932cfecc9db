"""One session's TTFAB clock at the edge: VAD on the uplink, the reply's first audio out."""

from __future__ import annotations

import time

import webrtcvad

from livebus import audioframe, latency

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

    def marks_voiced(self, pcm: bytes) -> bool:
        """The bridge starts its upstream clock when it sends the chunk this marks."""
        return pcm is self.last_voiced

    def audio_sent(self, frame: audioframe.AudioFrame, received_ns: int) -> None:
        """After a downlink audio chunk was written to the client."""
        now = time.time_ns()
        m = self.metrics
        hop = audioframe.since_sent(frame, received_ns)
        if hop is not None:
            m.hop_bridge_edge.observe(hop)
        m.hop_edge_client.observe((now - received_ns) / 1e9)
        elapsed = self.clock.reply_audio(now)
        if elapsed is None:
            return
        m.ttfab_by_start[self.start].observe(elapsed / 1e9)
        if frame.upstream_ns:
            m.ttfab_pipeline.observe(max(0, elapsed - frame.upstream_ns) / 1e9)

    def reply_over(self) -> None:
        """The model's reply ended (turnComplete or interrupted, as wire.server_message parsed)."""
        self.clock.reply_over()
