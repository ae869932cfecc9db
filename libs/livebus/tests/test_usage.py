"""Usage totals per user and day in a real nats-server's KV: per-opening keys, summed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from livebus import bus, usage
from livebus.usage import UsageStore
from livebus_dev.testing.nats import running_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture
async def stores(nats_url: str) -> AsyncIterator[list[UsageStore]]:
    """Two stores on two connections: two bridges writing at once."""
    ncs = [await bus.connect(nats_url, f"test-{i}") for i in range(2)]
    try:
        yield [await UsageStore.open(nc.jetstream(), ttl_s=3600.0) for nc in ncs]
    finally:
        for nc in ncs:
            await nc.close()


def record(user: str, session: str, epoch: int, audio: int, seconds: float,
           day: str = "2026-12-02", room: str = "") -> dict[str, Any]:
    tokens = {"prompt": {"audio": audio}, "response": {"audio": 2 * audio}, "cached": {"text": 5}}
    rec = {"user": user, "session": session, "epoch": epoch, "day": day, "tokens": tokens,
           "seconds": seconds, "messages": 1}
    return {**rec, "room": room} if room else rec


async def test_a_users_day_sums_every_opening_written_by_any_bridge(
        stores: list[UsageStore]) -> None:
    a, b = stores
    await asyncio.gather(a.put(record("ada", "s1", 1, 10, 30.0)),
                         b.put(record("ada", "s1", 2, 20, 15.0)),  # moved to another bridge
                         b.put(record("ada", "s2", 7, 1, 6.0)),
                         a.put(record("bob@example.com", "s3", 1, 100, 60.0)),
                         a.put(record("ada", "s4", 1, 1000, 1.0, day="2026-12-01")))
    await a.put(record("ada", "s1", 1, 11, 31.0))  # a later flush replaces the opening's own
    ada = usage.summed(await b.records("2026-12-02", "ada"))
    assert ada["tokens"] == {"prompt": {"audio": 32}, "response": {"audio": 64},
                             "cached": {"text": 15}}
    assert ada["totalTokens"] == 96  # cached tokens are part of the prompt, not added
    assert (ada["sessions"], ada["seconds"], ada["minutes"]) == (2, 52.0, 0.867)
    assert len(await a.records("2026-12-02")) == 4
    assert await a.records("2026-12-03", "ada") == []


async def test_a_rooms_day_sums_its_sessions_of_any_user_and_the_users_keep_theirs(
        stores: list[UsageStore]) -> None:
    a, b = stores
    day = "2026-11-30"
    await asyncio.gather(a.put(record("cy", "r1", 1, 10, 30.0, day, room="standup-7")),
                         b.put(record("cy", "r1", 2, 20, 15.0, day, room="standup-7")),
                         b.put(record("dee", "r2", 1, 3, 6.0, day, room="standup-7")),
                         a.put(record("dee", "r3", 1, 100, 60.0, day, room="standup-70")),
                         a.put(record("dee", "r4", 1, 1000, 9.0, day)),
                         b.put(record("cy", "r5", 1, 7, 1.0, "2026-11-29", room="standup-7")))
    room = usage.summed(await b.room_records(day, "standup-7"))
    assert room["tokens"]["prompt"] == {"audio": 33} and room["sessions"] == 2
    assert room["seconds"] == 51.0
    dee = usage.summed(await a.records(day, "dee"))
    assert dee["tokens"]["prompt"] == {"audio": 1103} and dee["sessions"] == 3
    assert await a.room_records(day, "nobody") == []
    with pytest.raises(ValueError):
        await a.room_records(day, "a.>")
    with pytest.raises(ValueError):
        await a.put(record("cy", "r6", 1, 1, 1.0, day, room="a*b"))


def test_room_ids() -> None:
    assert usage.valid_room("Room_1-b") and usage.valid_room("x" * 64)
    for bad in ("", "x" * 65, "a.b", "a*", ">", "a b", "é", "a/b", "a\n"):
        assert not usage.valid_room(bad), bad


def test_names_days_and_totals() -> None:
    assert usage.user_key("a.b c*") == usage.user_key("a.b c*")
    assert len(usage.user_key("x" * 500)) == 32 and "." not in usage.user_key("a.b")
    assert usage.day_of(0) == "1970-01-01"
    assert usage.valid_day("2026-12-02") and not usage.valid_day("2026-13-02")
    assert not usage.valid_day("2026-12-2") and not usage.valid_day("../x")
    tokens: usage.Tokens = {}
    usage.add(tokens, "thoughts", "text", 3)
    usage.add(tokens, "thoughts", "text", 0)
    assert usage.total(tokens) == 3 and tokens == {"thoughts": {"text": 3}}
