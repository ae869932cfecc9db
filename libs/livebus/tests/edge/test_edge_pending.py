"""The setup gate: nothing before setupComplete, nothing lost, order kept whatever the timing."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from livebus.edge.pending import SetupGate, TooMuchBeforeSetup


async def test_held_messages_follow_setup_complete_in_order() -> None:
    gate = SetupGate()
    sent: list[str] = []
    lock = asyncio.Lock()

    async def slow_send(text: str) -> None:
        await asyncio.sleep(0.001)  # a slow socket: others keep arriving meanwhile
        sent.append(text)

    async def slow_audio(mime: str, pcm: bytes) -> None:
        await slow_send(f"{mime}:{pcm.decode()}")

    to = SimpleNamespace(send_text=slow_send, send_audio=slow_audio)

    async def downlink(text: str) -> None:  # as EdgeSession._send_text does
        if gate.hold(text):
            return
        async with lock:
            await slow_send(text)

    await downlink("a")
    assert gate.hold(("audio/pcm", b"x"))
    await downlink("b")

    async def opener() -> None:
        async with lock:
            await gate.open("setupComplete", to)  # type: ignore[arg-type]

    async def late() -> None:
        for i in range(20):
            await downlink(f"c{i}")
            await asyncio.sleep(0.0005)

    await asyncio.gather(opener(), late())
    assert sent == ["setupComplete", "a", "audio/pcm:x", "b", *(f"c{i}" for i in range(20))]
    assert gate.is_open and not gate.held and gate.held_bytes == 0


async def test_too_much_before_setup_fails_the_session_instead_of_losing_it() -> None:
    gate = SetupGate(max_bytes=10)
    assert gate.hold("x" * 8) and gate.hold("y" * 8)
    with pytest.raises(TooMuchBeforeSetup):
        await gate.open("setupComplete", SimpleNamespace())  # type: ignore[arg-type]
