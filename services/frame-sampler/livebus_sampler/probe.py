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
    # JPEG: a progressive decode holds every DCT coefficient (2 bytes per sample) whatever the
    # output scale, so its memory follows the full size; `samples` counts them (all components).
    progressive: bool = False
    samples: int = 0
    # WebP: a simple lossy file (VP8, no alpha) decodes row by row; a lossless or extended one
    # (VP8L, VP8X) may hold libwebp's whole ARGB image as well (see image.decode_cost).
    lossy: bool = False


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_dimension: int


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
MAX_SEGMENTS = 1000  # JPEG segments or PNG chunks before the image data; real files have < 50


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
    i, n, seen = 2, len(data), 0
    while i + 4 <= n:
        seen += 1
        if seen > MAX_SEGMENTS:
            raise BadFrame("bad_header", "JPEG with too many segments")
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
            if i + 10 > n:
                break
            height, width = struct.unpack_from(">HH", data, i + 5)
            return Header("jpeg", width, height, marker in _PROGRESSIVE,
                          _samples(data, i + 9, width, height))
        if marker in (0xDA, 0xD9):  # scan or end before any frame header
            raise BadFrame("bad_header", "JPEG without a frame header")
        i += 2 + length
    raise BadFrame("truncated", "JPEG ends inside its headers")


def _samples(data: bytes, at: int, width: int, height: int) -> int:
    """Coefficients a JPEG holds: each component's plane, in whole 8x8 blocks, at its sampling."""
    count = data[at]
    comps = [(data[j + 1] >> 4, data[j + 1] & 0x0F)
             for j in range(at + 1, min(at + 1 + 3 * count, len(data) - 2), 3)]
    if not comps or any(h == 0 or v == 0 for h, v in comps):
        raise BadFrame("bad_header", "JPEG component sampling")
    hmax, vmax = max(h for h, _ in comps), max(v for _, v in comps)
    total = 0
    for h, v in comps:
        cw, ch = -(-width * h // hmax), -(-height * v // vmax)
        total += (-(-cw // 8) * 8) * (-(-ch // 8) * 8)
    return total


def _png(data: bytes) -> Header:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise BadFrame("truncated" if len(data) < 33 else "bad_header", "PNG without IHDR")
    if b"IEND" not in data[-16:]:
        raise BadFrame("truncated", "PNG without IEND")
    width, height = struct.unpack_from(">II", data, 16)
    _png_still(data)
    return Header("png", width, height)


def _png_still(data: bytes) -> None:
    """Refuse an animated PNG (acTL before the image data): one image per frame."""
    i = 8
    for _ in range(MAX_SEGMENTS):
        if i + 8 > len(data):
            raise BadFrame("truncated", "PNG ends inside its chunks")
        (length,) = struct.unpack_from(">I", data, i)
        kind = data[i + 4:i + 8]
        if kind == b"acTL":
            raise BadFrame("animated", "animated PNG")
        if kind in (b"IDAT", b"IEND"):
            return
        i += 12 + length
    raise BadFrame("bad_header", "PNG with too many chunks")


def _webp(data: bytes) -> Header:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise BadFrame("truncated", f"WebP says {riff_size + 8} bytes, has {len(data)}")
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return Header("webp", w & 0x3FFF, h & 0x3FFF, lossy=True)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return Header("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        if data[20] & 0x02:
            raise BadFrame("animated", "animated WebP")
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return Header("webp", w, h)
    raise BadFrame("bad_header", f"WebP chunk {chunk!r}")
