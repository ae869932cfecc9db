"""A session's state is its own: nothing one session's frames change reaches another's."""

from __future__ import annotations

import asyncio

from livebus_sampler.sessions import Frame, Session


def test_sessions_share_no_state() -> None:
    async def run() -> None:
        a, b = Session("a"), Session("b")
        a.state.quality = 55
        a.logged.add("decode_failed")
        a.pending = Frame(b"x", still=False, received=1.0)
        a.wake.set()
        assert b.state.quality == 0 and not b.logged and b.pending is None
        assert not b.wake.is_set()

    asyncio.run(run())


def test_a_new_session_counts_as_speaking_until_the_bridge_says_otherwise() -> None:
    s = Session("a")
    assert s.speaking and s.speech_at == float("-inf")
