"""Client audio from the WebRTC track as the bus's 16 kHz mono PCM16.

aiortc hands every received audio frame to a decoder thread (libopus through FFmpeg, always
48 kHz stereo) and back to the event loop, and the bus wants 16 kHz mono: that path spent half
a session's CPU on the thread hand-offs and the resampler (docs/benchmarks.md). `decode_inline`
replaces it on one receiver: Opus is decoded on the event loop, at 16 kHz mono, by libopus
itself, and the track yields `Chunk`s of PCM. Other codecs (G.722, G.711) and an aiortc whose
internals moved keep aiortc's decoder, whose AudioFrames `UplinkAudio.convert` resamples.

`stamp_packets` tells the push-to-talk gate (activity.py) each packet's RTP timestamp as it
arrives, before the jitter buffer, and stamps each frame leaving it with its own: a Chunk
carries the timestamp of the audio in it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterBuffer
from av import AudioFrame, AudioResampler

from .opus import OpusDecoder

log = logging.getLogger(__name__)

BUS_RATE = 16000
_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"  # aiortc 1.16's (pinned) decoder input
_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"  # and its jitter buffer
_STAMP = "livebus_rtp_timestamp"  # a frame's own RTP timestamp (aiortc rebases `timestamp`)


class Chunk(NamedTuple):
    """Decoded track audio: 16 kHz mono PCM16 LE, and the RTP timestamp of its packet (None
    when the jitter buffer could not be watched)."""

    pcm: bytes
    timestamp: int | None


class UplinkAudio:
    def __init__(self) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=BUS_RATE)

    def convert(self, frame: AudioFrame | Chunk) -> bytes:
        """The frame (any rate, layout, sample format) as 16 kHz mono PCM16 LE; may be empty
        while the resampler fills its filter, never loses what it holds back. A Chunk (from
        `decode_inline`) is that PCM already."""
        if isinstance(frame, Chunk):
            return frame.pcm
        return b"".join(bytes(out.planes[0])[: out.samples * 2]
                        for out in self._resampler.resample(frame))


class InlineDecoder:
    """Stands in for the receiver's decoder queue: `put` (from the event loop, once per
    reassembled frame) decodes at once and queues the PCM on the track; aiortc's decoder
    thread waits in `get` until the receiver stops, then ends the track as it would."""

    def __init__(self, track_queue: Any) -> None:
        self._track_queue = track_queue
        self._opus = OpusDecoder()
        self._other: Any = None        # aiortc's decoder, for a codec other than Opus
        self._uplink: UplinkAudio | None = None
        self._stopped = threading.Event()

    def put(self, task: Any) -> None:
        if task is None:
            self._stopped.set()
            return
        codec, encoded = task
        if codec.name.lower() == "opus":
            pcm = self._opus.decode(encoded.data)
        else:
            pcm = self._decode_other(codec, encoded)
        if pcm:
            self._track_queue.put_nowait(Chunk(pcm, getattr(encoded, _STAMP, None)))

    def _decode_other(self, codec: Any, encoded: Any) -> bytes:
        if self._other is None:
            self._other, self._uplink = get_decoder(codec), UplinkAudio()
        assert self._uplink is not None
        try:
            frames = self._other.decode(encoded)
        except Exception:  # a corrupt frame: aiortc's worker logs and goes on, so do we
            log.debug("audio frame not decoded", exc_info=True)
            return b""
        return b"".join(self._uplink.convert(f) for f in frames)

    def get(self, *_: Any, **__: Any) -> None:
        self._stopped.wait()


class StampingJitterBuffer:
    """Stands in for the receiver's jitter buffer: `on_packet` hears each packet's RTP
    timestamp as it arrives, and each frame given out keeps its own (as `_STAMP`)."""

    def __init__(self, inner: JitterBuffer, on_packet: Callable[[int], None]) -> None:
        self._inner = inner
        self._on_packet = on_packet

    def add(self, packet: Any) -> tuple[bool, Any]:
        self._on_packet(packet.timestamp)
        pli, frame = self._inner.add(packet)
        if frame is not None:
            setattr(frame, _STAMP, frame.timestamp)
        return pli, frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _receiver(pc: RTCPeerConnection, track: MediaStreamTrack) -> Any:
    if track.kind != "audio":
        return None
    return next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)


def stamp_packets(pc: RTCPeerConnection, track: MediaStreamTrack,
                  on_packet: Callable[[int], None]) -> bool:
    """Watch this remote audio track's jitter buffer from now on (call it from the `track`
    event). False when aiortc's internals differ: Chunks then carry no timestamp."""
    receiver = _receiver(pc, track)
    inner = getattr(receiver, _JITTER_ATTR, None) if receiver is not None else None
    if not isinstance(inner, JitterBuffer):
        log.warning("aiortc's receiver is not as expected: no RTP timestamps for the audio")
        return False
    setattr(receiver, _JITTER_ATTR, StampingJitterBuffer(inner, on_packet))
    return True


def decode_inline(pc: RTCPeerConnection, track: MediaStreamTrack) -> bool:
    """Decode this remote audio track's frames on the event loop from now on; call it from
    the `track` event (before its receiver starts). False when aiortc's internals differ."""
    receiver = _receiver(pc, track)
    if receiver is None:
        return False
    track_queue = getattr(receiver.track, "_queue", None)
    if not (isinstance(getattr(receiver, _QUEUE_ATTR, None), queue.Queue)
            and isinstance(track_queue, asyncio.Queue)):
        log.warning("aiortc's receiver is not as expected: audio is decoded by aiortc")
        return False
    setattr(receiver, _QUEUE_ATTR, InlineDecoder(track_queue))
    return True
