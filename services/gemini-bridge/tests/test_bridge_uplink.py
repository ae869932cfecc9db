"""The uplink buffer: bounded audio, control never dropped, client order kept."""

from __future__ import annotations

import json

from livebus import b64
from livebus.v1 import bus_pb2
from livebus_bridge.stills import DROPPED_NOTE, control_of
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


def upload(seq: int, size: int = 50_000) -> bus_pb2.ClientEvent:
    body = {"turns": [{"role": "user", "parts": [
        {"text": f"photo {seq}"},
        {"inlineData": {"mimeType": "image/png", "data": b64.encode(b"\x89" * size)}}]}],
        "turnComplete": False}
    return bus_pb2.ClientEvent(seq=seq, client_content_json=json.dumps(body).encode())


def test_uploads_piling_up_become_notes_oldest_first_control_order_kept() -> None:
    buf = UplinkBuffer(max_audio_bytes=1000, max_control_bytes=200_000)
    for seq in range(1, 6):
        buf.put(upload(seq))
        buf.put(b"a" * 10)
    buf.put(bus_pb2.ClientEvent(seq=6, text="and?"))
    assert buf.control_bytes <= 200_000
    events = [it for it in buf.items if isinstance(it, bus_pb2.ClientEvent)]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]  # none dropped, in order
    images = [len(control_of(e).stills) for e in events[:5]]
    assert images == [0, 0, 0, 1, 1]  # the oldest ones lost their image, not their text
    first = control_of(events[0]).content
    assert first is not None and first.turns is not None and first.turns[0].parts is not None
    assert [p.text for p in first.turns[0].parts] == ["photo 1", DROPPED_NOTE]
    while buf.items:
        buf.pop()
    assert buf.control_bytes == 0 and buf.audio_bytes == 0
