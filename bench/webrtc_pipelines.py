"""What one WebRTC session does with each decoded frame: livebus's edge, FastRTC-style, decode only.

Each sink gets every frame aiortc decoded (audio: 20 ms of 48 kHz Opus; video: yuv420p) and
counts what it did in the shared `stats` counter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Protocol

import av

from livebus_webrtc.uplink import Chunk, UplinkAudio
from livebus_webrtc.video import VideoGate


class Sink(Protocol):
    inline_audio: bool  # the edge's own audio decoding (livebus_webrtc.uplink.decode_inline)

    def audio(self, frame: object) -> None: ...
    def video(self, frame: object) -> None: ...


class Livebus:
    """The edge's own media path (livebus_webrtc): uplink audio as 16 kHz mono PCM for the bus;
    video through the gate, which converts and JPEG-encodes only the frames it sends."""

    inline_audio = True

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats
        self.uplink = UplinkAudio()
        self.gate = VideoGate()

    def audio(self, frame: object) -> None:
        assert isinstance(frame, Chunk | av.AudioFrame)
        pcm = self.uplink.convert(frame)
        self.stats["audio_frames"] += 1
        self.stats["pcm_bytes"] += len(pcm)

    def video(self, frame: object) -> None:
        assert isinstance(frame, av.VideoFrame)
        self.stats["video_frames"] += 1
        jpeg = self.gate.offer(frame)
        if jpeg is not None:
            self.stats["converted"] += 1
            self.stats["jpeg_bytes"] += len(jpeg)


class FastRTC:
    """A FastRTC-style handler: every audio frame resampled into an array, every video frame
    converted to a full-size BGR array (`to_ndarray(format="bgr24")`), at the full rate."""

    inline_audio = False

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)

    def audio(self, frame: object) -> None:
        assert isinstance(frame, av.AudioFrame)
        for out in self.resampler.resample(frame):
            array = out.to_ndarray()
            self.stats["audio_frames"] += 1
            self.stats["pcm_bytes"] += array.nbytes

    def video(self, frame: object) -> None:
        assert isinstance(frame, av.VideoFrame)
        self.stats["video_frames"] += 1
        array = frame.to_ndarray(format="bgr24")
        self.stats["converted"] += 1
        self.stats["array_bytes"] += array.nbytes


class DecodeOnly:
    """Frames taken from aiortc and dropped: what aiortc's decoding alone costs."""

    inline_audio = False

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats

    def audio(self, frame: object) -> None:
        self.stats["audio_frames"] += 1

    def video(self, frame: object) -> None:
        self.stats["video_frames"] += 1


PIPELINES: dict[str, Callable[[Counter[str]], Sink]] = {
    "livebus": Livebus, "fastrtc": FastRTC, "decode": DecodeOnly}
