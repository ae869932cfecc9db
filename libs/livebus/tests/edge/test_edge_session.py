"""EdgeSession with one fake per seam: the client's transport and the edge's NATS bus."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from livebus import audioframe, closecodes, subjects
from livebus.edge import session as session_mod
from livebus.edge import wire
from livebus.edge.session import EdgeSession
from livebus.edge.settings import EdgeSettings
from livebus.edge.tokens import Grant
from livebus.edge.wire import ProtocolError
from livebus.v1 import bus_pb2

PCM = base64.b64encode(b"\0" * 640).decode()


class FakeTransport:
    """Messages to receive, in order; what the session sent (audio as ("audio", mime, pcm))."""

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = list(frames)
        self.sent: list[Any] = []
        self.closed: tuple[int, str] | None = None

    async def receive(self) -> str | bytes | wire.Audio | wire.Video | None:
        return self.frames.pop(0) if self.frames else None

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def send_audio(self, mime: str, pcm: bytes) -> None:
        self.sent.append(("audio", mime, pcm))

    def interrupted(self) -> None:
        self.sent.append("interrupted")

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


@dataclass
class FakeNats:
    published: list[tuple[str, bytes]] = field(default_factory=list)
    max_payload: int = 1024 * 1024

    async def publish(self, subject: str, data: bytes, headers: Any = None) -> None:
        self.published.append((subject, data))


@dataclass
class FakeBus:
    main: FakeNats = field(default_factory=FakeNats)
    video: FakeNats = field(default_factory=FakeNats)


@dataclass
class Msg:
    subject: str
    data: bytes
    headers: dict[str, str] | None = None


Frame = str | wire.Audio | wire.Video


def client_session(frames: list[Frame] | None = None, grant: Grant | None = None,
                   **settings: Any) -> tuple[EdgeSession, FakeTransport, FakeBus]:
    ws, bus = FakeTransport(frames or []), FakeBus()
    s = EdgeSession(ws, bus, EdgeSettings(**settings),  # type: ignore[arg-type]
                      grant or Grant(user="u"), {"model": "models/m"}, "s" * 32)
    s.gate.is_open = True  # as once setupComplete is written (test_gateway_pending.py)
    return s, ws, bus


def test_the_token_or_the_maximum_duration_ends_the_connection() -> None:
    now = time.time()
    s, _, _ = client_session(grant=Grant(user="u", expires_at=now + 30), max_session_s=60)
    assert s.ends_in(now) == (30, session_mod.TOKEN_EXPIRED)
    s, _, _ = client_session(grant=Grant(user="u", expires_at=now + 300), max_session_s=60)
    assert s.ends_in(now) == (pytest.approx(60, abs=1), session_mod.TOO_LONG)
    s, _, _ = client_session(max_session_s=60)
    assert s.ends_in(now) == (pytest.approx(60, abs=1), session_mod.TOO_LONG)


async def test_another_connection_attaching_closes_this_one_and_silences_it() -> None:
    s, ws, _ = client_session()
    await s._on_attached(Msg(subjects.session_attached(s.id), s.connection_id.encode()))
    assert not s.closed.is_set(), "its own announcement"
    await s._on_attached(Msg(subjects.session_attached(s.id), b"other"))
    assert s.closed.is_set() and s.superseded
    assert (s.close_code, s.close_reason) == (closecodes.RESUMED_ELSEWHERE,
                                              "session resumed on another connection")
    ev = bus_pb2.ServerEvent(message_json=b'{"serverContent":{"turnComplete":true}}')
    await s._on_down(Msg(subjects.down_event(s.id), ev.SerializeToString()))
    assert ws.sent == []


async def test_a_flood_in_one_message_is_refused_before_anything_is_published() -> None:
    chunk = {"mimeType": "audio/pcm;rate=16000", "data": PCM}
    frames = [json.dumps({"realtimeInput": {"mediaChunks": [chunk] * 30}})] * 20
    s, _, bus = client_session(frames)
    with pytest.raises(ProtocolError) as e:
        await s._uplink()
    assert e.value.code == closecodes.RATE_LIMITED
    assert e.value.reason == "rate limit exceeded: media chunks"
    assert len(bus.main.published) <= s.settings.burst_chunks
    s.limits.release()


async def test_a_bad_tool_response_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    frame = json.dumps({"toolResponse": {"functionResponses": [{"name": "f", "response": {}}]}})
    s, _, bus = client_session([frame] * 5)
    with caplog.at_level(logging.WARNING):
        await s._uplink()
    assert sum("toolResponse without an id" in r.getMessage() for r in caplog.records) == 1
    assert len(bus.main.published) == 5, "each is still forwarded"
    s.limits.release()


async def test_downlink_rewrites_only_a_resumption_update() -> None:
    s, ws, _ = client_session()
    for body in ({"sessionResumptionUpdate": {"newHandle": "up", "resumable": True}},
                 {"toolCall": {"functionCalls": [{"id": "1", "args": {"newHandle": "x"}}]}}):
        ev = bus_pb2.ServerEvent(message_json=json.dumps(body).encode())
        await s._on_down(Msg(subjects.down_event(s.id), ev.SerializeToString()))
    first, second = (json.loads(t) for t in ws.sent)
    assert first["sessionResumptionUpdate"]["newHandle"] == s.handle
    assert second == {"toolCall": {"functionCalls": [{"id": "1", "args": {"newHandle": "x"}}]}}
    await s._on_down(Msg(subjects.down_audio(s.id), audioframe.pack(b"\1\2", 1)))
    assert s.in_turn
    s.end_turn()
    await asyncio.sleep(0)
    assert ws.sent[-1] == '{"serverContent":{"turnComplete":true}}' and not s.in_turn
    s.limits.release()


async def test_reply_audio_goes_to_the_transport_as_audio_and_interrupted_comes_first() -> None:
    s, ws, _ = client_session()
    await s._on_down(Msg(subjects.down_audio(s.id),
                         audioframe.pack(b"\1\2", 1, mime="audio/pcm;rate=24000")))
    ev = bus_pb2.ServerEvent(message_json=b'{"serverContent":{"interrupted":true}}')
    await s._on_event(ev)
    assert ws.sent == [("audio", "audio/pcm;rate=24000", b"\1\2"), "interrupted",
                       '{"serverContent":{"interrupted":true}}']
    s.limits.release()


async def test_audio_before_setup_complete_waits_and_follows_it_in_order() -> None:
    s, ws, _ = client_session()
    s.gate = session_mod.pending.SetupGate()  # not open yet
    await s._on_event(bus_pb2.ServerEvent(message_json=b'{"sessionResumptionUpdate":{}}'))
    await s._on_down(Msg(subjects.down_audio(s.id), audioframe.pack(b"\3\4", 1)))
    assert ws.sent == []
    await s.gate.open('{"setupComplete":{}}', ws)
    assert ws.sent == ['{"setupComplete":{}}', '{"sessionResumptionUpdate":{}}',
                       ("audio", "audio/pcm;rate=24000", b"\3\4")]
    s.limits.release()


async def test_the_client_leaving_ends_the_uplink() -> None:
    s, _, bus = client_session([json.dumps({"realtimeInput": {"text": "hi"}})])
    await s._uplink()
    assert s.close_reason == "client left" and len(bus.main.published) == 1
    s.limits.release()


async def test_media_a_transport_decoded_is_published_and_charged_as_its_json_would_be() -> None:
    pcm = b"\1\0" * 320
    json_audio = json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000",
                                                          "data": base64.b64encode(pcm).decode()}}})
    jpeg = wire.Video(b"\xff\xd8x", "image/jpeg")
    s, _, bus = client_session([wire.Audio(pcm), json_audio, jpeg])
    await s._uplink()
    audio = [d for subject, d in bus.main.published if subject == subjects.up_audio(s.id)]
    assert [audioframe.unpack(d).pcm for d in audio] == [pcm, pcm]  # the same frame either way
    assert [d for subject, d in bus.video.published] == [b"\xff\xd8x"]
    s.limits.release()


@pytest.mark.parametrize("media", [wire.Audio(b"\1\0\1"), wire.Audio(b"\0\0", rate=5),
                                   wire.Video(b"x", "image/gif"),
                                   wire.Video(b"x" * 2000, "image/jpeg")])
async def test_decoded_media_is_held_to_the_same_rules(media: wire.Audio | wire.Video) -> None:
    s, _, bus = client_session([media], max_frame_bytes=1000)
    with pytest.raises(ProtocolError):
        await s._uplink()
    assert not bus.main.published and not bus.video.published
    s.limits.release()
