"""The uplink buffer: bounded audio, control never dropped, client order kept."""

from __future__ import annotations

from livebus.v1 import bus_pb2
from livebus_bridge.uplink import UplinkBuffer


def test_overflow_drops_the_oldest_audio_never_control() -> None:
    buf = UplinkBuffer(max_audio_bytes=30)
    ctl = bus_pb2.ClientEvent(seq=1, text="hi")
    buf.put(b"a" * 10)
    buf.put(ctl)
    buf.put(b"b" * 10)
    buf.put(b"c" * 10)
    buf.put(b"d" * 10)  # 40 bytes of audio > 30: the oldest chunk goes
    assert list(buf.items) == [ctl, b"b" * 10, b"c" * 10, b"d" * 10]
    assert buf.audio_bytes == 30


def test_peek_pop_in_order_and_ready_follows_content() -> None:
    buf = UplinkBuffer(max_audio_bytes=100)
    assert buf.peek() is None and not buf.ready.is_set()
    buf.put(b"x")
    buf.put(bus_pb2.ClientEvent(seq=1, activity_end=True))
    assert buf.ready.is_set() and buf.peek() == b"x"
    buf.pop()
    assert isinstance(buf.peek(), bus_pb2.ClientEvent) and buf.audio_bytes == 0
    buf.pop()
    assert not buf.ready.is_set()
