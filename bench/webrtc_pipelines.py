"""What one WebRTC session does with each decoded frame: livebus's edge, FastRTC-style, decode only.

Each sink gets every frame aiortc decoded (audio: 20 ms of 48 kHz Opus; video: yuv420p) and
counts what it did in the shared `stats` counter.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

import av
import cv2

VIDEO_MAX_SIDE = 512
JPEG_QUALITY = 80
SAMPLE_INTERVAL_S = 0.5   # the adaptive policy's rate while the scene moves (1-3 fps)


class Sink(Protocol):
    def audio(self, frame: object) -> None: ...
    def video(self, frame: object) -> None: ...


def within(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


class Livebus:
    """The edge's path: 16 kHz mono PCM for the bus; video converted and JPEG-encoded only
    when a frame is due."""

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        self.next_sample = 0.0

    def audio(self, frame: object) -> None:
        assert isinstance(frame, av.AudioFrame)
        for out in self.resampler.resample(frame):
            pcm = bytes(out.planes[0])[: out.samples * 2]
            self.stats["audio_frames"] += 1
            self.stats["pcm_bytes"] += len(pcm)

    def video(self, frame: object) -> None:
        assert isinstance(frame, av.VideoFrame)
        self.stats["video_frames"] += 1
        now = time.monotonic()
        if now < self.next_sample:
            return
        self.next_sample = now + SAMPLE_INTERVAL_S
        width, height = within(frame.width, frame.height, VIDEO_MAX_SIDE)
        image = frame.to_ndarray(format="bgr24", width=width, height=height)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        assert ok
        self.stats["converted"] += 1
        self.stats["jpeg_bytes"] += len(jpeg)


class FastRTC:
    """A FastRTC-style handler: every audio frame resampled into an array, every video frame
    converted to a full-size BGR array (`to_ndarray(format="bgr24")`), at the full rate."""

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
    """Frames taken from aiortc and dropped: what decoding alone costs."""

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats

    def audio(self, frame: object) -> None:
        self.stats["audio_frames"] += 1

    def video(self, frame: object) -> None:
        self.stats["video_frames"] += 1


PIPELINES: dict[str, Callable[[Counter[str]], Sink]] = {
    "livebus": Livebus, "fastrtc": FastRTC, "decode": DecodeOnly}
