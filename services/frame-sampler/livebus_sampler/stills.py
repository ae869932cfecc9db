"""The queue of uploaded stills waiting for a decode: bounded per session and per replica.

A session holds at most `per_session` stills (queued or being decoded); a new one pushes out
that session's oldest queued still, which is answered "busy" (the newest upload is the one the
user is looking at). When the replica's queue is full a new still is answered "busy" at once, so
a flooding session never evicts another session's upload. Jobs go first in, first out."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from nats.aio.msg import Msg

from .image import Cost
from .probe import Header


@dataclass(eq=False)
class StillJob:
    msg: Msg
    session: str  # "" when the requester named none: the replica limits still apply
    head: Header
    cost: Cost
    queued: float  # monotonic


@dataclass
class Offer:
    accepted: bool
    evicted: list[StillJob] = field(default_factory=list)


class StillQueue:
    def __init__(self, per_session: int, total: int) -> None:
        self.per_session, self.total = per_session, total
        self._jobs: deque[StillJob] = deque()
        self._holding: dict[str, int] = {}  # session -> stills queued or being decoded
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._jobs)

    def holding(self, session: str) -> int:
        return self._holding.get(session, 0)

    def offer(self, job: StillJob) -> Offer:
        evicted: list[StillJob] = []
        if job.session and self.holding(job.session) >= self.per_session:
            oldest = next((j for j in self._jobs if j.session == job.session), None)
            if oldest is None:  # all of this session's stills are being decoded
                return Offer(False)
            self._jobs.remove(oldest)
            self._release(oldest)
            evicted.append(oldest)
        if len(self._jobs) >= self.total:
            return Offer(False, evicted)
        self._jobs.append(job)
        if job.session:
            self._holding[job.session] = self.holding(job.session) + 1
        self._ready.set()
        return Offer(True, evicted)

    async def get(self) -> StillJob:
        while not self._jobs:
            self._ready.clear()
            await self._ready.wait()
        return self._jobs.popleft()

    def done(self, job: StillJob) -> None:
        """The job left the queue and its decode (if any) finished."""
        self._release(job)

    def _release(self, job: StillJob) -> None:
        if not job.session:
            return
        left = self.holding(job.session) - 1
        if left > 0:
            self._holding[job.session] = left
        else:
            self._holding.pop(job.session, None)
