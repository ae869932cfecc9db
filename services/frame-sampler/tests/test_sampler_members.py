"""Rendezvous ownership (pure) and the membership bucket (a real nats-server)."""

from __future__ import annotations

import asyncio
from collections import Counter

from livebus import bus, subjects
from livebus_sampler.members import Membership, owner

SESSIONS = [f"s{i}" for i in range(2000)]


def test_every_session_has_one_owner_and_spread_is_even() -> None:
    members = frozenset({"a", "b", "c", "d"})
    counts = Counter(owner(members, s) for s in SESSIONS)
    assert set(counts) == members
    assert all(400 <= n <= 600 for n in counts.values()), counts


def test_a_member_leaving_moves_only_its_own_sessions() -> None:
    before = {s: owner(frozenset({"a", "b", "c"}), s) for s in SESSIONS}
    after = {s: owner(frozenset({"a", "b"}), s) for s in SESSIONS}
    moved = [s for s in SESSIONS if before[s] != after[s]]
    assert moved and all(before[s] == "c" for s in moved)


async def test_members_see_each_other_and_a_leaver_is_gone(nats_url: str) -> None:
    nc = await bus.connect(nats_url, "test-members")
    seen: list[frozenset[str]] = []
    a = Membership(nc, "test_members", "a", ttl_s=1.0, heartbeat_s=0.1, on_change=seen.append)
    b = Membership(nc, "test_members", "b", ttl_s=1.0, heartbeat_s=0.1)
    try:
        await a.start()
        await b.start()
        for _ in range(30):
            if a.members == {"a", "b"}:
                break
            await asyncio.sleep(0.05)
        assert a.members == {"a", "b"}
        assert sum(a.owns(s) for s in SESSIONS) + sum(b.owns(s) for s in SESSIONS) == 2000
        await b.stop()
        for _ in range(30):
            if a.members == {"a"}:
                break
            await asyncio.sleep(0.05)
        assert a.members == {"a"} and seen[-1] == {"a"}
        assert all(a.owns(s) for s in SESSIONS)
    finally:
        await a.stop()
        await nc.close()


async def test_listing_members_never_misses_one_nor_leaves_consumers(nats_url: str) -> None:
    """KeyValue.keys() listed nothing about 1 call in 1000 (a member then took every session
    for a beat) and left a consumer per call on the server for 5 minutes (1000 of them, and
    every listing failed); the stream's subjects are one snapshot, with no consumer."""
    nc = await bus.connect(nats_url, "test-members-list")
    a = Membership(nc, "test_members_list", "a", ttl_s=30.0, heartbeat_s=60.0)
    b = Membership(nc, "test_members_list", "b", ttl_s=30.0, heartbeat_s=60.0)
    try:
        await a.start()
        await b.start()
        for _ in range(300):
            await a._beat()  # each beat lists the members
            assert a.members == {"a", "b"}
        info = await nc.jetstream().stream_info(subjects.kv_stream("test_members_list"))
        assert info.state.consumer_count == 0
        await b.stop()
        await a._beat()
        assert a.members == {"a"}, "the leaver's key is gone, not a delete marker listed"
    finally:
        await a.stop()
        await nc.close()
