"""Publish synthetic camera streams on the bus and collect what the sampler sends."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from livebus import headers, subjects
from livebus_sampler import synthetic


@dataclass
class Sampled:
    t: float
    width: int
    height: int
    size: int
    still: bool


@dataclass
class Collector:
    """Every sampled frame, by session, with its arrival time and decoded size."""

    frames: dict[str, list[Sampled]] = field(default_factory=dict)

    async def on_msg(self, msg: Msg) -> None:
        img = cv2.imdecode(np.frombuffer(msg.data, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None, "sampler sent something that is not an image"
        assert (msg.headers or {}).get(headers.MIME) == "image/jpeg"
        sid = msg.subject.rsplit(".", 1)[-1]
        self.frames.setdefault(sid, []).append(Sampled(
            time.monotonic(), img.shape[1], img.shape[0], len(msg.data),
            (msg.headers or {}).get(headers.STILL) == "1"))

    def times(self, sid: str, start: float, end: float) -> list[float]:
        return [f.t for f in self.frames.get(sid, []) if start <= f.t < end]


def rate(times: list[float]) -> float:
    """Frames per second from the mean interval."""
    assert len(times) >= 3, times
    return (len(times) - 1) / (times[-1] - times[0])


def clip(width: int, height: int, still_s: float, moving_s: float, fps: int,
         seed: int = 1) -> list[bytes]:
    bg = synthetic.scene(width, height, seed)
    n_still, n_moving = round(still_s * fps), round(moving_s * fps)
    # Sensor noise differs per frame: a still scene is never byte-identical.
    return ([synthetic.jpeg(synthetic.frame(bg, None, seed=i)) for i in range(n_still)]
            + [synthetic.jpeg(synthetic.frame(bg, i / fps, seed=i)) for i in range(n_moving)])


async def play(nc: NATS, streams: dict[str, list[bytes]], fps: int) -> float:
    """Publish each session's frames in real time; returns the monotonic start."""
    start = time.monotonic()
    n = max(len(frames) for frames in streams.values())
    for i in range(n):
        for sid, frames in streams.items():
            if i < len(frames):
                await nc.publish(subjects.video_raw(sid), frames[i],
                                 headers={headers.MIME: "image/jpeg"})
        await nc.flush()
        await asyncio.sleep(max(0.0, start + (i + 1) / fps - time.monotonic()))
    return start
