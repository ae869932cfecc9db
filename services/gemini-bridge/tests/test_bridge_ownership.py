"""The lease keeper: renews, reports a loss, and stops renewing before it releases."""

from __future__ import annotations

import asyncio

from livebus.sessions import LeaseLost
from livebus_bridge.ownership import LeaseKeeper


class FakeLease:
    """The Lease seam: records renewals and the release, in order."""

    def __init__(self, lose_after: int = 1000) -> None:
        self.calls: list[str] = []
        self.lose_after = lose_after
        self.renewing = asyncio.Event()

    async def renew(self) -> None:
        self.calls.append("renew")
        if self.calls.count("renew") > self.lose_after:
            raise LeaseLost("bridge-b")
        self.renewing.set()
        await asyncio.sleep(0.05)  # a renewal takes a while
        self.calls.append("renewed")

    async def release(self) -> None:
        self.calls.append("release")


async def test_release_cancels_a_renewal_under_way_first() -> None:
    lease = FakeLease()
    keeper = LeaseKeeper(lease, 0.03, lambda: None)  # type: ignore[arg-type]
    keeper.start()
    await lease.renewing.wait()
    await keeper.release()
    await asyncio.sleep(0.05)
    assert lease.calls[-1] == "release" and lease.calls.count("release") == 1
    assert "renewed" not in lease.calls  # the renewal under way never finished


async def test_a_lost_lease_is_reported_once_and_renewing_stops() -> None:
    lost: list[bool] = []
    lease = FakeLease(lose_after=1)
    keeper = LeaseKeeper(lease, 0.03, lambda: lost.append(True))  # type: ignore[arg-type]
    keeper.start()
    await asyncio.sleep(0.2)
    assert lost == [True] and lease.calls.count("renew") == 2
    await keeper.stop()
