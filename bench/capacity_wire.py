"""The capacity harness's Gemini Live messages, encoded once; only a 16-character stamp varies.

Every audio chunk (up: 20 ms of 16 kHz PCM; down: 40 ms of 24 kHz PCM) starts with 12 bytes
`<dHH` (CLOCK_MONOTONIC send time, sequence number, index in the reply), which base64-encode to
exactly 16 characters: a message is prefix + stamp + the rest of the pre-encoded chunk + suffix.
The clock is shared by every process on the machine, so the receiver computes one-way latency.
Whatever re-encodes the base64 on the way (livebus decodes audio onto the bus and encodes it
again) keeps the stamp, since the same bytes encode to the same characters.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from livebus_dev.testing.audio import chunks, silence, speech_like

STAMP = struct.Struct("<dHH")
STAMP_CHARS = 16  # base64 of STAMP.size == 12 bytes, no padding
MODEL = "models/gemini-live-2.5-flash-preview"
UP_MIME = "audio/pcm;rate=16000"
DOWN_MIME = "audio/pcm;rate=24000"
UP_CHUNK_S = 0.02
DOWN_CHUNK_S = 0.04
DOWN_CHUNK_BYTES = 1920  # 40 ms at 24 kHz, 16-bit mono
PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def stamp(t: float, seq: int, index: int = 0) -> bytes:
    return base64.b64encode(STAMP.pack(t, seq & 0xFFFF, index & 0xFFFF))


def read_stamp(data: str) -> tuple[float, int, int]:
    t, seq, index = STAMP.unpack(base64.b64decode(data[:STAMP_CHARS]))
    return float(t), int(seq), int(index)


@dataclass(frozen=True)
class Stamped:
    """A message as prefix + stamp + tail; `tail` already holds the end of the JSON."""

    prefix: bytes
    tail: bytes

    @property
    def length(self) -> int:
        return len(self.prefix) + STAMP_CHARS + len(self.tail)


def _stamped(kind: str, mime: str, pcm: bytes) -> Stamped:
    rest = base64.b64encode(pcm[STAMP.size:]).decode()
    marker = "\x00" * STAMP_CHARS
    msg: dict[str, Any]
    if kind == "up":
        msg = {"realtimeInput": {"audio": {"mimeType": mime, "data": marker + rest}}}
    else:
        msg = {"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": mime, "data": marker + rest}}]}}}
    text = json.dumps(msg, separators=(",", ":"))
    head, _, tail = text.partition("\\u0000" * STAMP_CHARS)
    return Stamped(head.encode(), tail.encode())


def uplink_audio() -> list[Stamped]:
    """1 s of speech-like sound and 0.6 s of silence, in 20 ms chunks (pipeline.py's loop)."""
    return [_stamped("up", UP_MIME, c) for c in chunks(speech_like(1.0)) + chunks(silence(0.6))]


def reply_audio() -> Stamped:
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal(DOWN_CHUNK_BYTES // 2) * 3000).astype("<i2").tobytes()
    return _stamped("down", DOWN_MIME, pcm)


def jpeg() -> bytes:
    """A 640x480 JPEG of ~100 KB (pipeline.py's frame)."""
    rng = np.random.default_rng(7)
    img = cv2.resize(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (640, 480))
    return bytes(cv2.imencode(".jpg", img)[1])


def video_message() -> bytes:
    data = base64.b64encode(jpeg()).decode()
    return json.dumps({"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": data}}},
                      separators=(",", ":")).encode()


def setup_message() -> bytes:
    return json.dumps({"setup": {"model": MODEL,
                                 "generationConfig": {"responseModalities": ["AUDIO"]}}},
                      separators=(",", ":")).encode()


TURN_HEAD = b'{"clientContent":{"turns":[{"role":"user","parts":[{"text":"'
TURN_TAIL = b'"}]}],"turnComplete":true}}'


def text_turn(t: float) -> bytes:
    """A user turn whose text is its send time (the upstream reads it: the turn's uplink)."""
    return TURN_HEAD + repr(t).encode() + TURN_TAIL


def turn_sent_at(cc: dict[str, Any]) -> float | None:
    try:
        return float(cc["turns"][-1]["parts"][0]["text"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


SETUP_COMPLETE = b'{"setupComplete":{}}'
TURN_COMPLETE = b'{"serverContent":{"turnComplete":true}}'
