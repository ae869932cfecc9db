"""Reply audio for the return track: PCM from the bus queued in a server-side buffer and handed
to aiortc's Opus encoder in 20 ms frames paced by the wall clock, silence when there is none.
`flush()` (on `interrupted`) empties the buffer at once, so playback stops after the frames
already sent: one frame here plus the browser's jitter buffer."""

from __future__ import annotations

import asyncio
import fractions
import time

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler

REPLY_RATE = 24000  # what Gemini Live replies in
PTIME_S = 0.020
_LATE_S = 0.1  # a consumer this far behind the clock restarts it instead of catching up


class ReplyTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, max_s: float = 120.0, rate: int = REPLY_RATE) -> None:
        super().__init__()
        self.rate = rate
        self._samples = int(rate * PTIME_S)
        self._max_bytes = int(max_s * rate) * 2
        self._buf = bytearray()
        self._resamplers: dict[int, AudioResampler] = {}
        self._start: float | None = None
        self._pts = 0
        self.dropped_bytes = 0  # past max_s (oldest first)

    def push(self, pcm: bytes, rate: int = REPLY_RATE) -> None:
        """Queue PCM16 LE mono at `rate` behind what is queued."""
        if rate != self.rate:
            pcm = self._resample(pcm, rate)
        self._buf += pcm
        over = len(self._buf) - self._max_bytes
        if over > 0:
            over += over % 2
            del self._buf[:over]
            self.dropped_bytes += over

    def flush(self) -> int:
        """Drop everything queued (the reply was interrupted); the bytes dropped."""
        n = len(self._buf)
        self._buf.clear()
        return n

    def queued_s(self) -> float:
        return len(self._buf) / 2 / self.rate

    def _resample(self, pcm: bytes, rate: int) -> bytes:
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = AudioResampler(format="s16", layout="mono",
                                                                 rate=self.rate)
        frame = AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm[: len(pcm) // 2 * 2])
        frame.sample_rate = rate
        return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in resampler.resample(frame))

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += self._samples
            wait = self._start + self._pts / self.rate - now
            if wait < -_LATE_S:
                self._start = now - self._pts / self.rate
            elif wait > 0:
                await asyncio.sleep(wait)
        return self._frame()

    def _frame(self) -> AudioFrame:
        size = self._samples * 2
        chunk = bytes(self._buf[:size])
        del self._buf[:size]
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(chunk.ljust(size, b"\0"))
        frame.pts = self._pts
        frame.sample_rate = self.rate
        frame.time_base = fractions.Fraction(1, self.rate)
        return frame
