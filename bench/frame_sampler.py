"""frame-sampler throughput against a naive sampler, in one run, on one core.

The naive baseline fully decodes, resizes and encodes every frame. The sampler probes the header,
decodes a 1/8-scale grayscale thumbnail for motion, and decodes (at reduced DCT scale), resizes
and encodes only the frames it sends. Both run single-threaded (cv2.setNumThreads(1)), so
frames/s here is frames per second per core. Time is simulated at the stream's frame rate, so
the sampler makes the same decisions it would make live.

    .venv/bin/python bench/frame_sampler.py [--fps 15] [--seconds 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from livebus_sampler import image, synthetic
from livebus_sampler.policy import RateConfig, SessionState
from livebus_sampler.probe import Limits, probe
from livebus_sampler.sampling import Output, sample

LIMITS = Limits(max_bytes=8 << 20, max_pixels=40_000_000, max_dimension=16_384)
SIDE, QUALITY = 512, 80
OUTPUT = Output(max_side=SIDE, quality=QUALITY)


def stream(width: int, height: int, fps: int, seconds: float, moving_share: float) -> list[bytes]:
    """Still stretches with sensor noise, moving stretches, and scene cuts between them."""
    scenes = [synthetic.scene(width, height, seed) for seed in (1, 2, 3)]
    n, frames, t = round(seconds * fps), [], 0.0
    block = 5 * fps  # 5 s blocks: still, then `moving_share` of the block moving, then a cut
    for i in range(n):
        k, pos = divmod(i, block)
        moving = pos >= block * (1 - moving_share)
        bg = scenes[k % len(scenes)]
        t = i / fps
        frames.append(synthetic.jpeg(synthetic.frame(bg, t if moving else None, seed=i)))
    return frames


def naive(data: bytes) -> bytes:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    h, w = img.shape[:2]
    tw, th = image.target_size(w, h, SIDE)
    img = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    assert ok
    return bytes(buf)


@dataclass
class Run:
    seconds: float
    emitted: int
    emitted_ms: list[float]


def run_naive(frames: list[bytes]) -> Run:
    times = []
    for data in frames:
        t0 = time.perf_counter()
        naive(data)
        times.append((time.perf_counter() - t0) * 1000)
    return Run(sum(times) / 1000, len(frames), times)


def run_sampler(frames: list[bytes], fps: int) -> Run:
    state, cfg, times, total = SessionState(), RateConfig(), [], 0.0
    for i, data in enumerate(frames):
        t0 = time.perf_counter()
        _, out = sample(state, data, probe(data, LIMITS), i / fps, cfg, OUTPUT)
        if out is not None:
            times.append((time.perf_counter() - t0) * 1000)
        total += time.perf_counter() - t0
    return Run(total, len(times), times)


def best(fn: Callable[[], Run], repeat: int) -> Run:
    return min((fn() for _ in range(repeat)), key=lambda r: r.seconds)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3, help="best of N (shared machines are noisy)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(f"frame-sampler bench: {args.fps} fps input, {args.seconds:.0f} s per stream, "
          f"best of {args.repeat}, one core (cv2 {cv2.__version__})")
    print(f"{'input':>9} {'stream':>13} {'naive f/s':>10} {'sampler f/s':>12} {'ratio':>6} "
          f"{'sent':>9} {'p50 ms':>7} {'p99 ms':>7} {'naive p50':>10}")
    for width, height in ((1280, 720), (1920, 1080)):
        for label, share in (("mostly still", 0.2), ("all moving", 1.0)):
            frames = stream(width, height, args.fps, args.seconds, share)
            base = best(functools.partial(run_naive, frames), args.repeat)
            ours = best(functools.partial(run_sampler, frames, args.fps), args.repeat)
            naive_fps, ours_fps = len(frames) / base.seconds, len(frames) / ours.seconds
            print(f"{width}x{height:<4} {label:>13} {naive_fps:10.0f} {ours_fps:12.0f} "
                  f"{ours_fps / naive_fps:5.1f}x {ours.emitted:4d}/{len(frames):<4d} "
                  f"{pct(ours.emitted_ms, 50):7.2f} {pct(ours.emitted_ms, 99):7.2f} "
                  f"{statistics.median(base.emitted_ms):10.2f}")
    print("f/s = input frames processed per second of CPU; p50/p99 = sampler time per sent frame "
          "(probe + thumbnail + decision + decode + resize + encode)")


if __name__ == "__main__":
    main()
