"""Decode buffers go back to the OS: RSS after a burst of large decodes on worker threads comes
back near where it started (measured in a fresh process). Without memory.tune and memory.trim
this burst took RSS from 61 to 121 MB."""

from __future__ import annotations

import subprocess
import sys

_BURST = r"""
from concurrent.futures import ThreadPoolExecutor
import cv2, numpy as np
from livebus_sampler import image, memory
from livebus_sampler.probe import Limits, probe
memory.tune()
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
sizes = [(1200 + 97 * i) for i in range(24)]  # many sizes: the allocator cannot reuse one block
files = [cv2.imencode(".png", np.full((s, s, 3), 99, np.uint8))[1].tobytes() for s in sizes]
limits = Limits(64 << 20, 40_000_000, 16_384)
def render(data):
    return image.render(data, probe(data, limits), 512, 30_000, 80, 30, False)
with ThreadPoolExecutor(2) as pool:
    list(pool.map(render, files[:2]))
    memory.trim()
    before = rss()
    for _ in range(3):
        list(pool.map(render, files))
    pool.submit(memory.trim).result()
print(before, rss())
"""


def test_rss_returns_after_a_burst_of_decodes() -> None:
    out = subprocess.run([sys.executable, "-c", _BURST], capture_output=True, text=True,
                         check=True, timeout=90)
    before, after = (int(v) for v in out.stdout.split())
    assert after <= before * 1.10, (before, after)
