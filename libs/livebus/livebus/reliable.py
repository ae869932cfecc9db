"""Exactly-once, in-order control messages over core NATS (which is at most once).

A message published while its publisher or subscriber moves to another NATS node is lost, and
nothing else notices. So each control message of a session carries a per-direction `seq`; the
sender keeps what it sent in a bounded `Outbox` until the receiver acknowledges it (cumulative
`Ack.upto`) and resends what is still unacknowledged after `resend_after_s` (doubling up to
`max_resend_after_s`); the receiver's `Inbox` drops duplicates by seq, holds what arrives early,
and asks for a gap at once (`Ack.resend_from`). A gap the sender can no longer fill is skipped
after `gap_timeout_s` (and counted), so a session never stalls for good.

Audio is best effort (late audio is worse than a few lost milliseconds): `AudioGaps` only counts
what went missing, from the seq header every audio message carries. No per-chunk acks.

The classes without `async` are pure (time is passed in); `Sender` and `Receiver` drive them
over two callables, which is all they know of the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from prometheus_client import Counter

from .v1 import bus_pb2

T = TypeVar("T")
Publish = Callable[[bytes], Awaitable[None]]

RESENT = Counter("livebus_control_resent_total",
                 "Control messages sent again (unacknowledged in time, or asked for)",
                 ["direction"])
DUPLICATES = Counter("livebus_control_duplicates_total",
                     "Control messages received again and dropped by seq", ["direction"])
GAPS = Counter("livebus_control_gaps_total",
               "Gaps in a session's control seq seen by the receiver", ["direction"])
LOST = Counter("livebus_control_lost_total",
               "Control messages given up (sender buffer overflow, or a gap nobody filled)",
               ["direction"])
AUDIO_LOST = Counter("livebus_audio_lost_total",
                     "Audio chunks missing by seq (audio is best effort: never resent)",
                     ["direction"])


@dataclass
class Policy:
    resend_after_s: float = 0.15      # unacknowledged this long: send again
    max_resend_after_s: float = 1.0   # the wait doubles per resend round up to this
    max_items: int = 4096             # unacknowledged messages kept per session and direction
    max_bytes: int = 32 << 20         # and their bytes; past either the oldest is given up
    keep_acked: int = 64              # acknowledged ones kept too, for a new receiver's gaps
    max_held: int = 4096              # early arrivals a receiver holds while a gap is open
    gap_timeout_s: float = 3.0        # a gap still open this long is skipped
    recover_timeout_s: float = 1.0    # a recovery (`Inbox.recover`) waits at most this long
    ack_delay_s: float = 0.005        # acks of a burst go out as one


@dataclass
class _Sent:
    seq: int
    data: bytes
    at: float


class Outbox:
    """The sender's side: what was sent, until acknowledged (and a little after)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.items: deque[_Sent] = deque()  # ascending seq
        self.acked = 0
        self.bytes = 0
        self.wait_s = policy.resend_after_s

    def unacked(self) -> int:
        return len(self.items) - self._acked_count()

    def _acked_count(self) -> int:
        n = 0  # the acknowledged ones are the oldest (seqs ascend, acks are cumulative)
        for it in self.items:
            if it.seq > self.acked:
                break
            n += 1
        return n

    def add(self, seq: int, data: bytes, now: float) -> int:
        """Keep one sent message; returns how many unacknowledged ones were given up."""
        if seq <= self.acked or (self.items and seq <= self.items[-1].seq):
            return 0  # sent again (a replay after a move): kept already
        self.items.append(_Sent(seq, data, now))
        self.bytes += len(data)
        given_up = 0
        while self.items and (self.unacked() > self.policy.max_items
                              or self.bytes > self.policy.max_bytes):
            old = self._pop()
            if old.seq > self.acked:
                given_up += 1
                self.acked = old.seq  # nobody waits for it any more
        self._trim()
        return given_up

    def ack(self, upto: int) -> None:
        if upto > self.acked:
            self.acked = upto
            self.wait_s = self.policy.resend_after_s  # the receiver is there: back to fast
            self._trim()

    def since(self, seq: int, now: float) -> list[tuple[int, bytes]]:
        """Everything kept from `seq` on (a gap request, or a new receiver)."""
        out = [(it.seq, it.data) for it in self.items if it.seq >= seq]
        for it in self.items:
            if it.seq >= seq:
                it.at = now
        return out

    def due(self, now: float) -> list[tuple[int, bytes]]:
        """The unacknowledged messages, when the oldest of them waited `wait_s` since it was
        last sent; each round doubles the wait (a receiver away for long is not flooded)."""
        pending = [it for it in self.items if it.seq > self.acked]
        if not pending or now - pending[0].at < self.wait_s:
            return []
        for it in pending:
            it.at = now
        self.wait_s = min(self.wait_s * 2, self.policy.max_resend_after_s)
        return [(it.seq, it.data) for it in pending]

    def _pop(self) -> _Sent:
        old = self.items.popleft()
        self.bytes -= len(old.data)
        return old

    def _trim(self) -> None:
        acked = self._acked_count()
        while acked > self.policy.keep_acked:
            self._pop()
            acked -= 1


@dataclass
class Received(Generic[T]):
    deliver: list[T] = field(default_factory=list)  # in order, now
    duplicate: bool = False
    resend_from: int = 0  # a gap opened: ask for it from here


class Inbox(Generic[T]):
    """The receiver's side: in order, once each."""

    def __init__(self, policy: Policy, delivered: int = 0) -> None:
        self.policy = policy
        self.delivered = delivered
        self.held: dict[int, T] = {}
        self.gap_since: float | None = None
        self.skipped = 0
        self.recover_upto = 0  # asked for again though maybe nobody has them (see `recover`)
        self.unrecovered = 0

    def recover(self, upto: int, now: float) -> None:
        """Ask for `delivered + 1 .. upto` again, and deliver them first if they come; the
        sender may no longer have them (a new one numbers on after `upto`), so past
        `recover_timeout_s` they are skipped (counted in `unrecovered`, not `skipped`)."""
        if upto > self.delivered:
            self.recover_upto = upto
            self.gap_since = now

    def receive(self, seq: int, item: T, now: float) -> Received[T]:
        out: Received[T] = Received()
        if seq == 0:  # not numbered: as it comes
            out.deliver.append(item)
            return out
        if seq <= self.delivered or seq in self.held:
            out.duplicate = True
            return out
        if seq > self.delivered + 1:
            if self.gap_since is None:
                self.gap_since = now
                out.resend_from = self.delivered + 1
            if len(self.held) < self.policy.max_held:
                self.held[seq] = item
            return out
        self.delivered = seq
        out.deliver.append(item)
        self._drain(out.deliver, now)
        return out

    def missing_from(self) -> int:
        """Where the open gap starts (0: none)."""
        recovering = self.delivered < self.recover_upto
        return self.delivered + 1 if self.held or recovering else 0

    def expire(self, now: float) -> list[T]:
        """A gap open for `gap_timeout_s` is skipped: what waited behind it, in order."""
        if self.gap_since is None:
            return []
        if self.delivered < self.recover_upto:
            if now - self.gap_since < self.policy.recover_timeout_s:
                return []
            first = min(min(self.held, default=self.recover_upto + 1), self.recover_upto + 1)
            self.unrecovered += first - self.delivered - 1
            self.delivered = first - 1
            out: list[T] = []
            self._drain(out, now)
            return out
        if now - self.gap_since < self.policy.gap_timeout_s:
            return []
        first = min(self.held)
        self.skipped += first - self.delivered - 1
        self.delivered = first - 1
        late: list[T] = []
        self._drain(late, now)
        return late

    def _drain(self, out: list[T], now: float) -> None:
        while self.delivered + 1 in self.held:
            self.delivered += 1
            out.append(self.held.pop(self.delivered))
        self.gap_since = now if self.held or self.delivered < self.recover_upto else None


class AudioGaps:
    """Counts audio chunks missing by seq; the first one seen sets the start."""

    def __init__(self, direction: str) -> None:
        self.last = 0
        self.lost = 0
        self._metric = AUDIO_LOST.labels(direction)

    def seen(self, seq: int) -> int:
        if seq <= 0:
            return 0
        missing = seq - self.last - 1 if self.last and seq > self.last + 1 else 0
        self.last = max(self.last, seq)
        if missing:
            self.lost += missing
            self._metric.inc(missing)
        return missing


def ack_bytes(upto: int, resend_from: int = 0, epoch: int = 0) -> bytes:
    return bus_pb2.Ack(upto=upto, resend_from=resend_from, epoch=epoch).SerializeToString()


class Sender:
    """Keeps a session's sent control messages, resends what is not acknowledged in time."""

    def __init__(self, direction: str, publish: Publish, policy: Policy | None = None,
                 clock: Callable[[], float] | None = None, epoch: int = 0) -> None:
        self.direction = direction
        self.publish = publish
        self.epoch = epoch  # acks of another opening of the session are not for us
        self.policy = policy or Policy()
        self.outbox = Outbox(self.policy)
        self.paused = False  # nobody to send to (a move is under way)
        self._clock = clock or (lambda: asyncio.get_running_loop().time())

    def sent(self, seq: int, data: bytes) -> None:
        """Record a message just published with this seq."""
        if seq:
            lost = self.outbox.add(seq, data, self._clock())
            if lost:
                LOST.labels(self.direction).inc(lost)

    async def on_ack(self, data: bytes) -> None:
        ack = bus_pb2.Ack.FromString(data)
        if ack.epoch != self.epoch:
            return
        self.outbox.ack(ack.upto)
        if ack.resend_from and not self.paused:
            await self._send(self.outbox.since(ack.resend_from, self._clock()))

    async def resend_since(self, seq: int) -> None:
        """A new receiver took over at `seq - 1`: send it everything kept from `seq` on."""
        await self._send(self.outbox.since(seq, self._clock()))

    async def tick(self) -> None:
        if not self.paused:
            await self._send(self.outbox.due(self._clock()))

    async def run(self, every_s: float | None = None) -> None:
        step = every_s or self.policy.resend_after_s / 3
        while True:
            await asyncio.sleep(step)
            await self.tick()

    async def _send(self, items: list[tuple[int, bytes]]) -> None:
        for _, data in items:
            RESENT.labels(self.direction).inc()
            try:
                await self.publish(data)
            except Exception:  # the bus is away: the next round tries again
                return


class Receiver(Generic[T]):
    """Delivers a session's control messages in order, once each, and acknowledges them."""

    def __init__(self, direction: str, deliver: Callable[[T], Awaitable[None]],
                 send_ack: Publish, delivered: int = 0, policy: Policy | None = None,
                 clock: Callable[[], float] | None = None, epoch: int = 0) -> None:
        self.direction = direction
        self.epoch = epoch
        self.deliver = deliver
        self.send_ack = send_ack
        self.policy = policy or Policy()
        self.inbox: Inbox[T] = Inbox(self.policy, delivered)
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._ack_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # deliveries never interleave

    @property
    def delivered(self) -> int:
        return self.inbox.delivered

    def recover(self, upto: int) -> None:
        """Ask for what was delivered before up to `upto` again (Inbox.recover); asked on
        every tick until it came or `recover_timeout_s` passed."""
        self.inbox.recover(upto, self._clock())

    async def receive(self, seq: int, item: T) -> None:
        async with self._lock:
            got = self.inbox.receive(seq, item, self._clock())
            if got.duplicate:
                DUPLICATES.labels(self.direction).inc()
            if got.resend_from:
                GAPS.labels(self.direction).inc()
                await self._ack(got.resend_from)
            for it in got.deliver:
                await self.deliver(it)
        if seq and (got.deliver or got.duplicate):
            self._ack_soon()

    async def tick(self) -> None:
        """Ask again for an open gap; skip it once it waited too long."""
        async with self._lock:
            late = self.inbox.expire(self._clock())
            if late:
                LOST.labels(self.direction).inc(self.inbox.skipped)
                self.inbox.skipped = 0
            for it in late:
                await self.deliver(it)
            missing = self.inbox.missing_from()
        if missing:
            await self._ack(missing)
        elif late:
            self._ack_soon()

    async def run(self, every_s: float | None = None) -> None:
        step = every_s or self.policy.resend_after_s
        while True:
            await asyncio.sleep(step)
            await self.tick()

    def _ack_soon(self) -> None:
        if self._ack_task is None or self._ack_task.done():
            self._ack_task = asyncio.get_running_loop().create_task(self._ack_later())

    async def _ack_later(self) -> None:
        await asyncio.sleep(self.policy.ack_delay_s)
        await self._ack(0)

    async def _ack(self, resend_from: int) -> None:
        with contextlib.suppress(Exception):  # a lost ack is made good by the next one
            await self.send_ack(ack_bytes(self.inbox.delivered, resend_from, self.epoch))

    def close(self) -> None:
        if self._ack_task is not None:
            self._ack_task.cancel()
