"""Reply audio: espeak-ng speech when it is installed, otherwise a pleasant word-paced melody.

Output is always 24 kHz mono PCM16 little-endian, what Gemini Live sends.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import struct
import zlib
from collections import OrderedDict

import numpy as np

OUT_RATE = 24000
_log = logging.getLogger(__name__)
# A major pentatonic scale around A4: any sequence of these notes sounds agreeable.
_SCALE_HZ = (392.0, 440.0, 493.9, 587.3, 659.3, 784.0)
_WORD_S = 0.26
_GAP_S = 0.06
_MAX_S = 30.0


class Speaker:
    """Turns reply text into 24 kHz PCM16, caching the last few results."""

    def __init__(self, use_espeak: bool = True, cache_size: int = 64) -> None:
        self.espeak = shutil.which("espeak-ng") if use_espeak else None
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    async def synthesize(self, text: str) -> bytes:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        pcm: bytes | None = None
        if self.espeak:
            pcm = await self._espeak(text)
        if pcm is None:
            pcm = melody(text)
        self._cache[text] = pcm
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return pcm

    async def _espeak(self, text: str) -> bytes | None:
        assert self.espeak is not None
        try:
            proc = await asyncio.create_subprocess_exec(
                self.espeak, "--stdout", "-v", "en", "-s", "165", "--", text,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
        except (OSError, TimeoutError) as e:
            _log.warning("espeak-ng failed (%s); using a tone", e)
            return None
        if proc.returncode != 0:
            return None
        parsed = parse_wav(out)
        if parsed is None:
            return None
        samples, rate = parsed
        return resample(samples, rate, OUT_RATE)[: int(_MAX_S * OUT_RATE) * 2]


def parse_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """(int16 mono samples, rate) from a PCM16 WAV; tolerates streaming headers (bogus sizes)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    i = 12
    rate = 0
    channels = 1
    while i + 8 <= len(data):
        tag = data[i:i + 4]
        (size,) = struct.unpack("<I", data[i + 4:i + 8])
        body = i + 8
        if tag == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body:body + 16])
            if fmt != 1 or bits != 16:
                return None
        elif tag == b"data":
            end = min(len(data), body + size) if size else len(data)
            raw = data[body:end]
            raw = raw[: len(raw) // 2 * 2]
            samples = np.frombuffer(raw, dtype="<i2")
            if channels > 1:
                samples = samples[: len(samples) // channels * channels]
                samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
            return samples, rate or OUT_RATE
        i = body + size + (size & 1)
    return None


def resample(samples: np.ndarray, rate: int, out_rate: int) -> bytes:
    if rate == out_rate or len(samples) == 0:
        return bytes(samples.astype("<i2").tobytes())
    n_out = round(len(samples) * out_rate / rate)
    t_out = np.arange(n_out) * (rate / out_rate)
    out = np.interp(t_out, np.arange(len(samples)), samples.astype(np.float64))
    return bytes(np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes())


def melody(text: str) -> bytes:
    """One soft note per word (pitch from the word), so the length follows the text."""
    words = text.split() or [""]
    word_n = round(_WORD_S * OUT_RATE)
    gap = np.zeros(round(_GAP_S * OUT_RATE), dtype=np.float64)
    t = np.arange(word_n) / OUT_RATE
    ramp = round(0.02 * OUT_RATE)
    envelope = np.ones(word_n)
    envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
    envelope[-ramp * 3:] = np.linspace(1.0, 0.0, ramp * 3)
    pieces: list[np.ndarray] = []
    for word in words[: int(_MAX_S / (_WORD_S + _GAP_S))]:
        f = _SCALE_HZ[zlib.crc32(word.lower().encode()) % len(_SCALE_HZ)]
        note = (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
                + 0.1 * np.sin(6 * np.pi * f * t))
        pieces.extend((note * envelope * 0.18, gap))
    signal = np.concatenate(pieces)
    return np.round(signal * 32767).astype("<i2").tobytes()
