"""The WebRTC bench's media: pre-encoded Opus and VP8, replayed in real time by aiortc tracks.

The client must cost little next to the edge it loads, so it never encodes: the driver encodes a
loop of speech-like Opus (20 ms packets) and of a moving scene in VP8 (keyframe first, then
inter frames) once, and every client session replays those packets with increasing timestamps
(aiortc's senders packetize an `av.Packet` as it is). The scene comes twice: 640x480 at 15 fps
and ~800 kbit/s, what a camera sends uncapped, and what the livebus page sends of the same
camera: its video sender is capped (rtc.js, VIDEO_CAP) at 3 fps within 512x512 and 300 kbit/s.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

AUDIO_RATE, AUDIO_PTIME = 48_000, 0.020
AUDIO_SAMPLES = int(AUDIO_RATE * AUDIO_PTIME)
LOOP_SECONDS = 10
# rtc.js's VIDEO_CAP: what the page's video sender sends at most, for a 640x480 camera
CAPPED_FPS, CAPPED_SIDE, CAPPED_BITRATE = 3, 512, 300_000


@dataclass
class Media:
    audio: list[bytes]          # Opus packets of 20 ms
    video: list[bytes]          # VP8 frames, the first a keyframe
    fps: int
    width: int
    height: int
    capped: list[bytes]         # the same scene as the page sends it (CAPPED_*)

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self))

    @staticmethod
    def load(path: Path) -> Media:
        media = pickle.loads(path.read_bytes())
        assert isinstance(media, Media)
        return media


def speech_like(seconds: float) -> np.ndarray:
    """Mono s16 at 48 kHz: a voiced tone with moving pitch, in syllables with pauses (Opus then
    spends bits as on speech, and its DTX-free packets keep the decoder busy as a talker does)."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / AUDIO_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.5
    rng = np.random.default_rng(1)
    signal = 0.3 * voiced * envelope + 0.01 * rng.standard_normal(t.size)
    return (np.clip(signal, -1, 1) * 32767).astype(np.int16)


def encode_audio(seconds: float) -> list[bytes]:
    enc = av.CodecContext.create("libopus", "w")
    assert isinstance(enc, av.AudioCodecContext)
    enc.sample_rate, enc.layout, enc.format = AUDIO_RATE, "mono", "s16"
    enc.bit_rate = 32_000
    pcm = speech_like(seconds)
    out: list[bytes] = []
    for i in range(0, pcm.size - AUDIO_SAMPLES + 1, AUDIO_SAMPLES):
        frame = av.AudioFrame.from_ndarray(pcm[None, i:i + AUDIO_SAMPLES], format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, i
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return out


def scene(width: int, height: int, i: int) -> np.ndarray:
    """A textured background that pans, with a bright disc crossing it (every frame changes)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (xx + 3 * i) % 256
    img[..., 1] = (yy + 2 * i) % 256
    img[..., 2] = ((xx // 16 + yy // 16) % 2) * 90 + 40
    cx = int((width - 80) * (0.5 + 0.5 * math.sin(i / 20))) + 40
    cy = int((height - 80) * (0.5 + 0.5 * math.cos(i / 27))) + 40
    img[(xx - cx) ** 2 + (yy - cy) ** 2 < 40 ** 2] = (240, 240, 255)
    return img


def encode_video(width: int, height: int, fps: int, seconds: float,
                 bitrate: int = 800_000, step: int = 1) -> list[bytes]:
    """VP8 as aiortc's (and a browser's) realtime encoder makes it: CBR, no lag, one keyframe."""
    enc = av.CodecContext.create("libvpx", "w")
    assert isinstance(enc, av.VideoCodecContext)
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.bit_rate, enc.time_base = bitrate, fractions.Fraction(1, fps)
    enc.gop_size = 10_000
    enc.options = {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0",
                   "minrate": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate)}
    out: list[bytes] = []
    for i in range(int(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(scene(width, height, i * step), format="bgr24")
        frame.pts = i
        data = b"".join(bytes(p) for p in enc.encode(frame.reformat(format="yuv420p")))
        assert data, "the realtime VP8 encoder held a frame back"
        out.append(data)
    return out


def make(width: int, height: int, fps: int) -> Media:
    scale = min(1.0, CAPPED_SIDE / max(width, height))
    w, h = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
    # Every fps/3-th frame of the scene, so the capped stream moves as the camera does.
    capped = encode_video(w, h, CAPPED_FPS, LOOP_SECONDS, CAPPED_BITRATE, step=fps // CAPPED_FPS)
    return Media(encode_audio(LOOP_SECONDS), encode_video(width, height, fps, LOOP_SECONDS),
                 fps, width, height, capped)


class PacketTrack(MediaStreamTrack):
    """Replays pre-encoded packets in a loop, paced on the wall clock."""

    def __init__(self, kind: str, packets: list[bytes], step: int, clock_rate: int,
                 interval: float) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._step, self._interval = packets, step, interval
        self._time_base = fractions.Fraction(1, clock_rate)
        self._n = 0
        self._start: float | None = None
        self.sent = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._n * self._interval
        if due > now:
            await asyncio.sleep(due - now)
        packet = av.Packet(self._packets[self._n % len(self._packets)])
        packet.pts, packet.time_base = self._n * self._step, self._time_base
        self._n += 1
        self.sent += 1
        return packet


def audio_track(media: Media) -> PacketTrack:
    return PacketTrack("audio", media.audio, AUDIO_SAMPLES, AUDIO_RATE, AUDIO_PTIME)


def video_track(media: Media, capped: bool = False) -> PacketTrack:
    if capped:
        return PacketTrack("video", media.capped, 1, CAPPED_FPS, 1 / CAPPED_FPS)
    return PacketTrack("video", media.video, 1, media.fps, 1 / media.fps)
