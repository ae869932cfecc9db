"""Client audio from the WebRTC track (aiortc decodes Opus to 48 kHz frames) as the bus's 16 kHz
mono PCM16: one PyAV resampler per session, so its filter state spans frame boundaries."""

from __future__ import annotations

from av import AudioFrame, AudioResampler

BUS_RATE = 16000


class UplinkAudio:
    def __init__(self) -> None:
        self._resampler = AudioResampler(format="s16", layout="mono", rate=BUS_RATE)

    def convert(self, frame: AudioFrame) -> bytes:
        """The frame (any rate, layout, sample format) as 16 kHz mono PCM16 LE; may be empty
        while the resampler fills its filter, never loses what it holds back."""
        return b"".join(bytes(out.planes[0])[: out.samples * 2]
                        for out in self._resampler.resample(frame))
