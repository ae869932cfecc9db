"""The uplink buffer: bounded audio, control never dropped, client order kept. The sender:
audio never waits for the session record's save, the next control event does."""

from __future__ import annotations

import asyncio
import json

from bridge_fakes import FakeKV, FakeSocket, attach, upstream_session

from livebus import b64
from livebus.v1 import bus_pb2
from livebus_bridge.stills import DROPPED_NOTE, control_of
from livebus_bridge.uplink import UplinkBuffer
from livebus_dev.testing.audio import chunks, silence, speech_like


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


class SlowKV(FakeKV):
    """A record store whose puts wait until `open` is set (JetStream electing a leader)."""

    def __init__(self) -> None:
        super().__init__()
        self.open = asyncio.Event()
        self.waiting = 0

    async def put(self, key: str, value: bytes) -> int:
        self.waiting += 1
        await self.open.wait()
        self.waiting -= 1
        return await super().put(key, value)

    def ctl_sent(self) -> int:
        return int(json.loads(self.data["s1"])["ctl_sent"]) if "s1" in self.data else 0


async def until(cond: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_audio_does_not_wait_for_the_record_save_the_next_control_event_does() -> None:
    session, _, _ = await upstream_session()
    kv = SlowKV()
    session.store.records = kv  # type: ignore[assignment]
    session.uplink.ctl_save_wait_s = 60.0  # only the save's completion may release it
    stored_at_send: dict[str, int] = {}  # what the record said as each text went upstream

    async def on_send(message: str) -> None:
        body = json.loads(message).get("realtime_input", {})
        if "text" in body:
            stored_at_send[body["text"]] = kv.ctl_sent()

    sock = FakeSocket(on_send)
    attach(session, sock)
    pcm = b"\x01\x00" * 320
    session.uplink.put(bus_pb2.ClientEvent(seq=1, text="first"))
    for _ in range(5):
        session.uplink.put(pcm)
    session.uplink.put(bus_pb2.ClientEvent(seq=2, text="second"))
    session.uplink.put(pcm)
    tasks = [asyncio.create_task(session.record.run()),
             asyncio.create_task(session.uplink.run())]
    try:
        await until(lambda: len(sock.sent) >= 6)
        # The audio went while the first event's save was still not stored...
        assert sock.kinds() == ["realtime_input.text"] + ["realtime_input.audio"] * 5
        assert kv.waiting == 1 and session.record.saved == 0
        await asyncio.sleep(0.2)
        # ...the second event (and the audio after it, in client order) waits for that save.
        assert len(sock.sent) == 6 and session.conv.ctl_sent == 1
        kv.open.set()
        await until(lambda: len(sock.sent) == 8)
        assert sock.kinds()[6:] == ["realtime_input.text", "realtime_input.audio"]
        assert stored_at_send == {"first": 0, "second": 1}
        await until(lambda: kv.ctl_sent() == 2)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_local_turn_detection_sends_speech_between_activity_signals_and_no_silence() -> None:
    session, _, _ = await upstream_session(turn_detection="local")
    config = session.conn.config
    assert config is not None and config.realtime_input_config is not None
    aad = config.realtime_input_config.automatic_activity_detection
    assert aad is not None and aad.disabled  # the upstream's own detector is off
    sock = FakeSocket()
    attach(session, sock)
    for c in chunks(silence(2.0) + speech_like(1.0) + silence(2.0)):
        session.uplink.put(c)
    sender = asyncio.create_task(session.uplink.run())
    try:
        await until(lambda: not session.uplink.buffer.items)
    finally:
        sender.cancel()
    kinds = sock.kinds()
    assert kinds[0] == "realtime_input.activityStart" and kinds[-1] == "realtime_input.activityEnd"
    audio = [k for k in kinds if k == "realtime_input.audio"]
    assert 1.0 <= len(audio) * 0.02 <= 1.0 + 0.3 + 0.2  # speech, its prefix and a short tail
    assert session.uplink.gate is not None and not session.uplink.gate.speaking


async def test_a_turn_open_on_a_replaced_connection_starts_again_on_the_new_one() -> None:
    session, _, _ = await upstream_session(turn_detection="local")
    first = FakeSocket()
    attach(session, first)
    for c in chunks(silence(0.5) + speech_like(0.5)):
        session.uplink.put(c)
    sender = asyncio.create_task(session.uplink.run())
    try:
        await until(lambda: not session.uplink.buffer.items)
        second = FakeSocket()
        attach(session, second)  # goAway or a drop: the next connection
        for c in chunks(speech_like(0.2) + silence(1.0)):
            session.uplink.put(c)
        await until(lambda: not session.uplink.buffer.items)
    finally:
        sender.cancel()
    assert first.kinds()[0] == "realtime_input.activityStart"
    assert "realtime_input.activityEnd" not in first.kinds()
    kinds = second.kinds()
    assert kinds[0] == "realtime_input.activityStart" and kinds.count(kinds[0]) == 1
    assert kinds[-1] == "realtime_input.activityEnd"
