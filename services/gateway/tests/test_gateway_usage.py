"""usage.py: the top users gauge from the usage records in a real nats-server's KV, bounded to
the configured number of users (the REST routes: tests/integration/test_usage.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from livebus import bus, usage
from livebus.usage import UsageStore
from livebus_dev.testing.nats import running_nats
from livebus_gateway import metrics
from livebus_gateway import usage as gateway_usage
from livebus_gateway.settings import GatewaySettings


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nats(tmp_path_factory.mktemp("nats")) as url:
        yield url


def shown() -> dict[str, float]:
    return {s.labels["user"]: s.value for m in metrics.TOP_USER_TOKENS.collect()
            for s in m.samples}


async def until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.02)


async def test_only_the_heaviest_users_today_have_a_series(nats_url: str) -> None:
    nc = await bus.connect(nats_url, "test")
    store = await UsageStore.open(nc.jetstream(), ttl_s=3600.0)
    day = usage.day_of(time.time())

    async def spend(user: str, session: str, tokens: int) -> None:
        await store.put({"user": user, "session": session, "epoch": 1, "day": day,
                         "tokens": {"prompt": {"audio": tokens}, "cached": {"text": 10**9}}})

    await spend("ada", "s1", 300)
    await spend("ada", "s2", 200)
    await spend("bob", "s3", 400)
    await spend("cy", "s4", 100)
    await store.put({"user": "old", "session": "s5", "epoch": 1, "day": "2020-01-01",
                     "tokens": {"prompt": {"audio": 10**6}}})
    settings = GatewaySettings(usage_top_users=2, usage_top_refresh_s=0.05)
    task = asyncio.create_task(gateway_usage.top_users(
        SimpleNamespace(settings=settings, bus=SimpleNamespace(main=nc))))
    try:
        await until(lambda: shown() == {"ada": 500.0, "bob": 400.0})
        assert shown() == {"ada": 500.0, "bob": 400.0}  # cached tokens are not counted again
        await spend("cy", "s6", 1000)
        await until(lambda: "bob" not in shown())
        assert shown() == {"cy": 1100.0, "ada": 500.0}
    finally:
        task.cancel()
        await nc.close()
