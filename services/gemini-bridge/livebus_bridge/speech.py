"""Who is speaking in a session, for the frame-samplers (subjects.speech, a `Speech` message).

The user's side is the activity gate's (activity.py); the model's is the reply clock's: from a
reply's first audio to its turnComplete or interruption. Published on every change (seen within
`poll_s`; a user's change at once) and again every `repeat_s`, so a sampler that starts late
or restarts learns it, and one that stops hearing it knows the state is stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from nats.aio.client import Client as NATS

from livebus import subjects
from livebus.v1 import bus_pb2

log = logging.getLogger(__name__)


class SpeechState:
    def __init__(self, nc: NATS, session_id: str, user: Callable[[], bool],
                 model: Callable[[], bool], poll_s: float = 0.25, repeat_s: float = 2.0) -> None:
        self.nc = nc
        self.subject = subjects.speech(session_id)
        self.user = user
        self.model = model
        self.poll_s = poll_s
        self.repeat_s = repeat_s
        self.wake = asyncio.Event()  # set by the uplink when the user's activity changed
        self.last: tuple[bool, bool] | None = None

    async def run(self) -> None:
        sent_at = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_s)
            self.wake.clear()
            now = (self.user(), self.model())
            if now == self.last and time.monotonic() - sent_at < self.repeat_s:
                continue
            try:
                await self.nc.publish(self.subject, bus_pb2.Speech(
                    user=now[0], model=now[1]).SerializeToString())
            except Exception as e:  # NATS away: the next change or repeat tries again
                log.debug("speech state not published (%s)", type(e).__name__)
                continue
            self.last, sent_at = now, time.monotonic()
