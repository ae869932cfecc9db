"""One session's latency accounting at the bridge (docs/metrics.md).

The upstream part of TTFAB starts when the user's turn end goes upstream: the last uplink chunk
the gateway's VAD marked voiced, or an explicit end event; it stops at the reply's first audio.
That first audio carries the part to the gateway (its frame's upstream ns), which subtracts it from
its TTFAB to get the pipeline's own share.
"""

from __future__ import annotations

import time

from google.genai import types
from nats.aio.msg import Msg

from livebus import audioframe, headers, latency
from livebus.v1 import bus_pb2

from . import metrics

_GATEWAY_BRIDGE = metrics.HOP.labels("gateway_bridge")
_BRIDGE_UPSTREAM = metrics.HOP.labels("bridge_upstream")
_SAMPLER_BRIDGE = metrics.HOP.labels("sampler_bridge")
_VIDEO_SLOT = metrics.HOP.labels("video_slot")


class SessionTiming:
    __slots__ = ("clock", "frame", "voiced", "voiced_ns")

    def __init__(self) -> None:
        self.clock = latency.ReplyClock()
        self.voiced: bytes | None = None      # the latest voiced chunk, until it is sent
        self.voiced_ns = 0
        self.frame: tuple[bytes, int, int] | None = None  # (data, received ns, origin ns)

    # -- uplink --------------------------------------------------------------------------------

    def audio_in(self, frame: audioframe.AudioFrame) -> None:
        now = time.time_ns()
        hop = audioframe.since_sent(frame, now)
        if hop is not None:
            _GATEWAY_BRIDGE.observe(hop)
        if frame.voiced:
            self.voiced, self.voiced_ns = frame.pcm, now

    def sent(self, item: bytes | bus_pb2.ClientEvent) -> None:
        """After an uplink item went upstream."""
        if isinstance(item, bytes):
            if item is self.voiced:
                now = time.time_ns()
                _BRIDGE_UPSTREAM.observe((now - self.voiced_ns) / 1e9)
                self.voiced = None
                self.clock.user_end(now)
        elif latency.is_turn_end(item):
            self.clock.user_end(time.time_ns())

    def video_in(self, msg: Msg) -> None:
        now = time.time_ns()
        latency.observe_since(_SAMPLER_BRIDGE, msg.headers, now)
        origin = (msg.headers or {}).get(headers.ORIGIN_NS, "")
        self.frame = (msg.data, now, int(origin) if origin.isdigit() else 0)

    def video_sent(self, data: bytes) -> None:
        metrics.VIDEO_UP_BYTES.inc(len(data))
        frame = self.frame
        if frame is None or frame[0] is not data:
            return
        now = time.time_ns()
        _VIDEO_SLOT.observe((now - frame[1]) / 1e9)
        if frame[2]:
            metrics.VIDEO_AGE.observe(max(0, now - frame[2]) / 1e9)
        self.frame = None

    # -- downlink ------------------------------------------------------------------------------

    def reply_audio(self, now_ns: int) -> int | None:
        """Before a reply audio chunk goes to the gateway: on the reply's first, the ns the
        upstream took since the user's turn ended."""
        elapsed = self.clock.reply_audio(now_ns)
        if elapsed is not None:
            metrics.TTFAB_UPSTREAM.observe(elapsed / 1e9)
        return elapsed

    def after(self, m: types.LiveServerMessage) -> None:
        """After a message's audio went out: a finished or cut reply ends the reply clock."""
        sc = m.server_content
        if sc is not None and (sc.turn_complete or sc.interrupted):
            self.clock.reply_over()
