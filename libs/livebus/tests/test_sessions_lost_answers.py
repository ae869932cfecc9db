"""Leases through a leader change, against a real nats-server: a renewal whose write was stored
but whose answer was lost (a timeout) must not give the session away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.errors import TimeoutError as NatsTimeout

from livebus import bus
from livebus.sessions import Lease, SessionStore
from livebus_dev.testing.kv import LostAnswers
from livebus_dev.testing.nats import running_nats


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture
async def store(nats_url: str) -> AsyncIterator[SessionStore]:
    nc = await bus.connect(nats_url, "test")
    try:
        yield await SessionStore.open(nc.jetstream(), lease_ttl_s=5.0, record_ttl_s=60.0)
    finally:
        await nc.close()


async def test_a_renewal_whose_answer_was_lost_keeps_the_lease(store: SessionStore) -> None:
    kv = LostAnswers(store.leases)
    lease = Lease(kv, "s-renew", "bridge-a")  # type: ignore[arg-type]
    assert await lease.acquire(1.0)
    kv.lose = 1
    with pytest.raises(NatsTimeout):
        await lease.renew()  # stored, but we do not know its revision
    await lease.renew()      # recognises its own write: no LeaseLost
    await lease.renew()
    assert (await store.leases.get("s-renew")).value == b"bridge-a"
    other = Lease(store.leases, "s-renew", "bridge-b")
    assert not await other.acquire(0.2)


async def test_a_create_whose_answer_was_lost_is_ours(store: SessionStore) -> None:
    kv = LostAnswers(store.leases)
    lease = Lease(kv, "s-create", "bridge-a")  # type: ignore[arg-type]
    kv.lose = 1
    assert await lease.acquire(1.0)  # the retry finds its own value
    await lease.renew()
    assert (await store.leases.get("s-create")).value == b"bridge-a"
