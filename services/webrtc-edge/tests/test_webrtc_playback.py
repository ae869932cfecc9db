"""The return track: queued reply PCM paced in real time, silence when idle, flushed at once."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from livebus_webrtc.playback import REPLY_RATE, ReplyTrack


def _tone(seconds: float, rate: int = REPLY_RATE) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()


def _level(frame: object) -> int:
    pcm = np.frombuffer(bytes(frame.planes[0]), dtype="<i2")  # type: ignore[attr-defined]
    return int(np.abs(pcm).max())


async def test_frames_are_20ms_paced_by_the_clock_and_silent_when_idle() -> None:
    track = ReplyTrack()
    track.push(_tone(0.1))
    start = time.monotonic()
    frames = [await track.recv() for _ in range(10)]
    elapsed = time.monotonic() - start
    assert 0.17 < elapsed < 0.3  # 9 waits of 20 ms after the first frame
    assert all(f.samples == 480 and f.sample_rate == REPLY_RATE for f in frames)
    assert [f.pts for f in frames] == [i * 480 for i in range(10)]
    assert all(_level(f) > 10000 for f in frames[:5])
    assert all(_level(f) == 0 for f in frames[5:])


async def test_flush_silences_the_next_frame() -> None:
    track = ReplyTrack()
    track.push(_tone(2.0))
    assert _level(await track.recv()) > 10000
    assert track.flush() > 0
    assert track.queued_s() == 0
    assert _level(await track.recv()) == 0


async def test_other_rates_are_resampled_to_the_track_rate() -> None:
    track = ReplyTrack()
    track.push(_tone(0.5, 16000), 16000)
    assert abs(track.queued_s() - 0.5) < 0.01


def test_the_buffer_keeps_the_newest_max_s() -> None:
    track = ReplyTrack(max_s=1.0)
    track.push(_tone(3.0))
    assert track.queued_s() == pytest.approx(1.0)
    assert track.dropped_bytes == 2 * REPLY_RATE * 2


async def test_a_stalled_consumer_does_not_get_a_burst_after() -> None:
    track = ReplyTrack()
    await track.recv()
    await asyncio.sleep(0.3)
    await track.recv()  # late: the clock restarts here
    start = time.monotonic()
    for _ in range(5):
        await track.recv()
    assert time.monotonic() - start > 0.08


async def test_a_stopped_track_ends() -> None:
    track = ReplyTrack()
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
