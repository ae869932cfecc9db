"""Leases through a leader change, against a real nats-server: a renewal whose write was stored
but whose answer was lost (a timeout) must not give the session away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.errors import TimeoutError as NatsTimeout
from nats.js.kv import KeyValue

from livebus import bus
from livebus.sessions import Lease, SessionStore
from livebus_dev.testing.nats import running_nats


class LostAnswers:
    """The bucket, except that the next `lose` writes are stored and then time out."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.lose = 0

    async def _lossy(self, rev: int) -> int:
        if self.lose:
            self.lose -= 1
            raise NatsTimeout
        return rev

    async def update(self, key: str, value: bytes, last: int | None = None) -> int:
        return await self._lossy(await self.kv.update(key, value, last=last))

    async def create(self, key: str, value: bytes) -> int:
        return await self._lossy(await self.kv.create(key, value))

    def __getattr__(self, name: str) -> object:
        return getattr(self.kv, name)


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
