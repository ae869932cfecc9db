"""Image format and dimensions from the header alone, so bad or huge frames die before decoding."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

Kind = Literal["jpeg", "png", "webp"]


class BadFrame(Exception):
    """A frame we refuse; `reason` is the metrics label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Header:
    kind: Kind
    width: int
    height: int


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_dimension: int


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}


def probe(data: bytes, limits: Limits) -> Header:
    """The frame's format and size; raises BadFrame for anything we will not decode."""
    if len(data) > limits.max_bytes:
        raise BadFrame("oversized", f"{len(data)} bytes > {limits.max_bytes}")
    if data[:3] == b"\xff\xd8\xff":
        head = _jpeg(data)
    elif data[:8] == _PNG_SIG:
        head = _png(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        head = _webp(data)
    else:
        raise BadFrame("not_image", "not JPEG, PNG or WebP")
    if head.width <= 0 or head.height <= 0:
        raise BadFrame("bad_header", f"{head.width}x{head.height}")
    if (max(head.width, head.height) > limits.max_dimension
            or head.width * head.height > limits.max_pixels):
        raise BadFrame("too_many_pixels", f"{head.width}x{head.height}")
    return head


def _jpeg(data: bytes) -> Header:
    # Entropy-coded data escapes 0xFF, so an EOI near the end means the frame is complete.
    if b"\xff\xd9" not in data[-64:]:
        raise BadFrame("truncated", "JPEG without end-of-image marker")
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise BadFrame("bad_header", f"JPEG marker expected at {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _NO_LENGTH:
            i += 2
            continue
        (length,) = struct.unpack_from(">H", data, i + 2)
        if marker in _SOF:
            if i + 9 > n:
                break
            height, width = struct.unpack_from(">HH", data, i + 5)
            return Header("jpeg", width, height)
        if marker in (0xDA, 0xD9):  # scan or end before any frame header
            raise BadFrame("bad_header", "JPEG without a frame header")
        i += 2 + length
    raise BadFrame("truncated", "JPEG ends inside its headers")


def _png(data: bytes) -> Header:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise BadFrame("truncated" if len(data) < 33 else "bad_header", "PNG without IHDR")
    if b"IEND" not in data[-16:]:
        raise BadFrame("truncated", "PNG without IEND")
    width, height = struct.unpack_from(">II", data, 16)
    return Header("png", width, height)


def _webp(data: bytes) -> Header:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise BadFrame("truncated", f"WebP says {riff_size + 8} bytes, has {len(data)}")
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return Header("webp", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return Header("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return Header("webp", w, h)
    raise BadFrame("bad_header", f"WebP chunk {chunk!r}")
