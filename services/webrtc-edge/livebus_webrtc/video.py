"""Client video: every frame is decoded (the codec needs it), but only the few that will be sent
are converted and JPEG-encoded. A frame is looked at once `1 / max_fps` has passed since the
last one sent; a thumbnail strided out of its Y plane (no conversion) says whether the scene
moved: moving scenes go at up to max_fps, still ones at the frame-sampler's still rate."""

from __future__ import annotations

import fractions
import time
from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt
from av import VideoFrame

STILL_FPS = 1.0          # the frame-sampler's still cadence
THUMB_CELLS = 32         # about this many samples along the longer side
PIXEL_DELTA = 10         # a cell changed when its luma moved by more
MOTION_FRACTION = 0.004  # the scene moved when this share of the cells changed (the sampler's)
EARLY = 0.25             # of the interval: a frame this early still takes its slot (a sender
                         # capped at max_fps, as the page is, jitters around the slots)

Thumb = npt.NDArray[np.uint8]


def luma_thumb(frame: VideoFrame) -> Thumb:
    """A small grid of the frame's Y plane, read in place (YUV frames; others are converted)."""
    if not frame.format.name.startswith(("yuv", "yuvj", "nv12")):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    step = max(1, max(plane.width, plane.height) // THUMB_CELLS)
    return np.ascontiguousarray(rows[: plane.height : step, : plane.width : step])


def moved(a: Thumb, b: Thumb) -> bool:
    if a.shape != b.shape:
        return True
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return bool(np.count_nonzero(diff > PIXEL_DELTA) > MOTION_FRACTION * diff.size)


def fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size within max_side x max_side keeping the aspect ratio, even (for 4:2:0)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class JpegEncoder:
    """JPEGs within max_side x max_side. One MJPEG encoder is kept while the size stays (opening
    one per frame cost as much as the encoding itself); MJPEG frames are independent."""

    def __init__(self, max_side: int, qscale: int) -> None:
        self.max_side, self.qscale = max_side, qscale
        self._ctx: av.VideoCodecContext | None = None
        self._pts = 0

    def encode(self, frame: VideoFrame) -> bytes:
        width, height = fit(frame.width, frame.height, self.max_side)
        if self._ctx is None or (self._ctx.width, self._ctx.height) != (width, height):
            ctx = av.CodecContext.create("mjpeg", "w")
            assert isinstance(ctx, av.VideoCodecContext)
            ctx.width, ctx.height = width, height
            ctx.pix_fmt = "yuvj420p"
            ctx.time_base = fractions.Fraction(1, 90000)
            ctx.options = {"qmin": str(self.qscale), "qmax": str(self.qscale)}
            self._ctx = ctx
        small = frame.reformat(width=width, height=height, format="yuvj420p")
        small.pts, self._pts = self._pts, self._pts + 1  # the encoder wants them increasing
        return b"".join(bytes(p) for p in self._ctx.encode(small))


class Schedule:
    """Slots `interval` apart: measuring from the last slot rather than the last arrival keeps
    the average rate on target although frames arrive with jitter, and a frame a little early
    takes the next slot (a slot is never taken twice, so the rate stays within 1 / interval)."""

    def __init__(self) -> None:
        self.slot: float | None = None

    def due(self, now: float, interval: float) -> bool:
        return self.slot is None or now + EARLY * interval >= self.slot + interval

    def take(self, now: float, interval: float) -> None:
        due = now if self.slot is None else self.slot + interval
        self.slot = due if now - due < interval else now


class VideoGate:
    """Per session: `offer(frame)` gives the JPEG to publish, or None (most frames)."""

    def __init__(self, max_fps: float = 3.0, max_side: int = 512, qscale: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_interval = 1.0 / max_fps
        self.still_interval = max(self.min_interval, 1.0 / STILL_FPS)
        self.jpeg = JpegEncoder(max_side, qscale)
        self.clock = clock
        self._looks = Schedule()
        self._sends = Schedule()
        self._sent_thumb: Thumb | None = None
        self.looked = 0   # frames whose thumbnail was made
        self.encoded = 0  # frames converted and encoded

    def offer(self, frame: VideoFrame) -> bytes | None:
        now = self.clock()
        if not self._looks.due(now, self.min_interval):
            return None
        self._looks.take(now, self.min_interval)
        thumb = luma_thumb(frame)
        self.looked += 1
        interval = self.min_interval
        if self._sent_thumb is not None and not moved(thumb, self._sent_thumb):
            interval = self.still_interval
        if not self._sends.due(now, interval):
            return None
        self._sends.take(now, interval)
        self._sent_thumb = thumb
        self.encoded += 1
        return self.jpeg.encode(frame)
