"""Session leases against a real nats-server (JetStream KV with a bucket TTL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from livebus import bus
from livebus.sessions import Lease, LeaseLost, SessionStore
from livebus_dev.testing.nats import running_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture
async def store(nats_url: str) -> AsyncIterator[SessionStore]:
    nc = await bus.connect(nats_url, "test")
    try:
        yield await SessionStore.open(nc.jetstream(), lease_ttl_s=1.0, record_ttl_s=60.0)
    finally:
        await nc.close()


async def owner_of(kv: KeyValue, key: str) -> bytes | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    return entry.value or None


async def test_one_owner_at_a_time_and_renewal_keeps_it(store: SessionStore) -> None:
    a, b = Lease(store.leases, "s1", "bridge-a"), Lease(store.leases, "s1", "bridge-b")
    assert await a.acquire(0.1)
    assert not await b.acquire(0.2)
    for _ in range(4):  # past the TTL, renewed every third of it
        await asyncio.sleep(0.33)
        await a.renew()
    assert await owner_of(store.leases, "s1") == b"bridge-a"
    await a.release()
    assert await b.acquire(0.5)


async def test_a_dead_owners_lease_expires_and_it_learns_it_lost(store: SessionStore) -> None:
    a, b = Lease(store.leases, "s2", "bridge-a"), Lease(store.leases, "s2", "bridge-b")
    assert await a.acquire(0.1)
    assert await b.acquire(3.0), "a's lease expired after the TTL"
    with pytest.raises(LeaseLost):
        await a.renew()
    await b.release()


async def test_a_released_lease_is_never_recreated_by_a_renewal(store: SessionStore) -> None:
    a = Lease(store.leases, "s3", "bridge-a")
    assert await a.acquire(0.1)
    renewal = asyncio.create_task(a.renew())  # a tick under way while the session ends
    await a.release()
    await renewal
    await a.renew()  # and a late one
    assert await owner_of(store.leases, "s3") is None


async def test_records_keep_fields_across_saves(store: SessionStore) -> None:
    await store.save("s4", handle="h1", ctl_sent=3)
    await store.save("s4", prompt_tokens=10)
    rec = await store.record("s4")
    assert (rec["handle"], rec["ctl_sent"], rec["prompt_tokens"]) == ("h1", 3, 10)
    assert await store.record("nope") == {}
