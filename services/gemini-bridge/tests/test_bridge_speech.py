"""The speech state for the frame-samplers: published on a change, and again while it lasts."""

from __future__ import annotations

import asyncio

from bridge_fakes import FakeNats

from livebus import subjects
from livebus.v1 import bus_pb2
from livebus_bridge.speech import SpeechState


def states(nc: FakeNats) -> list[tuple[bool, bool]]:
    out = []
    for subject, payload in nc.published:
        assert subject == subjects.speech("s1")
        m = bus_pb2.Speech.FromString(payload)
        out.append((m.user, m.model))
    return out


async def test_a_users_change_goes_at_once_the_models_within_a_poll_and_both_repeat() -> None:
    nc = FakeNats()
    who = {"user": False, "model": False}
    state = SpeechState(nc, "s1", lambda: who["user"], lambda: who["model"],  # type: ignore[arg-type]
                        poll_s=0.2, repeat_s=0.5)
    task = asyncio.create_task(state.run())
    try:
        await asyncio.sleep(0.05)
        assert states(nc) == []  # nothing before the first poll
        await asyncio.sleep(0.2)
        assert states(nc) == [(False, False)]
        who["user"] = True
        state.wake.set()
        await asyncio.sleep(0.02)  # well within a poll
        assert states(nc)[-1] == (True, False)
        who["user"], who["model"] = False, True
        await asyncio.sleep(0.25)
        assert states(nc)[-1] == (False, True)
        n = len(nc.published)
        await asyncio.sleep(0.7)  # unchanged: repeated once or twice, not every poll
        assert 1 <= len(nc.published) - n <= 2
        assert set(states(nc)[n:]) == {(False, True)}
    finally:
        task.cancel()
