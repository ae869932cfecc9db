"""The setup gate: nothing before setupComplete, nothing lost, order kept whatever the timing."""

from __future__ import annotations

import asyncio

import pytest

from livebus_gateway.pending import SetupGate, TooMuchBeforeSetup


async def test_held_messages_follow_setup_complete_in_order() -> None:
    gate = SetupGate()
    sent: list[str] = []
    lock = asyncio.Lock()

    async def slow_send(text: str) -> None:
        await asyncio.sleep(0.001)  # a slow socket: others keep arriving meanwhile
        sent.append(text)

    async def downlink(text: str) -> None:  # as ClientSession._send_text does
        if gate.hold(text):
            return
        async with lock:
            await slow_send(text)

    await downlink("a")
    await downlink("b")

    async def opener() -> None:
        async with lock:
            await gate.open("setupComplete", slow_send)

    async def late() -> None:
        for i in range(20):
            await downlink(f"c{i}")
            await asyncio.sleep(0.0005)

    await asyncio.gather(opener(), late())
    assert sent == ["setupComplete", "a", "b", *(f"c{i}" for i in range(20))]
    assert gate.is_open and not gate.held and gate.held_bytes == 0


async def test_too_much_before_setup_fails_the_session_instead_of_losing_it() -> None:
    gate = SetupGate(max_bytes=10)
    assert gate.hold("x" * 8) and gate.hold("y" * 8)
    with pytest.raises(TooMuchBeforeSetup):
        await gate.open("setupComplete", lambda t: asyncio.sleep(0))
