"""Holding a session's lease while it lives, and letting go of it for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livebus.runtime import cancel_and_wait
from livebus.sessions import Lease, LeaseLost

log = logging.getLogger(__name__)


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
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.lease.renew()
            except LeaseLost as e:
                log.warning("lost the session to %s", e)
                self.on_lost()
                return
            except Exception as e:  # NATS away: retry; the lease outlives short outages
                log.debug("lease renewal failed (%s)", type(e).__name__)

    async def stop(self) -> None:
        """Stop renewing (the renewer is cancelled before anything else happens)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def release(self) -> None:
        await self.stop()  # first: a renewal still running must not re-create it
        await self.lease.release()
