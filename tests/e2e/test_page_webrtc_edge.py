"""The page's WebRTC transport against the real webrtc-edge, in real Chromium.

Chromium (fake camera, and a microphone that speaks, pauses and barges in) and the whole stack
with the edge run in one network namespace (rtcedge.py). The emulator replies at the pace of
speech, so the barge-in comes while the reply plays; what the page heard is measured in the
page on its audio clock (the RtcPlayer's meter on the remote track).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
import pytest
from playwright.sync_api import Page

from livebus import subjects

from .conftest import Emulator
from .helpers import open_page, stats, wait_js, wait_live
from .rtcedge import EdgeNs, channel, page_in, session_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAD_S = 3.0     # silence first: the WHIP session is up before the speech starts
SPEECH_S = 1.5
PREFIX_S, TAIL_S = 0.3, 0.2  # LIVEBUS_BRIDGE_VAD_PREFIX_MS, LIVEBUS_BRIDGE_VAD_TAIL_MS
BARGE_S = 1.0    # said while the reply plays
# The first turn's reply repeats this (the emulator's transcript override): about 13 s of it.
LONG = " ".join(["tell me about the sea and the ships on it"] * 4)

# The inbound audio RTP stream of the page's peer connection.
INBOUND = """async () => {
  const report = await window.livebus.session.ws.pc.getStats();
  const out = {};
  report.forEach((r) => { if (r.type === "inbound-rtp") out[r.kind] = {
    bytesReceived: r.bytesReceived, packetsReceived: r.packetsReceived,
    packetsLost: r.packetsLost, jitterBufferDelay: r.jitterBufferDelay,
    jitterBufferEmittedCount: r.jitterBufferEmittedCount,
    jitterBufferTargetDelay: r.jitterBufferTargetDelay,
    jitterBufferMinimumDelay: r.jitterBufferMinimumDelay, jitter: r.jitter }; });
  return { inbound: out, state: window.livebus.session.ws.pc.connectionState };
}"""


def whip_requests(page: Page) -> list[dict[str, Any]]:
    """Every WHIP request the page made, with its status (filled in as responses come)."""
    seen: list[dict[str, Any]] = []

    def request(r: Any) -> None:
        if "/whip" in r.url:
            seen.append({"method": r.method, "url": r.url, "headers": r.headers, "status": None,
                         "body": r.post_data or ""})

    def response(r: Any) -> None:
        for entry in seen:
            if entry["url"] == r.url and entry["method"] == r.request.method \
                    and entry["status"] is None:
                entry["status"] = r.status
                entry["response_headers"] = r.headers
                return

    page.on("request", request)
    page.on("response", response)
    return seen


# The page's own transport, with a token it already used: the edge admits the offer (the
# signature holds), and the session then ends as a WebSocket's would (the use is spent at setup).
REUSE = """async ([endpoint, token, model]) => {
  const { RtcTransport } = await import("/rtc.js");
  return new Promise((resolve) => {
    const t = new RtcTransport({ endpoint, token, tracks: () => ({}) });
    t.onopen = () => t.send(JSON.stringify({ setup: { model } }));
    t.onclose = (e) => resolve({ code: e.code, reason: e.reason, location: t.location });
  });
}"""


def test_speech_camera_reply_and_barge_in_over_the_real_edge(
        edge: EdgeNs, edge_emulator: Emulator, tmp_path: Path) -> None:
    edge_emulator.client.post("/control/transcript", json={"text": LONG})
    gap_s = 3.0  # from the end of the first speech to the barge-in: the reply plays by then
    mic = [("silence", LEAD_S), ("speech", SPEECH_S), ("silence", gap_s), ("speech", BARGE_S),
           ("silence", 60.0)]
    with page_in(edge, tmp_path, mic) as page:
        whip = whip_requests(page)
        open_page(page, edge.stack, transport="webrtc", autostart="1", fps="2")
        wait_live(page, timeout_s=20)
        assert page.evaluate("() => window.livebus.transport") == "webrtc"
        config = page.evaluate("() => window.livebus.config")
        assert config["webrtc"]["whip"] == edge.stack.webrtc_whip()
        # The barge-in: the page marks `interrupted` on its audio clock; the meter answers
        # when the remote track went quiet.
        wait_js(page, "s.lastFlush && s.lastFlush.flushedAt !== undefined", timeout_s=30)
        flush = stats(page)["lastFlush"]
        # The answer to the barge-in is played, then the conversation is stopped.
        wait_js(page, "s.turns >= 2 && !s.playing", timeout_s=30)
        page.wait_for_timeout(500)
        rtc = page.evaluate(INBOUND)
        st = stats(page)
        rate = page.evaluate("() => window.livebus.player.ctx.sampleRate")
        tail_ms = page.evaluate("() => window.livebus.player.tailMs")
        channel_log = channel(page)
        enabled = page.evaluate("() => window.livebus.player.stream.getAudioTracks()[0].enabled")
        page.evaluate("() => window.livebus.stop()")
        _until(page, lambda: any(r["method"] == "DELETE" and r["status"] for r in whip))
        _until(page, lambda: not edge_emulator.latest()["open"])  # the session ended upstream
        used = whip[0]["headers"]["authorization"].removeprefix("Bearer ")
        reuse = page.evaluate(REUSE, [edge.stack.webrtc_whip(), used, config["models"][0]])
    rec = edge_emulator.latest()
    [dc] = [m for m in channel_log if '"interrupted":true' in m["data"]][:1]
    handler_ms = flush["receivedAt"] - dc["at"]  # the data channel's event to the page's handler
    report = {"handler_ms": handler_ms, "flush": flush, "tail_ms": tail_ms, "inbound": rtc,
              "segments": rec["speech_segments"],
              "audio_s": rec["audio_seconds"], "frames": len(rec["frames"]),
              "replies": [{k: r.get(k) for k in ("audio_s", "interrupted")}
                          for r in rec["replies"]]}
    print(f"barge-in: playback stopped {flush['audioClockDelayMs']:.0f} ms (audio clock) after "
          f"the page handled `interrupted`, {handler_ms:.0f} ms after it arrived; the jitter "
          f"buffer held {tail_ms - 40:.0f} ms", report)

    # Signalling: one offer with the page's one-use token, answered 201; Stop sent DELETE.
    posts = [r for r in whip if r["method"] == "POST"][:1]
    assert [r["status"] for r in posts] == [201], whip
    assert posts[0]["headers"]["content-type"] == "application/sdp"
    assert used.startswith("auth_tokens/")
    # (404 when the edge had already ended it: the peer connection closes as the DELETE goes.)
    deletes = [r for r in whip if r["method"] == "DELETE"][:1]
    assert [r["status"] in (200, 404) for r in deletes] == [True], whip
    assert deletes[0]["headers"]["authorization"] == f"Bearer {used}"
    assert reuse["code"] == 1008 and "used" in reuse["reason"], reuse

    # The speech reached the emulator through the edge and the bus: both utterances, each as
    # the bridge's default (local) turn detection sends it: the 300 ms before its onset, the
    # speech and the first 200 ms of the quiet after it; the rest of the quiet stays here.
    first, barge = rec["speech_segments"][:2]
    assert first["duration_s"] == pytest.approx(PREFIX_S + SPEECH_S + TAIL_S, abs=0.15), \
        rec["speech_segments"]
    assert barge["duration_s"] == pytest.approx(PREFIX_S + BARGE_S + TAIL_S, abs=0.15), \
        rec["speech_segments"]
    # (The emulator's clock is the audio it received: the quiet between them never came.)
    assert barge["start_s"] == pytest.approx(first["start_s"] + first["duration_s"], abs=0.05)
    assert SPEECH_S + BARGE_S < rec["audio_seconds"] < SPEECH_S + BARGE_S + gap_s
    # The camera's frames reached it through the frame-sampler, within 512x512.
    assert rec["frames"], "frames from the camera track"
    assert all(0 < f["width"] <= 512 and 0 < f["height"] <= 512 for f in rec["frames"])

    # The reply came back on the audio track and was heard (the meter on the remote stream).
    assert rtc["inbound"]["audio"]["bytesReceived"] > 20_000, rtc
    assert st["outPeak"] > 0.05, st
    assert st["samplesPlayed"] / rate > 2.0, "seconds of audible reply"

    # The barge-in: the reply was cut while it played (the page had heard more than a second
    # of it), and nothing of it was heard later than 100 ms after `interrupted` reached the page
    # (the audio clock from the page's handler, plus the handler's own delay). Usually it was
    # playing then (`wasPlaying`); on a loaded machine the reply can have a gap just then, and
    # stopped before: that the flush silences sound still arriving is shown in
    # test_page_webrtc.py with a tone that goes on.
    assert rec["interruptions"] >= 1
    assert rec["replies"][0]["interrupted"]
    assert flush["playedAtFlush"] / rate > 1.0, flush
    assert flush["audioClockDelayMs"] + handler_ms < 100, (handler_ms, flush)
    # The track was silenced for as long as the jitter buffer held audio, then heard again.
    assert 40 < tail_ms < 1000 and enabled, tail_ms


def _until(page: Page, check: Any, timeout: float = 10.0) -> None:
    """Wait for `check()` while Playwright goes on dispatching the page's events."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


async def _owner(nats_url: str, sid: str) -> str:
    nc = await nats.connect(nats_url)
    try:
        entry = await (await nc.jetstream().key_value(subjects.KV_SESSION_LEASES)).get(sid)
        assert entry.value is not None
        return entry.value.decode()
    finally:
        await nc.close()


def test_the_page_conversation_survives_sigkill_of_its_bridge(
        edge: EdgeNs, edge_emulator: Emulator, tmp_path: Path) -> None:
    gap_s = 10.0  # the first reply ends and its bridge is killed before the next speech
    mic = [("silence", LEAD_S), ("speech", SPEECH_S), ("silence", gap_s), ("speech", SPEECH_S),
           ("silence", 60.0)]
    t0 = time.time()
    with page_in(edge, tmp_path, mic) as page:
        open_page(page, edge.stack, transport="webrtc", autostart="1", camera="off")
        wait_live(page, timeout_s=20)
        wait_js(page, "s.turns >= 1 && !s.playing", timeout_s=30)
        sid = session_id(page)
        with ThreadPoolExecutor(1) as pool:  # its own event loop, beside Playwright's
            owner = pool.submit(asyncio.run, _owner(edge.stack.nats_url, sid)).result(30)
        [bridge] = [p for p in edge.stack.procs if p.name == f"gemini-{owner}"]
        played = stats(page)["samplesPlayed"]
        bridge.kill()  # SIGKILL
        assert bridge.returncode() == -9
        # The next speech is answered by the other bridge, on the same peer connection.
        wait_js(page, "s.turns >= 2 && !s.playing", timeout_s=45)
        st = stats(page)
        rtc = page.evaluate(INBOUND)
        rate = page.evaluate("() => window.livebus.player.ctx.sampleRate")
        closes = page.evaluate("() => window.livebus.closes")
        page.evaluate("() => window.livebus.stop()")
    print(f"killed {owner}; after it the page heard {(st['samplesPlayed'] - played) / rate:.1f} s")
    assert rtc["state"] == "connected" and st["connects"] == 1 and closes == [], (rtc, closes)
    assert (st["samplesPlayed"] - played) / rate > 1.0, "the reply after the kill was heard"
    # The second utterance reached the model through the bridge that took the session over.
    heard = [seg for s in edge_emulator.sessions() if s["started"] >= t0
             for seg in s["speech_segments"]]
    spoken = PREFIX_S + SPEECH_S + TAIL_S  # as local turn detection sends it
    assert sum(1 for seg in heard if seg["duration_s"] == pytest.approx(spoken, abs=0.15)) \
        == 2, heard
