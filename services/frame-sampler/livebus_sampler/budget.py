"""Limits on what costs: decode memory in flight per replica, decoded pixels per second per
session. Both live on the event loop (one thread), so they need no locks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


class DecodeMemory:
    """A weighted semaphore over the bytes that decodes may hold at once on this replica.

    A decode asking for more than the whole capacity waits until it runs alone."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        want = min(nbytes, self.capacity)
        async with self._changed:
            await self._changed.wait_for(lambda: self.held + want <= self.capacity)
            self.held += want
        try:
            yield
        finally:
            async with self._changed:
                self.held -= want
                self._changed.notify_all()


class PixelRate:
    """A token bucket of decoded pixels: `rate` a second, at most `burst` saved up.

    Stills pay before they are decoded (`take`); video frames are decoded while the balance is
    positive and pay what they actually decoded afterwards (`charge`), so a session may run a
    frame into debt but never two."""

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self._at = time.monotonic() if now is None else now

    def _refill(self, now: float | None) -> None:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now

    def allow(self, now: float | None = None) -> bool:
        self._refill(now)
        return self.tokens > 0

    def charge(self, pixels: int) -> None:
        self.tokens -= pixels

    def take(self, pixels: int, now: float | None = None) -> bool:
        self._refill(now)
        if pixels > self.tokens:
            return False
        self.tokens -= pixels
        return True

    def full(self, now: float | None = None) -> bool:
        self._refill(now)
        return self.tokens >= self.burst
