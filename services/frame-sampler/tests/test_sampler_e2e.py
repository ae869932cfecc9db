"""The whole stack (NATS, emulator, bridge, gateway, two samplers as real processes) driven by the
unmodified google-genai SDK: what the emulator receives is what the model would see."""

from __future__ import annotations

import asyncio
import itertools
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.genai import types

from livebus_dev import procs
from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client, running_stack

from .streams import clip, rate

pytestmark = pytest.mark.slow

FPS = 12
CONFIG = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), samplers=2,
                       sampler_health_port=procs.free_port(),
                       extra_env={"LIVEBUS_SAMPLER_MEMBER_TTL_S": "1.0",
                                  "LIVEBUS_SAMPLER_HEARTBEAT_S": "0.25",
                                  # Nobody speaks here: keep the still cadence at 1 fps (the
                                  # quiet cadence is test_sampler_service's).
                                  "LIVEBUS_SAMPLER_QUIET_FPS": "1.0"}) as s:
        yield s


def _received(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("livebus_sampler_frames_received_total "):
                return float(line.split()[1])
    return 0.0


async def _upstream_open(stack: Stack, known: set[str]) -> None:
    """Wait until the bridge's upstream session is open, so the first frame is not held back."""
    for _ in range(100):
        if any(s["id"] not in known and s["open"] for s in await sessions(stack)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no upstream session at the emulator")


async def _arrivals(stack: Stack, known: set[str]) -> list[dict[str, Any]]:
    """Frames the emulator received for the new session, with `at` in wall-clock seconds."""
    new = [s for s in await sessions(stack) if s["id"] not in known and s["frames"]]
    assert len(new) == 1, "the emulator saw one new session with frames"
    return [{**f, "at": new[0]["started"] + f["t"]} for f in new[0]["frames"]]


async def _send(session: Any, frames: list[bytes], at: float) -> None:
    for i, data in enumerate(frames):
        await session.send_realtime_input(video=types.Blob(data=data, mime_type="image/jpeg"))
        await asyncio.sleep(max(0.0, at + (i + 1) / FPS - time.monotonic()))


async def test_still_then_moving_720p_reaches_the_model_at_1_then_3_fps(stack: Stack) -> None:
    known = {s["id"] for s in await sessions(stack)}
    frames = clip(1280, 720, still_s=2.5, moving_s=2.5, fps=FPS)
    async with gateway_client(stack).aio.live.connect(model=MODEL, config=CONFIG) as session:
        await _upstream_open(stack, known)
        start = time.time()
        await _send(session, frames, time.monotonic())
        await asyncio.sleep(0.5)
    seen = await _arrivals(stack, known)
    assert all(f["width"] <= 512 and f["height"] <= 512 for f in seen), seen
    assert all((f["width"], f["height"]) == (512, 288) for f in seen)
    assert all(f["bytes"] <= 30_000 for f in seen)
    at = [round(f["at"] - start, 3) for f in seen]
    still = [t for t in at if t < 2.4]
    moving = [t for t in at if 2.6 <= t < 5.5]
    assert 0.7 <= rate(still) <= 1.4, at
    assert 2.2 <= rate(moving) <= 3.8, at


async def test_stopping_the_owning_sampler_mid_stream_keeps_frames_flowing(
        stack: Stack) -> None:
    known = {s["id"] for s in await sessions(stack)}
    frames = clip(1280, 720, still_s=0, moving_s=6, fps=FPS)
    async with gateway_client(stack).aio.live.connect(model=MODEL, config=CONFIG) as session:
        await _upstream_open(stack, known)
        start = time.monotonic()
        sender = asyncio.create_task(_send(session, frames, start))
        await asyncio.sleep(2.0)
        before = [await asyncio.to_thread(_received, p) for p in stack.sampler_ports]
        await asyncio.sleep(0.5)
        after = [await asyncio.to_thread(_received, p) for p in stack.sampler_ports]
        working = [int(b > a) for a, b in zip(before, after, strict=True)]
        assert sorted(working) == [0, 1], (before, after)  # exactly one sampler owns it
        owner = next(p for p in stack.procs if p.name == f"frame-sampler-{working.index(1)}")
        await asyncio.to_thread(owner.stop)  # SIGTERM: leaves the member set, then exits
        await sender
        await asyncio.sleep(0.5)
    seen = [f["at"] for f in await _arrivals(stack, known)]
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(gaps) < 1.0, gaps
    assert 2.2 <= rate([t for t in seen if t >= seen[0] + 3.5]) <= 3.8, seen
    assert seen[-1] >= seen[0] + 5.3, "frames kept coming until the end of the stream"
