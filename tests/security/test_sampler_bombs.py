"""Uploads cannot amplify in the frame-sampler (issue 12, item 6, sampler half).

A real sampler process on a real nats-server receives a burst of 800 uploaded-still requests:
PNGs of 6000x6000 single-colour pixels (~150 KB, which used to decode to 200 MB each) and PNGs
within the limit (4000x4000, decoded at a quarter), from three flooding sessions and from
requesters that name none. Each is answered quickly (a refusal or a JPEG), the process's RSS
comes back to within 10 % of its baseline, and another session's video stream keeps being
sampled throughout. The requesters keep at most 32 MiB of uploads in flight: nats-server cuts
a subscriber that falls more than max_pending (64 MiB) behind as a slow consumer, whatever it
does with what it has read, and a starved process on a busy machine does fall behind. What
happens then is the second test: only the sampler's stills connection is cut, and it comes back;
video sampling goes on.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from prometheus_client.parser import text_string_to_metric_families

from livebus import bus, headers, subjects
from livebus_dev import procs
from livebus_dev.testing.nats import running_nats
from livebus_sampler import synthetic

pytestmark = pytest.mark.slow

FPS = 12
BURST = 800
IN_FLIGHT_BYTES = 32 << 20  # half of nats-server's default max_pending per connection


def _png(side: int) -> bytes:
    img = np.full((side, side, 4), (40, 120, 200, 255), np.uint8)
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    return buf.tobytes()


@dataclass
class Sampler:
    nats_url: str
    proc: procs.Proc
    health_port: int

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    def nats_events(self) -> dict[tuple[str, str], float]:
        """livebus_nats_events_total by (connection, event), from the sampler's /metrics."""
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        return {(s.labels["connection"], s.labels["event"]): s.value
                for family in text_string_to_metric_families(text)
                if family.name == "livebus_nats_events"
                for s in family.samples if s.name == "livebus_nats_events_total"}


@pytest.fixture(scope="module")
def sampler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sampler]:
    tmp: Path = tmp_path_factory.mktemp("bombs")
    with running_nats(tmp) as url:
        port = procs.free_port()
        env = procs.child_env({"LIVEBUS_SAMPLER_NATS_URL": url,
                               "LIVEBUS_SAMPLER_HEALTH_PORT": str(port),
                               "LIVEBUS_SAMPLER_INSTANCE_ID": "sampler-bombs"})
        p = procs.Proc("sampler", procs.python_module("livebus_sampler"), env,
                       tmp / "sampler.log").start()
        try:
            procs.wait_http_ok(f"http://127.0.0.1:{port}/readyz", proc=p)
            yield Sampler(url, p, port)
        finally:
            p.stop()


@dataclass
class Video:
    """One well-behaved session's camera, and when its sampled frames came back."""

    nc: NATS
    sid: str = "video-ok"
    arrivals: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_sampled(self, _msg: Msg) -> None:
        self.arrivals.append(time.monotonic())

    async def play(self) -> None:
        bg = synthetic.scene(640, 360)
        frames = [synthetic.jpeg(synthetic.frame(bg, i / FPS, seed=i)) for i in range(FPS * 2)]
        start = time.monotonic()
        for i in itertools.count():
            if self.stop.is_set():
                return
            await self.nc.publish(subjects.video_raw(self.sid), frames[i % len(frames)],
                                  headers={headers.MIME: "image/jpeg"})
            await asyncio.sleep(max(0.0, start + (i + 1) / FPS - time.monotonic()))


class Peak:
    """The highest RSS seen, sampled on a thread every 20 ms."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler, self.kb, self._stop = sampler, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.kb = max(self.kb, self.sampler.rss_kb())

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def _ask(nc: NATS, data: bytes, session: str) -> tuple[float, str]:
    """(seconds to the answer, its error header or "jpeg")."""
    hdrs = {headers.MIME: "image/png"}
    if session:
        hdrs[headers.SESSION] = session
    t0 = time.monotonic()
    reply = await nc.request(subjects.SAMPLER_STILL, data, timeout=10, headers=hdrs)
    took = time.monotonic() - t0
    error = (reply.headers or {}).get(headers.ERROR)
    if error is None:
        assert reply.data[:3] == b"\xff\xd8\xff"
    return took, error or "jpeg"


async def _settle(sampler: Sampler, seconds: float) -> int:
    """The lowest RSS over `seconds` (allocators give memory back in steps)."""
    low = sampler.rss_kb()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        low = min(low, sampler.rss_kb())
    return low


async def test_a_burst_of_png_bombs_is_answered_fast_and_leaves_no_growth(
        sampler: Sampler) -> None:
    bomb, fits = _png(6000), _png(4000)
    nc = await bus.connect(sampler.nats_url, "test-bridge")
    video = Video(await bus.connect(sampler.nats_url, "test-gateway-video"))
    await nc.subscribe(subjects.video_sampled(video.sid), cb=video.on_sampled)
    await nc.flush()
    player = asyncio.create_task(video.play())
    try:
        # Warm up every path once (threads, codec tables), then take the baseline.
        assert (await _ask(nc, fits, "warm"))[1] == "jpeg"
        assert (await _ask(nc, bomb, "warm"))[1] == "too_many_pixels"
        await asyncio.sleep(1.5)
        assert video.arrivals, "the video session is sampled before the burst"
        baseline = await _settle(sampler, 1.0)
        kinds = [(bomb if i % 4 else fits, ("f0", "f1", "f2", "")[i % 4 if i % 8 else 3])
                 for i in range(BURST)]
        burst_start = time.monotonic()
        in_flight = asyncio.Semaphore(IN_FLIGHT_BYTES // len(bomb))

        async def bounded(data: bytes, session: str) -> tuple[float, str]:
            async with in_flight:
                return await _ask(nc, data, session)

        with Peak(sampler) as peak:
            answers = await asyncio.gather(*[bounded(data, s) for data, s in kinds])
        burst_s = time.monotonic() - burst_start
        await asyncio.sleep(1.0)
        video.stop.set()
        await player
        after = await _settle(sampler, 4.0)
    finally:
        video.stop.set()
        await nc.close()
        await video.nc.close()
    took = sorted(t for t, _ in answers)
    outcomes = {k: sum(1 for _, o in answers if o == k) for k in {o for _, o in answers}}
    print(f"burst {burst_s:.2f}s, answers p50 {took[len(took) // 2]:.3f}s max {took[-1]:.3f}s, "
          f"{outcomes}; RSS baseline {baseline} kB, peak {peak.kb} kB, after {after} kB")
    bombs = [o for (data, _), (_, o) in zip(kinds, answers, strict=True) if data is bomb]
    assert set(bombs) == {"too_many_pixels"}, "every bomb is refused from its header"
    assert outcomes.get("jpeg", 0) >= 1, "uploads within the limit are still downsized"
    assert set(outcomes) <= {"too_many_pixels", "busy", "jpeg"}, outcomes
    assert took[-1] < 4.0, "nothing waits beyond the queue's 2 s bound plus one decode"
    assert after <= baseline * 1.10, (baseline, after)
    during = [t for t in video.arrivals if burst_start <= t <= burst_start + burst_s + 1.0]
    gaps = [b - a for a, b in itertools.pairwise([burst_start, *during])]
    assert during and max(gaps) < 1.5, ("the other session kept being sampled", gaps)


async def test_a_flood_past_what_nats_buffers_cuts_only_the_stills_connection(
        sampler: Sampler) -> None:
    """The sampler stopped (as a starved process is) while 90 MB of stills arrive: nats-server
    cuts its stills connection as a slow consumer. The video connection is not cut, so the other
    session's frames are sampled again as soon as the process runs, and stills are answered again
    once their connection is back (the requesters saw no responders or a timeout meanwhile)."""
    bomb = _png(6000)
    nc = await bus.connect(sampler.nats_url, "test-bridge-flood")
    video = Video(await bus.connect(sampler.nats_url, "test-gateway-video-flood"))
    await nc.subscribe(subjects.video_sampled(video.sid), cb=video.on_sampled)
    await nc.flush()
    player = asyncio.create_task(video.play())
    name = "sampler-sampler-bombs"
    before = sampler.nats_events()
    try:
        await asyncio.sleep(1.0)
        assert video.arrivals, "the video session is sampled before the flood"
        os.kill(sampler.proc.pid, signal.SIGSTOP)
        try:
            for _ in range((90 << 20) // len(bomb)):
                await nc.publish(subjects.SAMPLER_STILL, bomb, reply=nc.new_inbox(),
                                 headers={headers.MIME: "image/png"})
            await nc.flush()
            await asyncio.sleep(1.0)
        finally:
            os.kill(sampler.proc.pid, signal.SIGCONT)
        resumed = time.monotonic()
        deadline = resumed + 20
        while True:
            try:
                _, outcome = await _ask(nc, bomb, "after-flood")
                break
            except (NoRespondersError, TimeoutError):
                assert time.monotonic() < deadline, "the stills connection came back"
                await asyncio.sleep(0.2)
        assert outcome == "too_many_pixels"
        while not any(t > resumed for t in video.arrivals):
            assert time.monotonic() < deadline, "video sampling went on"
            await asyncio.sleep(0.1)
    finally:
        video.stop.set()
        await player
        await nc.close()
        await video.nc.close()
    after = sampler.nats_events()
    cut = {c for (c, e), v in after.items() if e == "disconnect" and v > before.get((c, e), 0)}
    assert cut == {f"{name}-stills"}, cut
