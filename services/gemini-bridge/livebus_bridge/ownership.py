"""Holding a session's lease while it lives, and letting go of it for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from prometheus_client import Counter

from livebus.runtime import cancel_and_wait
from livebus.sessions import Lease, LeaseLost

log = logging.getLogger(__name__)

RENEWAL_FAILURES = Counter("livebus_bridge_lease_renewal_failures_total",
                           "Lease renewals that failed and were tried again at once")


class LeaseKeeper:
    """Renews every third of the TTL; on LeaseLost calls `on_lost` and stops."""

    def __init__(self, lease: Lease, ttl_s: float, on_lost: Callable[[], None]) -> None:
        self.lease = lease
        self.interval_s = ttl_s / 3
        self.on_lost = on_lost
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        """A renewal that fails (NATS away, a stream electing a leader, an answer lost) is
        tried again at once, each try bounded by the interval, until one succeeds: only
        LeaseLost (someone else's value in the key) gives the session away."""
        wait = self.interval_s
        while True:
            await asyncio.sleep(wait)
            try:
                async with asyncio.timeout(self.interval_s):
                    await self.lease.renew()
                wait = self.interval_s
            except LeaseLost as e:
                log.warning("lost the session to %s", e)
                self.on_lost()
                return
            except Exception as e:  # includes the timeout: a stored write is recognised next
                RENEWAL_FAILURES.inc()
                log.debug("lease renewal failed (%s)", type(e).__name__)
                wait = 0.05

    async def stop(self) -> None:
        """Stop renewing (the renewer is cancelled before anything else happens)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def release(self) -> None:
        await self.stop()  # first: a renewal still running must not re-create it
        await self.lease.release()
