"""Decoding, thumbnails and the output JPEG. Everything here runs on worker threads (cv2 releases
the GIL), never on the event loop."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .probe import BadFrame, Header

Gray = npt.NDArray[np.uint8]

THUMB_SIZE = (64, 48)  # cells compared for motion; fixed whatever the input's aspect ratio

cv2.setNumThreads(1)  # parallelism comes from our thread pool, one frame per thread
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _u8(img: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    return np.ascontiguousarray(img, dtype=np.uint8)


def _buf(data: bytes) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, dtype=np.uint8)


@dataclass(frozen=True)
class Cost:
    """What one decode costs: the pixels the decoder produces and its peak memory (bytes)."""

    pixels: int
    bytes: int


# Peak decoder memory per pixel, measured with OpenCV 5 under the service's malloc settings
# (memory.tune; tests/test_sampler_image.py checks the estimate against a real decode): the
# output colour image is held twice (6 bytes a pixel), a grayscale one twice (2). PNG and WebP
# decode the whole image before any reduction. PNG and lossy WebP hold up to 4 bytes a pixel
# (lossy WebP: OpenCV's BGR image plus the grayscale result; libwebp itself keeps a few rows).
# Lossless and extended WebP (VP8L, VP8X) hold up to 8: libwebp's ARGB image (4; palette images
# pack pixels and need less, but a photo-like one needs all 4) while it writes OpenCV's image of
# the file's type (BGRA with alpha: 4), before either is converted to the result.
_OUT_BYTES = {True: 2, False: 6}  # grayscale?
_FULL_BYTES = 4
_WEBP_ARGB_FULL_BYTES = 8
_SLACK = 4 << 20  # row buffers, the compressed input's copy, the library's own tables


def _full_bytes(head: Header) -> int:
    return _WEBP_ARGB_FULL_BYTES if head.kind == "webp" and not head.lossy else _FULL_BYTES


def _factor(head: Header, long_min: int) -> int:
    """The largest decoder reduction (1/2, 1/4, 1/8) that leaves at least long_min."""
    long_side = max(head.width, head.height)
    return next((f for f in (8, 4, 2) if long_side // f >= long_min), 1)


def decode_cost(head: Header, factor: int, gray: bool) -> Cost:
    out = -(-head.width // factor) * -(-head.height // factor)
    full = head.width * head.height
    if head.kind == "jpeg":
        pixels = full if head.progressive else out
        held = 2 * head.samples if head.progressive else 0
        return Cost(pixels, held + out * _OUT_BYTES[gray] + _SLACK)
    if factor == 1:
        return Cost(full, full * max(_full_bytes(head), _OUT_BYTES[gray]) + _SLACK)
    return Cost(full, full * _full_bytes(head) + out * _OUT_BYTES[gray] + _SLACK)


def thumbnail_cost(head: Header) -> Cost:
    return decode_cost(head, 8, gray=True)


# A render also holds its own output while the decoded image is alive: the image shrunk to
# max_side, its padded square and the encoder's JPEG buffer, each at most 3 bytes a pixel of a
# max_side square. Small next to a big decode, it is what tipped a reduced 6000x6000 JPEG (a
# 750x750 decode) over the estimate in one clean-clone run.
_RENDER_OUT_BYTES = 9


def render_cost(head: Header, max_side: int) -> Cost:
    cost = decode_cost(head, _factor(head, max_side), gray=False)
    return Cost(cost.pixels, cost.bytes + _RENDER_OUT_BYTES * max_side * max_side)


_GRAY = {1: cv2.IMREAD_GRAYSCALE, 2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
         4: cv2.IMREAD_REDUCED_GRAYSCALE_4, 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}
_COLOR = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
          8: cv2.IMREAD_REDUCED_COLOR_8}


def thumbnail(data: bytes, head: Header) -> Gray:
    """A small grayscale view for motion. For JPEG, libjpeg decodes at 1/8 scale from the DCT
    coefficients, so this costs a fraction of a full decode (PNG and WebP are reduced after)."""
    img = cv2.imdecode(_buf(data), _GRAY[8])
    if img is None or img.size == 0:
        raise BadFrame("decode_failed", f"{head.kind} {head.width}x{head.height}")
    return _u8(cv2.resize(img, THUMB_SIZE, interpolation=cv2.INTER_AREA))


def _shrink(img: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    # INTER_AREA is the right filter for large reductions but costs 5x INTER_LINEAR at
    # fractional ones (1.5 vs 0.3 ms for 640x480 -> 512x384); above 1/2, bilinear reads every
    # source pixel anyway, so it does not alias.
    h, w = img.shape[:2]
    mild = size[0] * 2 >= w and size[1] * 2 >= h
    return _u8(cv2.resize(img, size, interpolation=cv2.INTER_LINEAR if mild else cv2.INTER_AREA))


@dataclass(frozen=True)
class Encoded:
    jpeg: bytes
    width: int
    height: int
    quality: int


def target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Fit inside max_side x max_side, aspect kept, never upscaled."""
    scale = min(1.0, max_side / width, max_side / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_fitted(data: bytes, head: Header, max_side: int) -> npt.NDArray[np.uint8]:
    """Decoded at the largest reduction that still leaves max_side: for JPEG libjpeg scales the
    DCT (memory near the output size); for PNG and WebP it halves the decoder's peak."""
    img = cv2.imdecode(_buf(data), _COLOR[_factor(head, max_side)])
    if img is None or img.size == 0:
        raise BadFrame("decode_failed", f"{head.kind} {head.width}x{head.height}")
    # The decoder applies EXIF orientation, so size the output from what it returned.
    h, w = img.shape[:2]
    tw, th = target_size(w, h, max_side)
    return _shrink(_u8(img), (tw, th)) if (tw, th) != (w, h) else _u8(img)


def _pad(img: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    h, w = img.shape[:2]
    top, left = (side - h) // 2, (side - w) // 2
    return _u8(cv2.copyMakeBorder(img, top, side - h - top, left, side - w - left,
                                  cv2.BORDER_CONSTANT, value=(0, 0, 0)))


def encode_budget(img: npt.NDArray[np.uint8], budget: int, quality: int, min_quality: int,
                  pad_to: int = 0) -> Encoded:
    """JPEG under `budget` bytes: lower the quality first, then the size."""
    q = quality
    while True:
        out = _pad(img, pad_to) if pad_to else img
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if not ok:
            raise BadFrame("encode_failed")
        h, w = out.shape[:2]
        if buf.size <= budget:
            return Encoded(buf.tobytes(), w, h, q)
        if q > min_quality:
            q = max(min_quality, q - 15 if buf.size > 1.5 * budget else q - 8)
            continue
        if min(img.shape[:2]) <= 16:
            return Encoded(buf.tobytes(), w, h, q)  # cannot shrink further: best effort
        img = _shrink(img, (max(1, img.shape[1] * 3 // 4), max(1, img.shape[0] * 3 // 4)))


def render(data: bytes, head: Header, max_side: int, budget: int, quality: int,
           min_quality: int, pad: bool) -> Encoded:
    img = decode_fitted(data, head, max_side)
    return encode_budget(img, budget, quality, min_quality, max_side if pad else 0)
