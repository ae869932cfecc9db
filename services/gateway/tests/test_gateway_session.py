"""ClientSession with one fake per seam: the client's socket and the gateway's NATS bus."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from livebus import closecodes, subjects
from livebus.v1 import bus_pb2
from livebus_gateway import session as session_mod
from livebus_gateway.session import ClientSession
from livebus_gateway.settings import GatewaySettings
from livebus_gateway.tokens import Grant
from livebus_gateway.wire import ProtocolError

PCM = base64.b64encode(b"\0" * 640).decode()


class FakeSocket:
    """Frames to receive, in order; what the session sent."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = list(frames)
        self.sent: list[str] = []

    async def receive(self) -> dict[str, Any]:
        if not self.frames:
            return {"type": "websocket.disconnect"}
        return {"type": "websocket.receive", "text": self.frames.pop(0)}

    async def send_text(self, text: str) -> None:
        self.sent.append(text)


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


def client_session(frames: list[str] | None = None, grant: Grant | None = None,
                   **settings: Any) -> tuple[ClientSession, FakeSocket, FakeBus]:
    ws, bus = FakeSocket(frames or []), FakeBus()
    s = ClientSession(ws, bus, GatewaySettings(**settings),  # type: ignore[arg-type]
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
    await s._on_down(Msg(subjects.down_audio(s.id), b"\1\2"))
    assert s.in_turn
    s.end_turn()
    await asyncio.sleep(0)
    assert ws.sent[-1] == '{"serverContent":{"turnComplete":true}}' and not s.in_turn
    s.limits.release()
