"""TTFAB and per-hop latency: where the user's turn ended, when the reply's first audio went out,
and the timestamps carried between services in NATS headers (docs/metrics.md).

TTFAB starts at the latest of: the arrival of the last uplink chunk a voice activity detector
calls voiced, or an explicit end of the turn (activityEnd, audioStreamEnd, a client_content turn
with turnComplete, realtime_input.text). It stops at the first audio of the reply. The gateway
and the bridge each run a ReplyClock with the same start rule, so the gateway's TTFAB minus the
bridge's upstream part is the pipeline's own share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import Histogram

from . import headers
from .v1 import bus_pb2

RATE = 16000
FRAME_BYTES = RATE * 2 * 20 // 1000  # one 20 ms PCM16 frame at 16 kHz

TTFAB_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0,
                 10.0)
HOP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
               0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Vad(Protocol):
    def is_speech(self, buf: memoryview, sample_rate: int) -> bool: ...


class SpeechDetector:
    """Runs a VAD over uplink PCM16 16 kHz in 20 ms frames, carrying partial frames over."""

    __slots__ = ("_rest", "vad")

    def __init__(self, vad: Vad) -> None:
        self.vad = vad
        self._rest = b""

    def voiced(self, pcm: bytes) -> bool:
        """True when any whole 20 ms frame completed by this chunk is speech."""
        buf = self._rest + pcm if self._rest else pcm
        whole = len(buf) - len(buf) % FRAME_BYTES
        self._rest = buf[whole:] if whole < len(buf) else b""
        view = memoryview(buf)
        voiced = False
        for off in range(0, whole, FRAME_BYTES):
            # Every frame goes through the VAD: its decision depends on the frames before.
            if self.vad.is_speech(view[off:off + FRAME_BYTES], RATE):
                voiced = True
        return voiced


class ReplyClock:
    """From the end of the user's turn to the first audio of the reply (time.time_ns values)."""

    __slots__ = ("replying", "start_ns")

    def __init__(self) -> None:
        self.start_ns = 0
        self.replying = False

    def user_end(self, now_ns: int) -> None:
        self.start_ns = now_ns

    def reply_audio(self, now_ns: int) -> int | None:
        """Nanoseconds since the turn ended, for the first audio of a reply (else None)."""
        if self.replying:
            return None
        self.replying = True
        start, self.start_ns = self.start_ns, 0
        return max(0, now_ns - start) if start else None

    def reply_over(self) -> None:
        self.replying = False


def is_turn_end(ev: bus_pb2.ClientEvent) -> bool:
    """An explicit end of the user's turn (control events are rare: parsing JSON here is fine)."""
    kind = ev.WhichOneof("event")
    if kind in ("text", "activity_end", "audio_stream_end"):
        return True
    if kind == "client_content_json":
        try:
            cc = json.loads(ev.client_content_json)
        except ValueError:
            return False
        return isinstance(cc, dict) and bool(cc.get("turnComplete") or cc.get("turn_complete"))
    return False


def ends_reply(message: bytes | str | Mapping[str, object]) -> bool:
    """A server message that ends the model's reply: its serverContent says turnComplete or
    interrupted. Parsed, never substring-matched: the same words in model text or tool
    arguments end nothing."""
    if not isinstance(message, Mapping):
        try:
            message = json.loads(message)
        except (ValueError, RecursionError):
            return False
    if not isinstance(message, Mapping):
        return False
    content = message.get("serverContent", message.get("server_content"))
    if not isinstance(content, Mapping):
        return False
    return any(content.get(k) is True for k in ("turnComplete", "turn_complete", "interrupted"))


def since_ns(hdrs: Mapping[str, str] | None, name: str, now_ns: int) -> int | None:
    """Nanoseconds from a header's time stamp to now (None without a valid stamp)."""
    if not hdrs:
        return None
    value = hdrs.get(name)
    if not value:
        return None
    try:
        return max(0, now_ns - int(value))
    except ValueError:
        return None


def observe_since(hist: Histogram, hdrs: Mapping[str, str] | None, now_ns: int,
                  name: str = headers.SENT_NS) -> None:
    elapsed = since_ns(hdrs, name, now_ns)
    if elapsed is not None:
        hist.observe(elapsed / 1e9)
