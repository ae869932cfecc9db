from __future__ import annotations

import struct

import pytest

from livebus_sampler import synthetic
from livebus_sampler.probe import BadFrame, Limits, probe

LIMITS = Limits(max_bytes=4 << 20, max_pixels=40_000_000, max_dimension=16_384)
IMG = synthetic.scene(320, 200)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_reads_size_from_header(ext: str) -> None:
    head = probe(synthetic.encode(IMG, ext), LIMITS)
    assert (head.width, head.height) == (320, 200)
    assert head.kind == {".jpg": "jpeg", ".png": "png", ".webp": "webp"}[ext]


def test_lossless_webp() -> None:
    import cv2
    ok, buf = cv2.imencode(".webp", IMG, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok and buf.tobytes()[12:16] == b"VP8L"
    head = probe(buf.tobytes(), LIMITS)
    assert (head.width, head.height, head.lossy) == (320, 200, False)
    ok, buf = cv2.imencode(".webp", IMG, [cv2.IMWRITE_WEBP_QUALITY, 80])
    assert ok and buf.tobytes()[12:16] == b"VP8 " and probe(buf.tobytes(), LIMITS).lossy


def _reason(data: bytes, limits: Limits = LIMITS) -> str:
    with pytest.raises(BadFrame) as e:
        probe(data, limits)
    return e.value.reason


def _jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(synthetic.jpeg(IMG))
    i = 2
    while data[i + 1] not in (0xC0, 0xC2):
        i += 2 + struct.unpack_from(">H", data, i + 2)[0]
    struct.pack_into(">HH", data, i + 5, height, width)
    return bytes(data)


def test_rejections() -> None:
    jpg = synthetic.jpeg(IMG)
    png = synthetic.encode(IMG, ".png")
    assert _reason(b"hello, this is not an image at all") == "not_image"
    assert _reason(b"") == "not_image"
    assert _reason(jpg[: len(jpg) // 2]) == "truncated"
    assert _reason(jpg[:40]) == "truncated"
    assert _reason(png[: len(png) // 2]) == "truncated"
    webp = synthetic.encode(IMG, ".webp")
    assert _reason(webp[: len(webp) // 2]) == "truncated"
    assert _reason(_jpeg_with_size(60_000, 60_000)) == "too_many_pixels"
    assert _reason(_jpeg_with_size(20_000, 10)) == "too_many_pixels"
    assert _reason(_jpeg_with_size(0, 10)) == "bad_header"
    bomb_png = png[:16] + struct.pack(">II", 50_000, 50_000) + png[24:]
    assert _reason(bomb_png) == "too_many_pixels"
    assert _reason(jpg, Limits(1000, LIMITS.max_pixels, LIMITS.max_dimension)) == "oversized"


def _chunk(kind: bytes, body: bytes) -> bytes:
    import zlib
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_animated_images_are_refused() -> None:
    png = synthetic.encode(IMG, ".png")
    apng = png[:33] + _chunk(b"acTL", struct.pack(">II", 100, 0)) + png[33:]
    assert _reason(apng) == "animated"
    body = bytes([0x02, 0, 0, 0]) + (319).to_bytes(3, "little") + (199).to_bytes(3, "little")
    riff = b"WEBP" + b"VP8X" + struct.pack("<I", len(body)) + body
    assert _reason(b"RIFF" + struct.pack("<I", len(riff)) + riff) == "animated"
    still = b"WEBP" + b"VP8X" + struct.pack("<I", len(body)) + bytes([0]) + body[1:]
    assert probe(b"RIFF" + struct.pack("<I", len(still)) + still, LIMITS).width == 320


def test_header_floods_are_refused() -> None:
    jpg = synthetic.jpeg(IMG)
    padded = jpg[:2] + b"\xff\xfe\x00\x02" * 2000 + jpg[2:]  # 2000 empty comment segments
    assert _reason(padded) == "bad_header"
    png = synthetic.encode(IMG, ".png")
    chunky = png[:33] + _chunk(b"tEXt", b"k\x00v") * 2000 + png[33:]
    assert _reason(chunky) == "bad_header"


def test_jpeg_progressive_and_its_coefficients() -> None:
    import cv2
    ok, buf = cv2.imencode(".jpg", IMG, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    head = probe(buf.tobytes(), LIMITS)
    assert head.progressive
    # 4:2:0: luma 320x200 (in 8x8 blocks: 320x200) and two 160x100 chroma planes (160x104).
    assert head.samples == 320 * 200 + 2 * 160 * 104
    assert not probe(synthetic.jpeg(IMG), LIMITS).progressive
