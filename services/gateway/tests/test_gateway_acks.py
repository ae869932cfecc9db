"""Acknowledgements for the clients that ask: after setupComplete, prompt, coalesced, stopped."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from livebus_gateway import acks


class FakeSocket:
    """What a starlette WebSocket does for the transport: frames in, texts out."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[tuple[float, str]] = []
        self.application_state = None

    async def receive(self) -> dict[str, Any]:
        return await self.frames.get()

    async def send_text(self, text: str) -> None:
        self.sent.append((time.monotonic(), text))

    def push(self, n: int) -> None:
        for _ in range(n):
            self.frames.put_nowait({"type": "websocket.receive", "text": "{}"})


def _acks(ws: FakeSocket) -> list[tuple[float, int]]:
    return [(t, json.loads(s)["livebusAck"]["received"]) for t, s in ws.sent if "livebusAck" in s]


def test_only_an_explicit_request_turns_them_on() -> None:
    assert acks.wanted({"livebus_acks": "1"})
    for query in ({}, {"livebus_acks": "0"}, {"livebus_acks": "yes"}, {"other": "1"}):
        assert not acks.wanted(query), query


async def test_counts_are_acknowledged_after_setup_complete_promptly_and_coalesced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    every = 0.2  # longer than the gateway's, so a busy machine cannot blur "at once"
    monkeypatch.setattr(acks, "ACK_EVERY_S", every)
    ws = FakeSocket()
    t = acks.AckingTransport(ws)  # type: ignore[arg-type]
    ws.push(1)
    assert await t.receive() == "{}"  # the setup
    await asyncio.sleep(0.05)
    assert ws.sent == [], "nothing before the session's first message (setupComplete)"
    await t.send_text('{"setupComplete":{}}')
    await asyncio.sleep(every * 1.5)
    assert [n for _, n in _acks(ws)] == [1]
    ws.push(1)
    start = time.monotonic()
    await t.receive()
    await asyncio.sleep(every / 4)
    assert _acks(ws)[-1][1] == 2 and _acks(ws)[-1][0] - start < every / 4, "idle: at once"
    ws.push(50)
    for _ in range(50):  # a burst within one interval: one acknowledgement of all of it
        await t.receive()
    await asyncio.sleep(every * 1.5)
    got = _acks(ws)
    assert [n for _, n in got] == [1, 2, 52]
    assert got[2][0] - got[1][0] >= every * 0.9
    await asyncio.sleep(every * 1.5)
    assert len(_acks(ws)) == 3, "nothing new, nothing sent"
    await t.close(1000, "done")
    ws.push(1)
    await t.receive()
    await asyncio.sleep(every * 1.5)
    assert len(_acks(ws)) == 3, "closed: no more"

