"""The sampler in-process against a real nats-server: rates, sizes, bad frames, uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from livebus import bus, headers, subjects
from livebus.health import HealthServer
from livebus.v1 import bus_pb2
from livebus_sampler import synthetic
from livebus_sampler.service import Sampler
from livebus_sampler.settings import SamplerSettings

from .streams import Collector, clip, play, rate

FPS = 12


@pytest.fixture
async def sampler(nats_url: str) -> AsyncIterator[Sampler]:
    s = Sampler(SamplerSettings(nats_url=nats_url, health_port=0, max_input_bytes=900_000,
                                member_ttl_s=1.0, heartbeat_s=0.2))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_one_fps_still_three_fps_moving_all_within_512(
        nats_url: str, sampler: Sampler, collector: Collector) -> None:
    frames = clip(1280, 720, still_s=2.5, moving_s=2.5, fps=FPS)
    nc = await bus.connect(nats_url, "test-gateway-video")
    try:
        start = await play(nc, {"s1": frames}, FPS)
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    got = collector.frames["s1"]
    assert all((f.width, f.height) == (512, 288) and f.size <= 30_000 for f in got)
    still = collector.times("s1", start, start + 2.5)
    moving = collector.times("s1", start + 2.5, start + 5.5)
    assert 0.7 <= rate(still) <= 1.4, still
    assert 2.2 <= rate(moving) <= 3.8, moving
    assert len(got) < len(frames) / 2


async def test_bad_frames_are_counted_and_the_session_goes_on(
        nats_url: str, sampler: Sampler, collector: Collector) -> None:
    good = synthetic.jpeg(synthetic.scene(1280, 720))
    png = synthetic.encode(synthetic.scene(64, 64), ".png")
    bomb = bytearray(png)
    bomb[16:24] = (60_000).to_bytes(4, "big") * 2
    bad = {
        "not_image": b"GIF89a this is not a frame we take",
        "truncated": good[: len(good) // 2],
        "too_many_pixels": bytes(bomb),
        "oversized": good + b"\x00" * 900_000,
    }
    before = {r: _metric("livebus_sampler_frames_dropped_total", reason=r) for r in bad}
    nc = await bus.connect(nats_url, "test-gateway-video")
    try:
        for data in bad.values():
            await nc.publish(subjects.video_raw("s2"), data, headers={headers.MIME: "image/jpeg"})
            await nc.flush()
            await asyncio.sleep(0.05)  # one at a time: latest-wins would otherwise drop them
        await nc.publish(subjects.video_raw("s2"), good, headers={headers.MIME: "image/jpeg"})
        for _ in range(50):
            if collector.frames.get("s2"):
                break
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
    for reason in bad:
        assert _metric("livebus_sampler_frames_dropped_total", reason=reason) == \
            before[reason] + 1, reason
    assert [(f.width, f.height) for f in collector.frames["s2"]] == [(512, 288)]


async def test_uploaded_still_is_downsized_and_never_rate_dropped(
        nats_url: str, sampler: Sampler, collector: Collector) -> None:
    live = synthetic.jpeg(synthetic.scene(640, 360))
    upload = synthetic.encode(synthetic.scene(1500, 2000, seed=5), ".png")
    nc = await bus.connect(nats_url, "test-gateway-video")
    try:
        await nc.publish(subjects.video_raw("s3"), live, headers={headers.MIME: "image/jpeg"})
        await asyncio.sleep(0.2)
        for _ in range(3):  # 2.5 fps, above 1 fps: live frames would be rate-dropped
            await nc.publish(subjects.video_raw("s3"), upload,
                             headers={headers.MIME: "image/png", headers.STILL: "1"})
            await nc.flush()
            await asyncio.sleep(0.4)  # each is done before the next: none replaces another
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    got = collector.frames["s3"]
    assert [f.still for f in got] == [False, True, True, True]
    assert all((f.width, f.height) == (384, 512) for f in got[1:])


async def test_latest_frame_wins(nats_url: str, sampler: Sampler,
                                 collector: Collector) -> None:
    """A burst far faster than the sampler can work: nothing queues, the newest is kept."""
    stale = _metric("livebus_sampler_frames_dropped_total", reason="stale")
    frames = [synthetic.jpeg(synthetic.frame(synthetic.scene(1920, 1080), None, seed=i))
              for i in range(3)]
    uploads = [f for f in frames for _ in range(10)]
    nc = await bus.connect(nats_url, "test-gateway-video")
    try:
        for data in uploads:
            await nc.publish(subjects.video_raw("s4"), data,
                             headers={headers.MIME: "image/jpeg", headers.STILL: "1"})
        await nc.flush()
        await asyncio.sleep(1.0)
    finally:
        await nc.close()
    assert _metric("livebus_sampler_frames_dropped_total", reason="stale") - stale >= 10
    assert len(collector.frames["s4"]) < len(uploads) - 10


async def test_health(nats_url: str, sampler: Sampler) -> None:
    health = HealthServer("127.0.0.1", 0, sampler.ready)
    await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health.port}") as http:
            assert (await http.get("/readyz")).json()["ready"] is True
            text = (await http.get("/metrics")).text
            assert "livebus_sampler_frames_received_total" in text
    finally:
        await health.stop()


# -- what costs: decode size, stills per session and replica, pixels per second ---------------

def _png(side: int) -> bytes:
    import cv2
    import numpy as np
    ok, buf = cv2.imencode(".png", np.full((side, side, 4), (40, 120, 200, 255), np.uint8))
    assert ok
    return buf.tobytes()


async def _still(nc: bus.NATS, data: bytes, session: str) -> str:
    reply = await nc.request(subjects.SAMPLER_STILL, data, timeout=5,
                             headers={headers.MIME: "image/png", headers.SESSION: session})
    return (reply.headers or {}).get(headers.ERROR) or "jpeg"


async def test_a_png_bomb_is_refused_from_its_header(nats_url: str, sampler: Sampler,
                                                     collector: Collector) -> None:
    """~150 KB, 6000x6000 (within max_pixels): its decode would hold ~200 MB."""
    bomb = _png(6000)
    before = _metric("livebus_sampler_frames_dropped_total", reason="too_many_pixels")
    nc = await bus.connect(nats_url, "test-bridge")
    try:
        assert await _still(nc, bomb, "s5") == "too_many_pixels"
        await nc.publish(subjects.video_raw("s5"), bomb, headers={headers.MIME: "image/png"})
        await nc.flush()
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    assert _metric("livebus_sampler_frames_dropped_total", reason="too_many_pixels") == before + 2
    assert "s5" not in collector.frames


async def test_a_flooding_session_is_busy_and_another_still_gets_its_upload(
        nats_url: str, sampler: Sampler) -> None:
    big = _png(3000)  # within the limit, 9 Mpx
    nc = await bus.connect(nats_url, "test-bridge")
    try:
        flood = [asyncio.create_task(_still(nc, big, "flood")) for _ in range(30)]
        await asyncio.sleep(0.05)
        other = await _still(nc, synthetic.encode(synthetic.scene(800, 600), ".png"), "calm")
        answers = await asyncio.gather(*flood)
    finally:
        await nc.close()
    assert other == "jpeg"
    # Two at a time per session, and 20 Mpx/s of decoding: most of the flood is refused.
    assert answers.count("busy") >= 20 and "jpeg" in answers, answers


async def test_video_past_its_pixel_budget_is_dropped(nats_url: str,
                                                      collector: Collector) -> None:
    s = Sampler(SamplerSettings(nats_url=nats_url, health_port=0, member_ttl_s=1.0,
                                heartbeat_s=0.2, session_pixels_per_s=300_000,
                                session_pixel_burst=300_000))
    await s.start()
    before = _metric("livebus_sampler_frames_dropped_total", reason="pixel_budget")
    nc = await bus.connect(nats_url, "test-gateway-video")
    try:
        await play(nc, {"s6": clip(1280, 720, still_s=0, moving_s=2, fps=FPS)}, FPS)
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
        await s.stop()
    dropped = _metric("livebus_sampler_frames_dropped_total", reason="pixel_budget") - before
    sent = len(collector.frames.get("s6", []))
    # 1280x720 at 3 fps decodes ~0.7 Mpx/s (half-scale renders, 1/8 thumbnails): over 0.3.
    assert dropped >= 5 and 1 <= sent <= 4, (dropped, sent)


async def test_hostile_input_gets_defined_answers_and_one_log_line(
        nats_url: str, sampler: Sampler, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    caplog.set_level(logging.DEBUG, logger="livebus_sampler")
    png = synthetic.encode(synthetic.scene(64, 64), ".png")
    garbage = [b"", b"\x00" * 100, b"\xff\xd8\xff" + b"\xff" * 5000, png[:40], png[:-20],
               b"RIFF\xff\xff\xff\xffWEBP", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40 + b"IEND" * 4]
    nc = await bus.connect(nats_url, "test-hostile")
    try:
        for _ in range(10):
            for data in garbage:
                await nc.publish(subjects.video_raw("s7"), data,
                                 headers={headers.MIME: "image/jpeg"})
                await nc.flush()
                await asyncio.sleep(0.005)
        await nc.publish(subjects.SAMPLER_STILL, png)  # no reply subject: nothing to answer
        for data in garbage:
            reply = await nc.request(subjects.SAMPLER_STILL, data, timeout=2,
                                     headers={headers.SESSION: "x" * 10_000})
            assert reply.data == b"" and (reply.headers or {}).get(headers.ERROR) in (
                "not_image", "truncated", "bad_header"), data[:20]
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    lines = [r for r in caplog.records if r.name.startswith("livebus_sampler")]
    assert not any(r.exc_info for r in lines)
    assert len([r for r in lines if "s7" in r.getMessage()]) <= 3  # one per reason, not per frame


async def test_a_still_scene_nobody_speaks_over_goes_less_often(
        nats_url: str, sampler: Sampler, collector: Collector) -> None:
    """The bridge's speech state over NATS: s1 is quiet, in s2 the user speaks."""
    fps = 4
    frames = clip(640, 360, still_s=6.0, moving_s=0.0, fps=fps)
    nc = await bus.connect(nats_url, "test-bridge")

    async def speech() -> None:
        while True:
            for sid, user in (("s1", False), ("s2", True)):
                await nc.publish(subjects.speech(sid),
                                 bus_pb2.Speech(user=user).SerializeToString())
            await asyncio.sleep(0.25)

    talk = asyncio.create_task(speech())
    try:
        await play(nc, {"s1": frames, "s2": frames}, fps)
        await asyncio.sleep(0.3)
    finally:
        talk.cancel()
        await nc.close()
    quiet, speaking = len(collector.frames["s1"]), len(collector.frames["s2"])
    assert 5 <= speaking <= 7  # 1 fps
    assert quiet <= 3  # the first frame, then one every 5 s
