"""ReliablePublisher numbers events on from the gateway's down_seq, in its epoch, and seqs audio;
UplinkReceiver delivers control once, in order, and acknowledges in its epoch."""

from __future__ import annotations

from typing import Any

from livebus import audioframe, subjects
from livebus.v1 import bus_pb2
from livebus_bridge import timing
from livebus_bridge.links import ReliablePublisher, UplinkReceiver


class FakeNats:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, subject: str, data: bytes, headers: dict[str, str] | None = None,
                      **_: Any) -> None:
        self.published.append((subject, data, headers or {}))


async def test_events_continue_the_gateways_numbering_in_this_epoch() -> None:
    nc = FakeNats()
    out = ReliablePublisher(nc, "s", timing.SessionTiming(), down_seq=7, epoch=42)  # type: ignore[arg-type]
    await out.message({"serverContent": {"turnComplete": True}})
    await out.audio("audio/pcm;rate=24000", b"\0\0")
    await out.event(bus_pb2.ServerEvent(migrate=True))
    events = [bus_pb2.ServerEvent.FromString(d) for s, d, _ in nc.published
              if s == subjects.down_event("s")]
    assert [(e.seq, e.epoch) for e in events] == [(8, 42), (9, 42)]
    audio = [audioframe.unpack(d) for s, d, _ in nc.published if s == subjects.down_audio("s")]
    assert (audio[0].seq, audio[0].pcm, audio[0].mime) == (1, b"\0\0", "audio/pcm;rate=24000")
    assert out.sender.outbox.unacked() == 2
    await out.sender.on_ack(bus_pb2.Ack(upto=9, epoch=41).SerializeToString())  # not ours
    assert out.sender.outbox.unacked() == 2
    await out.sender.on_ack(bus_pb2.Ack(upto=9, epoch=42).SerializeToString())
    assert out.sender.outbox.unacked() == 0


async def test_uplink_control_once_in_order_from_the_last_sent() -> None:
    nc = FakeNats()
    got: list[str] = []

    async def deliver(ev: bus_pb2.ClientEvent) -> None:
        got.append(ev.text)

    up = UplinkReceiver(nc, "s", delivered=2, deliver=deliver, epoch=5)  # type: ignore[arg-type]
    for seq, text in ((2, "sent before"), (4, "d"), (3, "c"), (4, "d")):
        await up.control_in(bus_pb2.ClientEvent(seq=seq, text=text))
    assert got == ["c", "d"]
    gap = bus_pb2.Ack.FromString(nc.published[0][1])
    assert (gap.resend_from, gap.epoch) == (3, 5)
    await up.ack_now()
    ack = bus_pb2.Ack.FromString(nc.published[-1][1])
    assert nc.published[-1][0] == subjects.ack_up("s") and (ack.upto, ack.epoch) == (4, 5)
    up.rx.close()
