"""The session record (handle, prompt tokens, last control seq sent and logged), kept written.

A save that fails (a stream electing a leader after its node died: seconds) is retried in the
background until the latest state is stored, so a successor never works from a stale record
for longer than NATS is unavailable. Callers wait (bounded) for their version to be stored, or
ask now (`request`) and wait later (`stored`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from livebus.sessions import SessionStore

log = logging.getLogger(__name__)


class RecordKeeper:
    def __init__(self, store: SessionStore, session_id: str,
                 state: Callable[[], dict[str, Any]], retry_max_s: float = 0.25) -> None:
        self.store = store
        self.session_id = session_id
        self.state = state
        self.retry_max_s = retry_max_s
        self.stopped = False  # the session is someone else's now: never write again
        self.version = 0  # of the state asked to be saved
        self.saved = 0    # the newest version stored
        self._wake = asyncio.Event()
        self._stored = asyncio.Condition()

    def request(self) -> int:
        """Ask for the current state to be stored, without waiting; the version to wait for."""
        self.version += 1
        self._wake.set()
        return self.version

    async def stored(self, version: int, within_s: float) -> bool:
        """Wait at most `within_s` until `version` (or a newer one) is stored."""
        if self.saved < version and not self.stopped:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within_s), self._stored:
                    await self._stored.wait_for(lambda: self.saved >= version)
        return self.saved >= version

    async def save(self, within_s: float = 0.5) -> None:
        """Ask for the current state to be stored; wait for it at most `within_s`."""
        await self.stored(self.request(), within_s)

    async def run(self) -> None:
        wait = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            version = self.version
            if self.stopped:
                return
            try:
                async with asyncio.timeout(1.0):
                    await self.store.save(self.session_id, **self.state())
            except Exception as e:
                log.debug("session record not saved (%s); retrying", type(e).__name__)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.retry_max_s)
                self._wake.set()
                continue
            wait = 0.05
            async with self._stored:
                self.saved = max(self.saved, version)
                self._stored.notify_all()
