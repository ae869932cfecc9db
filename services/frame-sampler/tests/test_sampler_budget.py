from __future__ import annotations

import asyncio

from livebus_sampler.budget import DecodeMemory, PixelRate


def test_pixel_rate_refills_up_to_its_burst() -> None:
    r = PixelRate(rate=100, burst=300, now=0.0)
    assert r.take(250, now=0.0) and not r.take(100, now=0.0)
    assert r.take(100, now=0.5)      # 50 left + 50 refilled
    assert r.full(now=100.0) and r.tokens == 300


def test_video_may_run_one_frame_into_debt_not_two() -> None:
    r = PixelRate(rate=100, burst=100, now=0.0)
    assert r.allow(now=0.0)
    r.charge(350)                    # the frame turned out to cost more than the balance
    assert not r.allow(now=1.0)      # -250 + 100
    assert r.allow(now=3.1)


async def test_decode_memory_bounds_what_is_held_at_once() -> None:
    mem = DecodeMemory(100)
    held: list[int] = []

    async def decode(n: int) -> None:
        async with mem.hold(n):
            held.append(mem.held)
            await asyncio.sleep(0.01)

    await asyncio.gather(*[decode(n) for n in (60, 60, 30, 500, 10)])
    assert max(held) <= 100 and mem.held == 0
    assert 100 in held  # the one asking for more than everything ran alone
