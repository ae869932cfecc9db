"""Acknowledgements for the clients that ask: prompt, coalesced, and only when asked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from livebus_gateway import acks


def test_only_an_explicit_request_turns_them_on() -> None:
    assert acks.wanted({"livebus_acks": "1"})
    for query in ({}, {"livebus_acks": "0"}, {"livebus_acks": "yes"}, {"other": "1"}):
        assert not acks.wanted(query), query


async def test_each_change_is_acknowledged_promptly_and_bursts_are_coalesced() -> None:
    got: list[tuple[float, int]] = []

    async def send(text: str) -> None:
        got.append((time.monotonic(), json.loads(text)["livebusAck"]["received"]))

    a = acks.Acks(send)
    task = asyncio.create_task(a.run())
    try:
        await asyncio.sleep(0.05)
        assert [n for _, n in got] == [1], "the setup, read in the handshake"
        start = time.monotonic()
        a.count()
        await asyncio.sleep(0.005)
        assert got[-1][1] == 2 and got[-1][0] - start < 0.005, "idle: at once"
        for _ in range(50):  # a burst within one interval: one acknowledgement of all of it
            a.count()
        await asyncio.sleep(acks.ACK_EVERY_S * 2.5)
        assert [n for _, n in got] == [1, 2, 52]
        assert got[2][0] - got[1][0] >= acks.ACK_EVERY_S * 0.9
        await asyncio.sleep(acks.ACK_EVERY_S * 2)
        assert len(got) == 3, "nothing new, nothing sent"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
