from __future__ import annotations

import cv2
import numpy as np
import pytest

from livebus_sampler import image, synthetic
from livebus_sampler.probe import Limits, probe

LIMITS = Limits(max_bytes=64 << 20, max_pixels=40_000_000, max_dimension=16_384)


def _decode(data: bytes) -> tuple[int, int]:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img.shape[1], img.shape[0]


@pytest.mark.parametrize(("size", "expected"), [
    ((1280, 720), (512, 288)),
    ((1920, 1080), (512, 288)),
    ((720, 1280), (288, 512)),
    ((4000, 3000), (512, 384)),
    ((320, 240), (320, 240)),    # never upscaled
    ((513, 100), (512, 100)),
])
def test_fits_512_keeping_aspect(size: tuple[int, int], expected: tuple[int, int]) -> None:
    data = synthetic.jpeg(synthetic.scene(*size))
    out = image.render(data, probe(data, LIMITS), 512, 30_000, 80, 30, pad=False)
    assert (out.width, out.height) == expected == _decode(out.jpeg)
    assert len(out.jpeg) <= 30_000


@pytest.mark.parametrize("ext", [".png", ".webp"])
def test_png_and_webp_in_jpeg_out(ext: str) -> None:
    data = synthetic.encode(synthetic.scene(1280, 720), ext)
    out = image.render(data, probe(data, LIMITS), 512, 30_000, 80, 30, pad=False)
    assert out.jpeg[:3] == b"\xff\xd8\xff" and _decode(out.jpeg) == (512, 288)


def test_pad_to_square() -> None:
    data = synthetic.jpeg(synthetic.scene(1280, 720))
    out = image.render(data, probe(data, LIMITS), 512, 30_000, 80, 30, pad=True)
    assert _decode(out.jpeg) == (512, 512)
    small = synthetic.jpeg(synthetic.scene(200, 100))
    assert _decode(image.render(small, probe(small, LIMITS), 512, 30_000, 80, 30, True).jpeg) \
        == (512, 512)


def test_byte_budget_lowers_quality_then_size() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    data = synthetic.jpeg(noise, quality=95)
    for budget in (30_000, 8_000):
        out = image.render(data, probe(data, LIMITS), 512, budget, 80, 30, pad=False)
        assert len(out.jpeg) <= budget
        assert out.quality < 80
        assert max(_decode(out.jpeg)) <= 512


def test_thumbnail_is_small_and_fixed() -> None:
    for size in ((1280, 720), (300, 500)):
        data = synthetic.jpeg(synthetic.scene(*size))
        thumb = image.thumbnail(data, probe(data, LIMITS))
        assert thumb.shape == (image.THUMB_SIZE[1], image.THUMB_SIZE[0])


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment holding one tag: Orientation (0x0112)."""
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x01"
            + b"\x01\x12\x00\x03\x00\x00\x00\x01" + orientation.to_bytes(2, "big") + b"\x00\x00"
            + b"\x00\x00\x00\x00")
    body = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


def test_exif_rotation_is_applied() -> None:
    # A phone photo stored landscape with "rotate 90" must reach the model upright.
    data = _with_exif_orientation(synthetic.jpeg(synthetic.scene(1280, 720)), 6)
    head = probe(data, LIMITS)
    assert (head.width, head.height) == (1280, 720)
    out = image.render(data, head, 512, 30_000, 80, 30, pad=False)
    assert (out.width, out.height) == (288, 512) == _decode(out.jpeg)

