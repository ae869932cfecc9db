"""Client audio from the WebRTC track as the bus's 16 kHz mono PCM16.

aiortc hands every received audio frame to a decoder thread (libopus through FFmpeg, always
48 kHz stereo) and back to the event loop, and the bus wants 16 kHz mono: that path spent half
a session's CPU on the thread hand-offs and the resampler (docs/benchmarks.md). `decode_inline`
replaces it on one receiver: Opus is decoded on the event loop, at 16 kHz mono, by libopus
itself, and the track yields PCM bytes. Other codecs (G.722, G.711) and an aiortc whose
internals moved keep aiortc's decoder, whose AudioFrames `UplinkAudio.convert` resamples.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.codecs import get_decoder
from av import AudioFrame, AudioResampler

from .opus import OpusDecoder

log = logging.getLogger(__name__)

BUS_RATE = 16000
_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"  # aiortc 1.16's (pinned) decoder input


class UplinkAudio:
    def __init__(self) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=BUS_RATE)

    def convert(self, frame: AudioFrame | bytes) -> bytes:
        """The frame (any rate, layout, sample format) as 16 kHz mono PCM16 LE; may be empty
        while the resampler fills its filter, never loses what it holds back. Bytes (from
        `decode_inline`) are that PCM already."""
        if isinstance(frame, bytes):
            return frame
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
            self._track_queue.put_nowait(pcm)

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


def decode_inline(pc: RTCPeerConnection, track: MediaStreamTrack) -> bool:
    """Decode this remote audio track's frames on the event loop from now on; call it from
    the `track` event (before its receiver starts). False when aiortc's internals differ."""
    receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track),
                    None)
    if receiver is None or track.kind != "audio":
        return False
    track_queue = getattr(receiver.track, "_queue", None)
    if not (isinstance(getattr(receiver, _QUEUE_ATTR, None), queue.Queue)
            and isinstance(track_queue, asyncio.Queue)):
        log.warning("aiortc's receiver is not as expected: audio is decoded by aiortc")
        return False
    setattr(receiver, _QUEUE_ATTR, InlineDecoder(track_queue))
    return True
