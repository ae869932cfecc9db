"""livebus.reliable: exactly once and in order over a fake bus that drops, duplicates and
reorders messages (both the data and the acks), and the pure parts on their own."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from livebus.reliable import AudioGaps, Inbox, Outbox, Policy, Receiver, Sender
from livebus.v1 import bus_pb2


class LossyWire:
    """One direction of a fake bus: each message is dropped, duplicated or delayed at random
    (a delay up to 20 ms reorders), or, while `down`, lost."""

    def __init__(self, rng: random.Random, deliver: Callable[[bytes], Awaitable[None]],
                 drop: float = 0.2, dup: float = 0.1) -> None:
        self.rng = rng
        self.deliver = deliver
        self.drop = drop
        self.dup = dup
        self.down = False
        self.sent = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def publish(self, data: bytes) -> None:
        self.sent += 1
        if self.down or self.rng.random() < self.drop:
            return
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            t = asyncio.get_running_loop().create_task(self._later(data, self.rng.random() * 0.02))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    async def _later(self, data: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.deliver(data)


async def _link(rng: random.Random, drop: float, dup: float
                ) -> tuple[Sender, Receiver[int], list[int], LossyWire, LossyWire]:
    got: list[int] = []
    sender_box: list[Sender] = []
    receiver_box: list[Receiver[int]] = []

    async def deliver(n: int) -> None:
        got.append(n)

    async def on_data(data: bytes) -> None:
        ev = bus_pb2.ServerEvent.FromString(data)
        await receiver_box[0].receive(ev.seq, ev.seq)

    async def on_ack(data: bytes) -> None:
        await sender_box[0].on_ack(data)

    data_wire = LossyWire(rng, on_data, drop, dup)
    ack_wire = LossyWire(rng, on_ack, drop, dup)
    policy = Policy(resend_after_s=0.05, max_resend_after_s=0.2, gap_timeout_s=30.0)
    sender = Sender("test", data_wire.publish, policy)
    receiver: Receiver[int] = Receiver("test", deliver, ack_wire.publish, policy=policy)
    sender_box.append(sender)
    receiver_box.append(receiver)
    return sender, receiver, got, data_wire, ack_wire


async def _send(sender: Sender, wire: LossyWire, seq: int) -> None:
    data = bus_pb2.ServerEvent(seq=seq, migrate=False).SerializeToString()
    sender.sent(seq, data)
    await wire.publish(data)


async def test_exactly_once_in_order_through_drops_duplicates_and_reordering() -> None:
    for seed in range(5):
        rng = random.Random(seed)
        sender, receiver, got, data_wire, _ = await _link(rng, drop=0.25, dup=0.15)
        tasks = [asyncio.create_task(sender.run()), asyncio.create_task(receiver.run())]
        try:
            for seq in range(1, 201):
                await _send(sender, data_wire, seq)
                if seq % 10 == 0:
                    await asyncio.sleep(0.005)
            async with asyncio.timeout(20):
                while len(got) < 200 or sender.outbox.unacked():
                    await asyncio.sleep(0.01)
        finally:
            for t in tasks:
                t.cancel()
            receiver.close()
        assert got == list(range(1, 201)), f"seed {seed}"
        assert data_wire.sent > 200  # something was resent


async def test_the_last_message_lost_is_resent_without_a_later_one() -> None:
    """No gap shows when the last message of a burst (a turnComplete) is lost: the sender's
    timer resends it, within a few resend periods."""
    rng = random.Random(1)
    sender, receiver, got, data_wire, _ = await _link(rng, drop=0.0, dup=0.0)
    task = asyncio.create_task(sender.run())
    try:
        data_wire.down = True
        await _send(sender, data_wire, 1)
        data_wire.down = False
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with asyncio.timeout(5):
            while not got:
                await asyncio.sleep(0.002)
        assert loop.time() - t0 < 1.0
    finally:
        task.cancel()
        receiver.close()
    assert got == [1]


async def test_a_gap_is_asked_for_at_once() -> None:
    rng = random.Random(2)
    sender, receiver, got, data_wire, _ = await _link(rng, drop=0.0, dup=0.0)
    data_wire.down = True
    await _send(sender, data_wire, 1)
    data_wire.down = False
    await _send(sender, data_wire, 2)  # no resend timer runs: only the gap request fills it
    async with asyncio.timeout(5):
        while len(got) < 2:
            await asyncio.sleep(0.002)
    receiver.close()
    assert got == [1, 2]


def test_outbox_resends_unacked_with_a_growing_wait() -> None:
    box = Outbox(Policy(resend_after_s=0.1, max_resend_after_s=0.4))
    box.add(1, b"a", 0.0)
    box.add(2, b"b", 0.0)
    assert box.due(0.05) == []
    assert [s for s, _ in box.due(0.1)] == [1, 2]
    assert box.due(0.25) == []  # waits 0.2 now
    assert [s for s, _ in box.due(0.31)] == [1, 2]
    box.ack(1)
    assert [s for s, _ in box.due(0.5)] == [2]  # an ack resets the wait to 0.1
    box.ack(2)
    assert box.due(10.0) == []
    assert [s for s, _ in box.since(1, 10.0)] == [1, 2]  # kept for a new receiver


def test_outbox_is_bounded_and_says_what_it_gave_up() -> None:
    box = Outbox(Policy(max_items=3, keep_acked=1, max_bytes=1 << 20))
    lost = sum(box.add(i, b"x", 0.0) for i in range(1, 7))
    assert lost == 3 and box.unacked() == 3
    box.ack(6)
    assert len(box.items) == 1


def test_inbox_holds_early_arrivals_and_skips_a_gap_nobody_fills() -> None:
    inbox: Inbox[str] = Inbox(Policy(gap_timeout_s=1.0), delivered=4)
    assert inbox.receive(4, "old", 0.0).duplicate
    got = inbox.receive(6, "f", 0.0)
    assert got.deliver == [] and got.resend_from == 5
    assert inbox.receive(7, "g", 0.1).resend_from == 0  # the gap is open already
    assert inbox.expire(0.5) == []
    assert inbox.expire(1.1) == ["f", "g"] and inbox.skipped == 1
    assert inbox.receive(0, "unnumbered", 1.2).deliver == ["unnumbered"]


def test_inbox_recovers_what_it_had_delivered_first_and_gives_up_quickly() -> None:
    """A successor asks again for seqs 3-5 (sent by its predecessor, not logged): asked until
    they come, delivered before what is newer; one nobody has is skipped after
    recover_timeout_s, as unrecovered (not lost)."""
    inbox: Inbox[str] = Inbox(Policy(recover_timeout_s=1.0, gap_timeout_s=3.0), delivered=2)
    assert inbox.missing_from() == 0
    inbox.recover(5, 0.0)
    assert inbox.missing_from() == 3  # asked at once, nothing held yet
    assert inbox.receive(6, "new", 0.1).deliver == []
    assert inbox.receive(3, "c", 0.2).deliver == ["c"]
    assert inbox.missing_from() == 4 and inbox.expire(1.1) == []  # progress: waits again
    assert inbox.receive(5, "e", 0.3).deliver == []
    assert inbox.expire(1.3) == ["e", "new"]  # 4 never came
    assert (inbox.delivered, inbox.unrecovered, inbox.skipped) == (6, 1, 0)
    assert inbox.missing_from() == 0 and inbox.gap_since is None


def test_inbox_recovering_from_a_sender_that_has_nothing() -> None:
    inbox: Inbox[str] = Inbox(Policy(recover_timeout_s=1.0), delivered=1)
    inbox.recover(2, 0.0)
    assert inbox.receive(3, "next", 0.0).resend_from == 0  # asked by the ticks already
    assert inbox.expire(0.9) == []
    assert inbox.expire(1.0) == ["next"] and inbox.unrecovered == 1
    inbox.recover(1, 2.0)  # nothing to recover: no gap opens
    assert inbox.gap_since is None and inbox.missing_from() == 0


def test_audio_gaps_are_counted_from_the_first_seen() -> None:
    gaps = AudioGaps("test")
    assert gaps.seen(40) == 0  # a new bridge joins a running stream
    assert gaps.seen(41) == 0
    assert gaps.seen(45) == 3
    assert gaps.seen(43) == 0  # late: not lost twice
    assert gaps.lost == 3


async def test_default_policy_resends_a_lost_message_within_a_few_hundred_ms() -> None:
    got: list[float] = []
    loop = asyncio.get_running_loop()
    published: list[bytes] = []

    async def publish(data: bytes) -> None:
        published.append(data)
        if len(published) > 1:  # the first copy is lost
            got.append(loop.time())

    sender = Sender("test", publish)
    task = asyncio.create_task(sender.run())
    try:
        t0 = loop.time()
        data = bus_pb2.ServerEvent(seq=1).SerializeToString()
        sender.sent(1, data)
        await publish(data)
        async with asyncio.timeout(5):
            while not got:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
    latency = got[0] - t0
    print(f"resent after {latency * 1000:.0f} ms")
    assert Policy().resend_after_s <= latency < 0.5
