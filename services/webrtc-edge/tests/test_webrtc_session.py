"""The Peer as a livebus.edge Transport: track media enters as realtimeInput once live, reply
audio plays at its rate, interrupted drops the queue, close tells the client why."""

from __future__ import annotations

import base64
import json

import pytest

from livebus.edge.state import EdgeState
from livebus_webrtc.peer import Peer
from livebus_webrtc.session import PeerTransport, Starter, _rate, close_message
from livebus_webrtc.settings import WebRTCSettings
from livebus_webrtc.whip import Refused


@pytest.fixture
async def peer() -> Peer:
    return Peer(WebRTCSettings())


async def test_track_media_waits_for_the_setup(peer: Peer) -> None:
    transport = PeerTransport(peer)
    await peer.audio_sink(b"\1\0" * 320)
    assert peer.inbox.empty()  # before the setup, the first message must be the setup
    transport.live = True
    await peer.audio_sink(b"\1\0" * 320)
    await peer.video_sink(b"\xff\xd8jpeg")
    audio = json.loads(await transport.receive() or "")["realtimeInput"]["audio"]
    assert audio["mimeType"] == "audio/pcm;rate=16000"
    assert base64.b64decode(audio["data"]) == b"\1\0" * 320
    video = json.loads(await transport.receive() or "")["realtimeInput"]["video"]
    assert video["mimeType"] == "image/jpeg"
    await peer.close()


async def test_reply_audio_plays_at_its_rate_and_interrupted_drops_it(peer: Peer) -> None:
    transport = PeerTransport(peer)
    await transport.send_audio("audio/pcm;rate=24000", b"\0\1" * 24000)
    assert peer.reply.queued_s() == pytest.approx(1.0)
    await transport.send_audio("audio/pcm;rate=16000", b"\0\1" * 16000)
    assert peer.reply.queued_s() == pytest.approx(2.0, abs=0.01)
    transport.interrupted()
    assert peer.reply.queued_s() == 0
    await transport.close(1008, "token expired")
    assert peer.closed.is_set()
    assert await transport.receive() is None


def test_the_rate_comes_from_the_mime_type() -> None:
    assert _rate("audio/pcm;rate=16000") == 16000
    assert _rate("audio/pcm; rate=48000") == 48000
    assert _rate("audio/pcm") == 24000
    assert _rate("audio/pcm;rate=x") == 24000


def test_the_close_message_names_code_and_reason() -> None:
    assert json.loads(close_message(1011, "internal error")) == {
        "livebusClose": {"code": 1011, "reason": "internal error"}}


async def test_the_starter_refuses_as_http_a_bad_credential_and_a_full_edge() -> None:
    settings = WebRTCSettings(api_keys=["key-1"], max_sessions=1)
    state = EdgeState.of(settings)
    start = Starter(state, retry_after_s=7)
    first, second = Peer(settings), Peer(settings)
    try:
        with pytest.raises(Refused) as bad:
            await start("not-a-key", first)
        assert bad.value.status == 401
        await start("key-1", first)  # a slot taken; the session waits for its setup
        with pytest.raises(Refused) as full:
            await start("key-1", second)
        assert (full.value.status, full.value.retry_after_s) == (503, 7)
    finally:
        await first.close()
        await second.close()
        for task in list(start.tasks):
            await task
    assert not state.admission.full()  # the closed peer gave its slot back
