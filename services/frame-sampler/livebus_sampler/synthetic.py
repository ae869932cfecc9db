"""A synthetic camera for the tests and the benchmark: a still scene with sensor noise, an object
that moves across it, and a different scene for cuts."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


def scene(width: int, height: int, seed: int = 1) -> Image:
    """A textured still background: gradient, shapes and text."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width, dtype=np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    base = np.stack([80 + 120 * x + 0 * y, 60 + 100 * y + 0 * x, 140 - 60 * x * y], axis=-1)
    img = np.ascontiguousarray(base.astype(np.uint8))
    for _ in range(12):
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (p1[0] + int(rng.integers(4, max(5, width // 4))),
              p1[1] + int(rng.integers(4, max(5, height // 4))))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, p1, p2, color, -1)
    cv2.putText(img, f"livebus {seed}", (width // 10, height // 2), cv2.FONT_HERSHEY_SIMPLEX,
                width / 400, (250, 250, 250), max(1, width // 300))
    return img


def frame(background: Image, t: float | None, noise: int = 2, seed: int = 0) -> Image:
    """The background with a little sensor noise; with `t`, a ball moving across it."""
    img = background.copy()
    if noise:
        rng = np.random.default_rng(seed)
        jitter = rng.integers(-noise, noise + 1, img.shape, dtype=np.int16)
        img = np.clip(img.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
    if t is not None:
        h, w = img.shape[:2]
        r = max(8, h // 10)
        span = w - 2 * r
        pos = (t * w * 0.4) % (2 * span)  # crosses 40% of the width per second, bouncing
        cx = int(r + (pos if pos < span else 2 * span - pos))
        cy = int(h / 2 + h / 4 * np.sin(t * 3))
        cv2.circle(img, (cx, cy), r, (20, 220, 240), -1)
    return img


def jpeg(img: Image, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def encode(img: Image, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()
