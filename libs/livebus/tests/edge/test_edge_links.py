"""SessionLinks: downlink events once, in order, of this opening only; acks carry the epoch."""

from __future__ import annotations

from typing import Any

from livebus import subjects
from livebus.edge.links import SessionLinks
from livebus.v1 import bus_pb2


class FakeNats:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    async def publish(self, subject: str, data: bytes, **_: Any) -> None:
        self.published.append((subject, data))


async def test_events_of_another_opening_are_dropped_and_a_move_starts_a_new_one() -> None:
    got: list[int] = []

    async def deliver(ev: bus_pb2.ServerEvent) -> None:
        got.append(ev.seq)

    nc = FakeNats()
    links = SessionLinks(nc, "s", deliver)  # type: ignore[arg-type]
    first = links.epoch
    for seq in (1, 2, 2, 3):
        await links.event_in(bus_pb2.ServerEvent(seq=seq, epoch=first))
    await links.event_in(bus_pb2.ServerEvent(seq=4, epoch=first + 2))  # not ours
    assert got == [1, 2, 3]
    assert links.moving() == 3 and links.epoch != first and links.up.paused
    await links.event_in(bus_pb2.ServerEvent(seq=4, epoch=first))  # the old bridge, late
    await links.event_in(bus_pb2.ServerEvent(seq=4, epoch=links.epoch))
    assert got == [1, 2, 3, 4]
    links.moved()
    await links.down._ack(0)
    subject, data = nc.published[-1]
    ack = bus_pb2.Ack.FromString(data)
    assert subject == subjects.ack_down("s") and (ack.upto, ack.epoch) == (4, links.epoch)


async def test_acks_of_another_opening_do_not_count() -> None:
    async def deliver(ev: bus_pb2.ServerEvent) -> None:
        pass

    links = SessionLinks(FakeNats(), "s", deliver)  # type: ignore[arg-type]
    ev = bus_pb2.ClientEvent(text="hi", seq=1)
    links.sent(ev, ev.SerializeToString())
    stale = bus_pb2.Ack(upto=1, epoch=links.epoch + 2).SerializeToString()
    await links.up.on_ack(stale)
    assert links.up.outbox.unacked() == 1
    await links.up.on_ack(bus_pb2.Ack(upto=1, epoch=links.epoch).SerializeToString())
    assert links.up.outbox.unacked() == 0
