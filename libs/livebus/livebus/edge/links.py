"""The session's control messages to and from its bridge, exactly once and in order.

Uplink control events (numbered by the session) are kept and resent until the bridge
acknowledges them; downlink events are delivered to the client once each, in the bridge's
order, and acknowledged. Downlink audio is only counted (livebus/reliable.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable

from google.protobuf.message import DecodeError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import subjects
from livebus.reliable import AudioGaps, Receiver, Sender, ack_bytes
from livebus.runtime import cancel_and_wait
from livebus.v1 import bus_pb2


class SessionLinks:
    def __init__(self, nc: NATS, session_id: str,
                 deliver: Callable[[bus_pb2.ServerEvent], Awaitable[None]]) -> None:
        self.nc = nc
        self.session_id = session_id
        self.up = Sender("up", self._publish_ctl)
        self.down: Receiver[bus_pb2.ServerEvent] = Receiver("down", deliver, self._ack_down)
        self.audio = AudioGaps("down")
        self.epoch = 0
        self._new_epoch()
        self._tasks: list[asyncio.Task[None]] = []
        self._final_ack: asyncio.Task[None] | None = None

    async def subscribe(self) -> Subscription:
        return await self.nc.subscribe(subjects.ack_up(self.session_id), cb=self._on_ack)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.up.run()), asyncio.create_task(self.down.run())]

    async def stop(self, settle_s: float) -> None:
        """Wait (bounded) until the bridge has every uplink event, then stop."""
        if settle_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(settle_s):
                    while self.up.outbox.unacked():
                        await asyncio.sleep(0.02)
        await cancel_and_wait(*self._tasks)
        self.down.close()

    def _new_epoch(self) -> None:
        """Each opening of the session has its own: what an earlier bridge still sends (or
        acknowledges) is not taken for the new one's."""
        self.epoch = secrets.randbits(63) | 1
        self.up.epoch = self.down.epoch = self.epoch

    async def event_in(self, ev: bus_pb2.ServerEvent) -> None:
        if ev.epoch in (0, self.epoch):  # 0: a bridge from before epochs (a rolling upgrade)
            await self.down.receive(ev.seq, ev)

    def sent(self, ev: bus_pb2.ClientEvent, data: bytes) -> None:
        self.up.sent(ev.seq, data)

    def moving(self) -> int:
        """A move begins: nothing is resent to the old bridge, what it sent out of order is
        forgotten; returns the downlink seq the next bridge continues from."""
        self.up.paused = True
        # The old bridge (draining) waits for its last events' ack: in its epoch, now.
        last = ack_bytes(self.down.delivered, 0, self.epoch)
        self._final_ack = asyncio.get_running_loop().create_task(self._ack_quietly(last))
        self._new_epoch()
        self.down.inbox.held.clear()
        self.down.inbox.gap_since = None
        self.audio = AudioGaps("down")
        return self.down.delivered

    def moved(self) -> None:
        self.up.paused = False

    def audio_in(self, seq: int) -> None:
        self.audio.seen(seq)

    async def _on_ack(self, msg: Msg) -> None:
        with contextlib.suppress(DecodeError):
            await self.up.on_ack(msg.data)

    async def _publish_ctl(self, data: bytes) -> None:
        await self.nc.publish(subjects.up_ctl(self.session_id), data)

    async def _ack_quietly(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            await self._ack_down(data)

    async def _ack_down(self, data: bytes) -> None:
        await self.nc.publish(subjects.ack_down(self.session_id), data)
