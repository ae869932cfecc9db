"""The session's control messages to and from its gateway, exactly once and in order.

Downlink events are numbered per session (continuing from the gateway's `down_seq` when the
session moved here) and resent until the gateway acknowledges them; uplink control events are
delivered once each, in the gateway's order, and acknowledged. Audio is only counted: each
downlink chunk carries a seq header, missing uplink chunks are counted (livebus/reliable.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from google.protobuf.message import DecodeError
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from livebus import subjects
from livebus.reliable import AudioGaps, Receiver, Sender
from livebus.runtime import cancel_and_wait
from livebus.v1 import bus_pb2

from . import timing
from .downlink import Publisher

log = logging.getLogger(__name__)


class ReliablePublisher(Publisher):
    """Publisher whose events are numbered and resent until acknowledged (audio is not)."""

    def __init__(self, nc: NATS, session_id: str, clock: timing.SessionTiming,
                 down_seq: int = 0, epoch: int = 0) -> None:
        super().__init__(nc, session_id, clock)
        self.seq = down_seq
        self.epoch = epoch
        self.sender = Sender("down", self._publish, epoch=epoch)
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(subjects.ack_down(self.session_id), cb=self._on_ack)
        self._task = asyncio.create_task(self.sender.run())

    async def stop(self, settle_s: float = 1.0) -> None:
        """Wait (bounded) until the gateway has every event, then stop resending."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settle_s):
                while self.sender.outbox.unacked():
                    await asyncio.sleep(0.02)
        await cancel_and_wait(self._task)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_ack(self, msg: Msg) -> None:
        with contextlib.suppress(DecodeError):
            await self.sender.on_ack(msg.data)

    async def _publish(self, data: bytes) -> None:
        await self.nc.publish(subjects.down_event(self.session_id), data)

    async def event(self, ev: bus_pb2.ServerEvent) -> None:
        self.seq += 1
        ev.seq, ev.epoch = self.seq, self.epoch
        data = ev.SerializeToString()
        self.sender.sent(ev.seq, data)  # kept before the publish: a failed one is resent
        try:
            await self._publish(data)
        except Exception as e:
            log.warning("could not publish to the gateway (%s); resending", type(e).__name__)


class UplinkReceiver:
    """Uplink control in the gateway's order, once each; uplink audio losses counted.

    `delivered`: the last control event sent upstream; `logged` (if less): the last one the
    shadow log holds. Those in between (a predecessor sent them, and died before their
    entries were stored) are asked for again and delivered first, to be logged, not sent; its
    gateway keeps them (acknowledged ones too, for a while), a new gateway has none and
    numbers on after `delivered`: they are waited for at most the policy's
    recover_timeout_s."""

    def __init__(self, nc: NATS, session_id: str, delivered: int,
                 deliver: Callable[[bus_pb2.ClientEvent], Awaitable[None]],
                 epoch: int = 0, logged: int | None = None) -> None:
        self.nc = nc
        self.session_id = session_id
        self.audio = AudioGaps("up")
        start = delivered if logged is None else min(logged, delivered)
        self.rx: Receiver[bus_pb2.ClientEvent] = Receiver("up", deliver, self._ack, start,
                                                          epoch=epoch)
        if start < delivered:
            log.info("control events %d-%d are not in the shadow log; asking for them again",
                     start + 1, delivered)
            self.rx.recover(delivered)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.rx.run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self.rx.close()

    def audio_in(self, seq: int) -> None:
        self.audio.seen(seq)

    async def control_in(self, ev: bus_pb2.ClientEvent) -> None:
        await self.rx.receive(ev.seq, ev)

    async def ack_now(self) -> None:
        await self._ack(bus_pb2.Ack(upto=self.rx.delivered, epoch=self.rx.epoch)
                        .SerializeToString())

    async def _ack(self, data: bytes) -> None:
        await self.nc.publish(subjects.ack_up(self.session_id), data)
