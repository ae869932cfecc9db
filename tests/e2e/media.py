"""Fake camera and microphone files for Chromium, written in Python (no external tools)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from livebus_dev.testing.audio import silence, speech_like

RATE = 16000


def write_wav(path: Path, parts: list[tuple[str, float]], rate: int = RATE) -> Path:
    """A 16-bit mono WAV of ("speech"|"silence", seconds) parts, in order."""
    pcm = b"".join(speech_like(s, rate) if kind == "speech" else silence(s, rate)
                   for kind, s in parts)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def write_y4m(path: Path, width: int = 640, height: int = 480, fps: int = 10,
              frames: int = 20, grain: float = 0.0) -> Path:
    """A 4:2:0 Y4M clip: a soft dusk gradient with a glowing ball moving across it.

    `grain` adds a webcam's sensor noise (its standard deviation in luma levels, new in every
    frame), which JPEG cannot compress away: a real camera's frames are several times larger.
    """
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base_y = 40 + 50 * (ys / height) + 25 * (xs / width)
    cy, cx = np.mgrid[0:height // 2, 0:width // 2].astype(np.float32)
    base_u = 150 - 20 * (cx / (width // 2))   # blue-ish
    base_v = 125 + 25 * (cy / (height // 2))  # towards violet at the bottom
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            t = i / frames
            bx = width * (0.2 + 0.6 * t)
            by = height * (0.5 + 0.15 * np.sin(2 * np.pi * t))
            r = min(width, height) * 0.14
            d2 = ((xs - bx) ** 2 + (ys - by) ** 2) / (r * r)
            glow = np.exp(-d2 * 1.5)
            noise = rng.normal(0, grain, base_y.shape) if grain else 0.0
            y = np.clip(base_y + 170 * glow + noise, 0, 255).astype(np.uint8)
            d2c = ((cx - bx / 2) ** 2 + (cy - by / 2) ** 2) / (r * r / 4)
            gc = np.exp(-d2c * 1.5)
            u = np.clip(base_u - 35 * gc, 0, 255).astype(np.uint8)
            v = np.clip(base_v + 30 * gc, 0, 255).astype(np.uint8)
            f.write(b"FRAME\n")
            f.write(y.tobytes())
            f.write(u.tobytes())
            f.write(v.tobytes())
    return path
