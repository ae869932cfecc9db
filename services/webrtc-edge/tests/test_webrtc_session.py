"""The Peer as a livebus.edge Transport: track media enters as realtimeInput once live, reply
audio plays at its rate, interrupted drops the queue, close tells the client why."""

from __future__ import annotations

import asyncio
import json

import pytest

from livebus.edge.state import EdgeState
from livebus.edge.wire import Audio, Video
from livebus_webrtc.peer import Peer
from livebus_webrtc.session import PeerTransport, Starter, _rate, close_message, push_to_talk
from livebus_webrtc.settings import WebRTCSettings
from livebus_webrtc.uplink import Chunk
from livebus_webrtc.whip import Refused


@pytest.fixture
async def peer() -> Peer:
    return Peer(WebRTCSettings())


async def test_track_media_waits_for_the_setup(peer: Peer) -> None:
    transport = PeerTransport(peer)
    await peer.audio_sink(Chunk(b"\1\0" * 320, 0))
    assert peer.inbox.empty()  # before the setup, the first message must be the setup
    transport.live = True
    await peer.audio_sink(Chunk(b"\1\0" * 320, 960))
    await peer.video_sink(b"\xff\xd8jpeg")
    # As decoded media (no JSON and base64 in between): 16 kHz PCM16, the JPEG as it is.
    assert await transport.receive() == Audio(b"\1\0" * 320, 16000)
    assert await transport.receive() == Video(b"\xff\xd8jpeg", "image/jpeg")
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


def test_push_to_talk_is_read_from_the_setup_in_either_spelling() -> None:
    assert push_to_talk({"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}})
    assert push_to_talk({"realtime_input_config": {
        "automatic_activity_detection": {"disabled": True}}})
    assert not push_to_talk({"realtimeInputConfig": {"automaticActivityDetection": {}}})
    assert not push_to_talk({"realtimeInputConfig": {"automaticActivityDetection": "x"}})
    assert not push_to_talk({"realtimeInputConfig": []})
    assert not push_to_talk({})


START = '{"realtimeInput": {"activityStart": {}}}'
END = '{"realtimeInput": {"activityEnd": {}}}'


def _drain(peer: Peer) -> list[str]:
    out = []
    while not peer.inbox.empty():
        item = peer.inbox.get_nowait()
        assert item is not None and not isinstance(item, Video)
        out.append("audio" if isinstance(item, Audio) else item)
    return out


async def test_push_to_talk_audio_enters_inside_activities_and_the_end_after_it(
        peer: Peer) -> None:
    transport = PeerTransport(peer)
    transport.live, transport.gate.ptt = True, True
    for ts in (0, 960):
        peer.rtp_sink(ts)
    await peer.audio_sink(Chunk(b"\1\0" * 320, 0))  # released: dropped
    peer.message_sink(START)
    for ts in (1920, 2880, 3840):
        peer.rtp_sink(ts)
    await peer.audio_sink(Chunk(b"\1\0" * 320, 960))  # received before the start: dropped
    await peer.audio_sink(Chunk(b"\1\0" * 320, 1920))
    peer.message_sink(END)  # overtakes 2880 and 3840, still in the jitter buffer
    peer.message_sink('{"realtimeInput": {"text": "hi"}}')
    assert _drain(peer) == [START, "audio"]
    await peer.audio_sink(Chunk(b"\1\0" * 320, 2880))
    await peer.audio_sink(Chunk(b"\1\0" * 320, 3840))
    peer.rtp_sink(4800)
    await peer.audio_sink(Chunk(b"\1\0" * 320, 4800))  # after the end: releases it, dropped
    assert _drain(peer) == ["audio", "audio", END, '{"realtimeInput": {"text": "hi"}}']
    await peer.close()


async def test_a_held_end_is_released_by_the_timer_when_the_track_stalls(peer: Peer) -> None:
    transport = PeerTransport(peer)
    transport.live, transport.gate.ptt = True, True
    transport.gate.wait_s = 0.05
    peer.message_sink(START)
    peer.rtp_sink(960)
    peer.message_sink(END)
    assert _drain(peer) == [START]
    assert await asyncio.wait_for(peer.receive(), 1.0) == END
    await peer.audio_sink(Chunk(b"\1\0" * 320, 960))  # too late: outside
    assert peer.inbox.empty()
    await transport.close(1000, "")
