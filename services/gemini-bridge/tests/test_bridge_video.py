"""Video: the latest sampled frame wins; frames wait for a connection."""

from __future__ import annotations

import asyncio
import json

from bridge_fakes import FakeMsg, FakeSocket, attach, upstream_session

from livebus import b64, headers


async def test_the_latest_frame_wins_and_waits_for_a_connection() -> None:
    session, _, _ = await upstream_session()
    slot = session.video
    for i in range(3):
        await slot.on_frame(FakeMsg(bytes([i]) * 10, {headers.MIME: "image/jpeg"}))  # type: ignore[arg-type]
    sender = asyncio.create_task(slot.run())
    await asyncio.sleep(0.02)
    sock = FakeSocket()
    attach(session, sock)
    await asyncio.sleep(0.02)
    sender.cancel()
    (frame,) = sock.sent
    video = frame["realtime_input"]["video"]
    assert b64.decode(video["data"]) == bytes([2]) * 10 and video["mime_type"] == "image/jpeg"
    assert json.dumps(frame)  # one plain wire message
