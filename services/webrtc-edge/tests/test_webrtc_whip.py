"""WHIP signalling: the HTTP answers, and a real peer connection (loopback, in-process) with the
data channel, uplink audio at 16 kHz, reply audio played and flushed on interrupted."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import aiortc.rtcicetransport
import httpx
import numpy as np
import pytest
from rtcclient import Client

from livebus_webrtc import ice
from livebus_webrtc.peer import Peer
from livebus_webrtc.settings import WebRTCSettings
from livebus_webrtc.uplink import Chunk
from livebus_webrtc.whip import Refused, Whip, create_app

KEY = "server-key"
AIORTC_PREFETCH_S = 4 * 0.020  # aiortc holds 4 audio frames before it decodes


class Sessions:
    """The one fake seam: admits KEY, echoes data channel text, keeps the uplink PCM."""

    def __init__(self) -> None:
        self.refuse: Refused | None = None
        self.pcm = bytearray()
        self.stamps: list[int | None] = []  # each chunk's RTP timestamp
        self.peers: list[Peer] = []

    async def start(self, credential: str, peer: Peer) -> None:
        if credential != KEY:
            raise Refused(401, "bad credential")
        if self.refuse is not None:
            raise self.refuse
        self.peers.append(peer)

        async def keep(chunk: Chunk) -> None:
            self.pcm += chunk.pcm
            self.stamps.append(chunk.timestamp)
        peer.audio_sink = keep

        async def echo() -> None:
            while (text := await peer.receive()) is not None:
                await peer.send_text("echo " + text)
        asyncio.get_running_loop().create_task(echo())


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc.rtcicetransport, "Connection", aiortc.rtcicetransport.Connection)
    ice.install(ice.IcePolicy(addresses=("127.0.0.1",)))


@pytest.fixture
async def edge() -> AsyncIterator[tuple[httpx.AsyncClient, Sessions, Whip]]:
    sessions = Sessions()
    app, whip = create_app(WebRTCSettings(max_sdp_bytes=20000, allowed_origins=["http://page"]),
                           sessions.start, lambda: (True, "ok"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://edge") as http:
        yield http, sessions, whip
    for peer in list(whip.peers.values()):
        await peer.close()


def _headers(key: str = KEY, ctype: str = "application/sdp") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": ctype}


async def test_refusals_have_their_http_status(edge: tuple[httpx.AsyncClient, Sessions, Whip]) \
        -> None:
    http, sessions, _ = edge
    client = Client()
    offer = await client.offer()
    try:
        r = await http.post("/whip", content=offer, headers=_headers(ctype="application/json"))
        assert r.status_code == 415
        r = await http.post("/whip", content=offer, headers={"Content-Type": "application/sdp"})
        assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        r = await http.post("/whip", content=offer, headers=_headers(key="wrong"))
        assert r.status_code == 401
        r = await http.post("/whip", content="v=0\r\nnonsense", headers=_headers())
        assert r.status_code == 400
        r = await http.post("/whip", content=offer + "a=x:" + "y" * 20000 + "\r\n",
                            headers=_headers())
        assert r.status_code == 413
        sessions.refuse = Refused(503, "full", retry_after_s=5)
        r = await http.post("/whip", content=offer, headers=_headers())
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        sessions.refuse = Refused(429, "too many sessions for this credential")
        r = await http.post("/whip", content=offer, headers=_headers())
        assert r.status_code == 429
        assert sessions.peers == []
        r = await http.patch("/whip/anything", content="", headers=_headers())
        assert r.status_code == 405
    finally:
        await client.close()


async def test_an_offer_without_a_data_channel_is_refused(
        edge: tuple[httpx.AsyncClient, Sessions, Whip]) -> None:
    http, _, _ = edge
    client = Client()
    try:
        r = await http.post("/whip", content=await client.offer(channel=False),
                            headers=_headers())
        assert r.status_code == 400 and "data channel" in r.text
    finally:
        await client.close()


async def test_cors_lets_the_allowed_origin_read_the_location_and_refuses_others(
        edge: tuple[httpx.AsyncClient, Sessions, Whip]) -> None:
    http, sessions, _ = edge
    for path in ("/whip", "/whip/anything"):
        r = await http.options(path, headers={"Origin": "http://page",
                                              "Access-Control-Request-Method": "POST"})
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == "http://page"
        assert r.headers["Access-Control-Expose-Headers"] == "Location"
        assert set(r.headers["Access-Control-Allow-Methods"].split(", ")) >= {"POST", "DELETE"}
        assert {"Authorization", "Content-Type"} <= set(
            r.headers["Access-Control-Allow-Headers"].split(", "))
        assert r.headers["Vary"] == "Origin"
    for origin in ("http://elsewhere", "null", "http://page:80", "http://page/"):
        r = await http.options("/whip", headers={"Origin": origin})
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
    assert (await http.options("/whip")).status_code == 403  # not a preflight
    # A page elsewhere gets no session, even when its browser skips the preflight.
    client = Client()
    try:
        offer = await client.offer()
        r = await http.post("/whip", content=offer,
                            headers={**_headers(), "Origin": "http://elsewhere"})
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
        assert sessions.peers == []
        r = await http.post("/whip", content=offer, headers={**_headers(), "Origin": "http://page"})
        assert r.status_code == 201
        assert r.headers["Access-Control-Allow-Origin"] == "http://page"
        assert r.headers["Access-Control-Expose-Headers"] == "Location"
        location = r.headers["Location"]
        r = await http.delete(location, headers={"Origin": "http://elsewhere"})
        assert r.status_code == 403
        r = await http.delete(location, headers={"Origin": "http://page"})
        assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "http://page"
    finally:
        await client.close()


async def _until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_session_talks_both_ways_and_ends_with_delete(
        edge: tuple[httpx.AsyncClient, Sessions, Whip]) -> None:
    http, sessions, whip = edge
    client = Client()
    try:
        r = await http.post("/whip", content=await client.offer(), headers=_headers())
        assert r.status_code == 201 and r.headers["Content-Type"] == "application/sdp"
        location = r.headers["Location"]
        assert location.startswith("/whip/") and "a=candidate:" in r.text
        await client.answer(r.text)
        await _until(lambda: client.channel is not None and client.channel.readyState == "open")
        assert client.channel is not None
        client.channel.send('{"setup": {}}')
        assert await asyncio.wait_for(client.messages.get(), 10) == 'echo {"setup": {}}'
        # uplink: the 440 Hz tone arrives as 16 kHz PCM
        await _until(lambda: len(sessions.pcm) >= 16000 * 2)
        pcm = np.frombuffer(bytes(sessions.pcm[-16000:]), dtype="<i2")
        assert np.abs(pcm).max() > 8000
        assert abs(np.argmax(np.abs(np.fft.rfft(pcm))) * 16000 / len(pcm) - 440) < 5
        assert sessions.peers[0].inline_audio  # decoded by libopus at 16 kHz, not resampled
        # Each chunk keeps its packet's RTP timestamp (the push-to-talk gate orders by them).
        assert sessions.peers[0].stamped_audio
        stamps = [s for s in sessions.stamps if s is not None]
        assert len(stamps) == len(sessions.stamps)
        steps = {(b - a) % (1 << 32) for a, b in itertools.pairwise(stamps)}
        assert steps == {960}, steps  # 20 ms at 48 kHz apart
        # downlink: reply audio plays, then stops on interrupted
        peer = sessions.peers[0]
        t = np.arange(24000 * 5) / 24000
        await peer.send_audio((0.5 * 32767 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
                              .tobytes())
        await _until(lambda: any(level > 8000 for _, level in client.levels[-5:]))
        flushed = time.monotonic()
        peer.interrupt()
        await _until(lambda: any(at > flushed and level < 300 for at, level in client.levels))
        silent = next(at for at, level in client.levels if at > flushed and level < 300)
        # The edge's part must be within 100 ms; the aiortc client adds its fixed jitter buffer
        # (the browser's adapts, and the Chromium test measures it in the page).
        assert silent - flushed < 0.1 + AIORTC_PREFETCH_S
        r = await http.delete(location)
        assert r.status_code == 200 and peer.closed.is_set()
        await _until(lambda: not whip.peers)
        assert (await http.delete(location)).status_code == 404
    finally:
        await client.close()
