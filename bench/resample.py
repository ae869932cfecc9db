"""The gateway's input resampler: microseconds per 20 ms chunk, per input rate (budget: 50 us).

Times what a session does per chunk: `SessionResampler.actions` on one `Audio` action (the
soxr stream, the int16 conversion both ways), on speech-like audio, after a warm-up.

    .venv/bin/python bench/resample.py [--chunks 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from livebus.edge.resample import SessionResampler
from livebus.edge.wire import Audio

RATES = (8000, 11025, 22050, 24000, 32000, 44100, 48000)
BUDGET_US = 50.0


def chunks(rate: int, n: int) -> list[Audio]:
    t = np.arange(n * rate // 50) / rate
    pcm = (np.sin(2 * np.pi * 140 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * 12000)
    data = pcm.astype("<i2").tobytes()
    step = rate // 50 * 2
    return [Audio(data[i:i + step], rate) for i in range(0, len(data), step)]


def per_chunk_us(rate: int, n: int) -> float:
    r = SessionResampler()
    items = chunks(rate, n)
    for a in items[:200]:
        r.actions([a])
    started = time.perf_counter()
    for a in items:
        r.actions([a])
    return (time.perf_counter() - started) / len(items) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--chunks", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    print(f"{'rate':>6}  us per 20 ms chunk (median of {args.repeat})")
    worst = 0.0
    for rate in RATES:
        us = statistics.median(per_chunk_us(rate, args.chunks) for _ in range(args.repeat))
        worst = max(worst, us)
        print(f"{rate:>6}  {us:6.1f}")
    print(f"worst {worst:.1f} us; budget {BUDGET_US:.0f} us: "
          f"{'within' if worst < BUDGET_US else 'OVER'}")


if __name__ == "__main__":
    main()
