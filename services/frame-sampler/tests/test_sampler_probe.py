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
    assert (probe(buf.tobytes(), LIMITS).width, probe(buf.tobytes(), LIMITS).height) == (320, 200)


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
