"""Deterministic speech-like test audio (PCM16 little-endian mono)."""

from __future__ import annotations

import math
import struct


def speech_like(seconds: float, rate: int = 16000, f0: float = 140.0, amp: float = 0.4) -> bytes:
    """A voiced harmonic signal with a 4 Hz syllable envelope: energetic like speech."""
    n = int(seconds * rate)
    out = bytearray()
    for i in range(n):
        t = i / rate
        env = 0.55 + 0.45 * math.sin(2 * math.pi * 4.0 * t)
        v = sum(math.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 6))
        out += struct.pack("<h", int(max(-1.0, min(1.0, amp * env * v / 2.3)) * 32767))
    return bytes(out)


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


def chunks(pcm: bytes, ms: int = 20, rate: int = 16000) -> list[bytes]:
    size = rate * 2 * ms // 1000
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


def rms(pcm: bytes) -> float:
    if len(pcm) < 2:
        return 0.0
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768
