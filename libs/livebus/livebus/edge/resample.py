"""Input audio at any rate Google takes (`audio/pcm;rate=N`, 8-48 kHz) as the 16 kHz the bus
carries: one soxr stream per session and rate, so the filter state spans chunk boundaries (no
clicks where one chunk ends and the next begins). About 8 us per 20 ms chunk (bench/resample.py).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import soxr  # type: ignore[import-untyped]  # no py.typed in 1.1.0

from .wire import AUDIO_RATE, Action, Audio, Control

TARGET_RATE = AUDIO_RATE
MIN_RATE = 8000
MAX_RATE = 48000
MAX_STREAMS = 4  # per session: a client switching between rates keeps a few streams warm


class SessionResampler:
    def __init__(self) -> None:
        self.streams: OrderedDict[int, soxr.ResampleStream] = OrderedDict()

    def to_target(self, pcm: bytes, rate: int) -> bytes:
        """PCM16 LE mono at `rate` as 16 kHz (the same bytes when it is 16 kHz already).
        The stream holds back a few ms of filter delay, which the next chunk pushes out."""
        if rate == TARGET_RATE:
            return pcm
        stream = self.streams.get(rate)
        if stream is None:
            stream = soxr.ResampleStream(rate, TARGET_RATE, 1, dtype="int16", quality="HQ")
            self.streams[rate] = stream
            while len(self.streams) > MAX_STREAMS:
                self.streams.popitem(last=False)
        else:
            self.streams.move_to_end(rate)
        out: np.ndarray = stream.resample_chunk(np.frombuffer(pcm, dtype="<i2"))
        return out.astype("<i2", copy=False).tobytes()

    def flush(self) -> bytes:
        """What the streams still hold, pushed out; they start over with the next chunk."""
        tail = b""
        for stream in self.streams.values():
            out: np.ndarray = stream.resample_chunk(np.zeros(0, dtype="<i2"), last=True)
            tail += out.astype("<i2", copy=False).tobytes()
            stream.clear()
        return tail

    def actions(self, actions: list[Action]) -> list[Action]:
        """A frame's actions with its audio at 16 kHz. Before a signal that ends the speech
        (activityEnd, audioStreamEnd) the filter's last few ms go out, so they are in the turn."""
        if not self.streams and all(not isinstance(a, Audio) or a.rate == TARGET_RATE
                                    for a in actions):
            return actions  # the common case: 16 kHz clients
        out: list[Action] = []
        for a in actions:
            if isinstance(a, Audio) and a.rate != TARGET_RATE:
                a = Audio(self.to_target(a.pcm, a.rate))
            elif isinstance(a, Control) and (a.event.activity_end or a.event.audio_stream_end):
                tail = self.flush()
                if tail:
                    out.append(Audio(tail))
            if not isinstance(a, Audio) or a.pcm:
                out.append(a)
        return out
