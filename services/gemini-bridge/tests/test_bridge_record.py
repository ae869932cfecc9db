"""RecordKeeper: a failed save is retried until the latest state is stored; a stopped keeper
never writes again (the session is someone else's)."""

from __future__ import annotations

import asyncio
from typing import Any

from livebus_bridge.record import RecordKeeper


class FlakyStore:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.saved: list[dict[str, Any]] = []

    async def save(self, session_id: str, **fields: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise TimeoutError
        self.saved.append(fields)


async def test_failed_saves_are_retried_until_the_latest_state_is_stored() -> None:
    store = FlakyStore(failures=3)
    state = {"ctl_sent": 1}
    keeper = RecordKeeper(store, "s", lambda: dict(state), retry_max_s=0.05)  # type: ignore[arg-type]
    task = asyncio.create_task(keeper.run())
    try:
        await keeper.save(within_s=0.01)  # gives up waiting; the keeper does not
        state["ctl_sent"] = 2
        await keeper.save(within_s=0.01)
        async with asyncio.timeout(5):
            while keeper.saved < keeper.version:
                await asyncio.sleep(0.01)
        assert store.saved[-1] == {"ctl_sent": 2}
        keeper.stopped = True
        state["ctl_sent"] = 3
        await keeper.save(within_s=0.05)
        assert store.saved[-1] == {"ctl_sent": 2}
    finally:
        task.cancel()


class GatedStore:
    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.saved: list[dict[str, Any]] = []

    async def save(self, session_id: str, **fields: Any) -> None:
        await self.open.wait()
        self.saved.append(fields)


async def test_a_requested_save_is_stored_without_the_caller_waiting() -> None:
    store = GatedStore()
    state = {"ctl_sent": 1}
    keeper = RecordKeeper(store, "s", lambda: dict(state))  # type: ignore[arg-type]
    task = asyncio.create_task(keeper.run())
    try:
        version = keeper.request()  # returns at once
        assert not await keeper.stored(version, within_s=0.05)  # the store is slow
        store.open.set()
        assert await keeper.stored(version, within_s=5.0)
        assert store.saved == [{"ctl_sent": 1}]
        keeper.stopped = True  # nothing will be stored again: nobody waits for it
        async with asyncio.timeout(5):
            assert not await keeper.stored(keeper.request(), within_s=60.0)
    finally:
        task.cancel()
