from __future__ import annotations

import cv2
import numpy as np
import pytest

from livebus_sampler import image, synthetic
from livebus_sampler.probe import Header, Limits, probe

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



# -- what a decode costs: refused from the header, or held within its estimate ----------------

DEFAULT_MAX_DECODE = 96 * 1024 * 1024  # SamplerSettings.max_decode_bytes

_MEASURE = r"""
import sys, cv2, numpy as np
from livebus_sampler import image, memory, synthetic
from livebus_sampler.probe import Limits, probe
# As the service does at start: without it, glibc raises its mmap threshold as the encode below
# frees its buffers, and the decode then reuses part of that freed (still resident) heap, so the
# growth measured would depend on this process's history instead of the decode.
memory.tune()
kind, side, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def make(side):
    noise = np.random.default_rng(7).integers(0, 256, (side, side, 4), dtype=np.uint8) \
        if kind in ("webp-photo", "webp-alpha") else None
    if kind == "png":  # single colour: tiny file, huge image
        ok, buf = cv2.imencode(".png", np.full((side, side, 4), (9, 99, 199, 255), np.uint8))
    elif kind == "webp":  # lossless (OpenCV's default), a single colour: libwebp packs a palette
        ok, buf = cv2.imencode(".webp", np.full((side, side, 3), 99, np.uint8))
    elif kind == "webp-photo":  # lossless, no palette: libwebp holds its full ARGB image
        ok, buf = cv2.imencode(".webp", np.ascontiguousarray(noise[:, :, :3]))
    elif kind == "webp-alpha":  # lossless with alpha: OpenCV decodes to BGRA first
        ok, buf = cv2.imencode(".webp", noise)
    elif kind == "webp-lossy":
        ok, buf = cv2.imencode(".webp", synthetic.scene(side, side), [cv2.IMWRITE_WEBP_QUALITY, 90])
    else:
        flags = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                 cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444] if kind == "pjpeg" else []
        ok, buf = cv2.imencode(".jpg", synthetic.scene(side, side), flags)
    return buf.tobytes()
def run(data, head):
    if mode == "thumb":
        image.thumbnail(data, head)
    else:
        image.render(data, head, 512, 30_000, 80, 30, False)
limits = Limits(64 << 20, 40_000_000, 16_384)
# A running service has decoded this kind before: the first decode also faults in the codec's
# code and tables (about 5 MB for libwebp), which is not what a decode holds.
small = make(64)
run(small, probe(small, limits))
data = make(side)
head = probe(data, limits)
cost = image.thumbnail_cost(head) if mode == "thumb" else image.render_cost(head, 512)
def kb(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
before = kb("VmRSS:")
run(data, head)
print(len(data), cost.bytes, (kb("VmHWM:") - before) * 1024)
"""


def _measure(kind: str, side: int, mode: str = "render") -> tuple[int, int, int]:
    """(file bytes, estimated decode bytes, measured peak growth) in a fresh process."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _MEASURE, kind, str(side), mode],
                         capture_output=True, text=True, check=True, timeout=60)
    size, cost, peak = (int(v) for v in out.stdout.split())
    return size, cost, peak


@pytest.mark.parametrize(("kind", "side", "mode"), [
    ("png", 6000, "render"), ("png", 4000, "render"), ("png", 4000, "thumb"),
    ("webp", 3000, "render"), ("webp", 3000, "thumb"), ("webp-photo", 2000, "thumb"),
    ("webp-photo", 2000, "render"), ("webp-alpha", 2000, "thumb"), ("webp-alpha", 2000, "render"),
    ("webp-lossy", 3000, "thumb"), ("webp-lossy", 3000, "render"), ("pjpeg", 3000, "render"),
    ("jpeg", 6000, "render"), ("jpeg", 6000, "thumb"),
])
def test_a_decode_stays_within_its_estimate(kind: str, side: int, mode: str) -> None:
    size, cost, peak = _measure(kind, side, mode)
    assert peak <= cost, f"{kind} {side}x{side} {mode}: {size} bytes held {peak} > {cost}"


def test_a_small_png_bomb_is_refused_from_its_header() -> None:
    """A 6000x6000 single-colour PNG is ~150 KB; OpenCV's full decode of it peaks at 200 MB."""
    size, cost, _ = _measure("png", 6000)
    assert size < 200_000 and cost > DEFAULT_MAX_DECODE
    _, within, _ = _measure("png", 4000)
    assert within <= DEFAULT_MAX_DECODE


def test_big_jpegs_decode_near_their_output_size() -> None:
    """libjpeg scales the DCT: a 36 Mpx baseline JPEG decodes at 1/8 in a few MB; progressive
    ones must hold every coefficient, and are costed so."""
    data = synthetic.jpeg(synthetic.scene(6000, 6000))
    head = probe(data, LIMITS)
    assert not head.progressive and image.render_cost(head, 512).bytes < 12 << 20
    assert _measure("jpeg", 6000)[2] < 12 << 20
    progressive = image.render_cost(Header("jpeg", 6000, 6000, True, 3 * 6000 * 6000), 512)
    assert progressive.bytes > DEFAULT_MAX_DECODE
