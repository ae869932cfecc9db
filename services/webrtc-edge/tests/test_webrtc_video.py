"""Client video: only frames that will be sent are converted and encoded, within 512x512."""

from __future__ import annotations

import io

import av
import numpy as np
from av import VideoFrame

from livebus_webrtc.video import JpegEncoder, VideoGate, fit, luma_thumb


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _frame(width: int, height: int, shift: int = 0) -> VideoFrame:
    x = (np.arange(width)[None, :] + shift) % 256
    y = np.arange(height)[:, None] % 256
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) % 256], axis=-1).astype(np.uint8)
    return VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def _run(gate: VideoGate, clock: Clock, seconds: float, fps: float, moving: bool) -> list[bytes]:
    sent = []
    frames = [_frame(640, 480, shift) for shift in range(0, 64, 8)]
    for i in range(int(seconds * fps)):
        out = gate.offer(frames[i % len(frames)] if moving else frames[0])
        if out is not None:
            sent.append(out)
        clock.now += 1 / fps
    return sent


def test_a_moving_scene_at_15fps_is_encoded_at_3fps() -> None:
    clock = Clock()
    gate = VideoGate(max_fps=3.0, clock=clock)
    sent = _run(gate, clock, 4.0, 15, moving=True)
    assert 11 <= len(sent) <= 13
    assert gate.looked == gate.encoded == len(sent)


def test_a_sender_capped_at_3fps_with_jitter_has_every_frame_sent() -> None:
    # The page caps its camera at the gate's rate; frames arrive up to a camera frame early or
    # late (a 30 fps camera's frames picked to average 3 fps, plus network jitter).
    clock = Clock()
    gate = VideoGate(max_fps=3.0, clock=clock)
    frames = [_frame(512, 384, shift) for shift in range(0, 320, 40)]
    rng = np.random.default_rng(3)
    sent, start = 0, clock.now
    for i in range(30):
        clock.now = start + i / 3 + rng.uniform(-0.04, 0.04)
        sent += gate.offer(frames[i % len(frames)]) is not None
    assert sent == 30


def test_early_frames_never_raise_the_rate_above_max_fps() -> None:
    clock = Clock()
    gate = VideoGate(max_fps=3.0, clock=clock)
    sent = _run(gate, clock, 10.0, 60, moving=True)
    assert len(sent) <= 31


def test_a_still_scene_is_encoded_at_1fps_and_only_looked_at_3fps() -> None:
    clock = Clock()
    gate = VideoGate(max_fps=3.0, clock=clock)
    sent = _run(gate, clock, 4.0, 15, moving=False)
    assert 4 <= len(sent) <= 5
    assert gate.looked <= 13  # the other 47 frames were not touched at all


def test_the_jpeg_fits_512_and_keeps_the_aspect_ratio() -> None:
    gate = VideoGate(clock=Clock())
    jpeg = gate.offer(_frame(1280, 720))
    assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
    with av.open(io.BytesIO(jpeg)) as container:
        decoded = next(container.decode(video=0))
    assert (decoded.width, decoded.height) == (512, 288)


def test_one_encoder_follows_the_camera_when_its_size_changes() -> None:
    enc = JpegEncoder(512, 4)
    for w, h in ((1280, 720), (1280, 720), (640, 480), (320, 240)):
        with av.open(io.BytesIO(enc.encode(_frame(w, h)))) as container:
            decoded = next(container.decode(video=0))
        assert (decoded.width, decoded.height) == fit(w, h, 512)


def test_small_frames_are_not_enlarged() -> None:
    assert fit(320, 240, 512) == (320, 240)
    assert fit(480, 640, 512) == (384, 512)
    assert fit(4000, 3, 512) == (512, 2)


def test_the_thumbnail_reads_the_y_plane_in_place() -> None:
    frame = _frame(640, 480)
    thumb = luma_thumb(frame)
    assert thumb.shape == (24, 32)
    y = np.frombuffer(memoryview(frame.planes[0]), dtype=np.uint8).reshape(480, -1)[:, :640]
    assert np.array_equal(thumb, y[::20, ::20])
