"""The web page in a real Chromium with a fake camera and microphone, against the whole stack.

What the page sent is checked at the far end (the emulator's control API), what it played is
counted by its playback worklet, and a screenshot is saved to test-artifacts/.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

from .conftest import ARTIFACTS, SPEECH_S, Emulator
from .helpers import open_page, png, stats, wait_js, wait_live

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Server turn detection: these tests check that every sample the page sent, its pre-roll
    and the silence too, reached the model."""
    with running_stack(tmp_path_factory.mktemp("stack"),
                       extra_env={"LIVEBUS_BRIDGE_TURN_DETECTION": "server"}) as s:
        yield s

MIC_RATE = 16000
SPEAKER_RATE = 24000


def test_speech_and_camera_reach_the_model_and_the_reply_plays(
        page: Page, stack: Stack, emulator: Emulator) -> None:
    emulator.client.post("/control/transcript", json={"text": "What do you see?"})
    # The token takes 0.6 s, so the speech (which starts 0.4 s into the fake microphone's
    # file) begins while the page is still connecting: it must be kept and sent (pre-roll).
    def slow_token(route: Route) -> None:
        time.sleep(0.6)
        route.continue_()

    page.route("**/dev/token", slow_token)
    open_page(page, stack, processing="off", autostart="1", transcript="open")
    wait_live(page)
    # The reply to the 1.5 s of speech arrives and is played to its last sample.
    wait_js(page, "s.turns >= 1 && s.samplesReceived > 0 && !s.playing && s.samplesQueued === 0",
            timeout_s=15)
    # 6. What a person sees (looked at by a person: test-artifacts/web-client.png).
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-client.png"))
    # Mute: the page sends audioStreamEnd and no more audio, so both ends can be compared.
    page.evaluate("() => window.livebus.setMic(false)")
    time.sleep(0.4)
    st = stats(page)
    rec = emulator.latest()

    # 1. The speech reached the model: every second sent arrived, and the speech was heard.
    assert st["micRms"] > 0.01, "the page measured a real signal, not silence"
    assert st["micPeakRms"] > 0.05
    sent_s = st["micSamplesSent"] / MIC_RATE
    assert rec["audio_seconds"] == pytest.approx(sent_s, abs=0.01)
    assert 40 <= st["micSamplesSent"] / st["micChunksSent"] / MIC_RATE * 1000 <= 100, "chunk ms"
    [segment] = rec["speech_segments"]
    assert segment["duration_s"] == pytest.approx(SPEECH_S, abs=0.1)
    # Everything the page captured while connecting was kept and sent. (The fake device starts
    # its file when opened, before the page's capture runs, so the lead-in may be shorter.)
    assert st["micPrerollSent"] > 0
    assert st["micSamplesSent"] == st["micSamplesCaptured"], "no audio lost while connecting"
    assert 0.0 < segment["start_s"] <= 0.4 + 0.05

    # 2. Camera frames reached the model, none larger than 512x512.
    assert st["framesSent"] >= 2
    assert 0 < st["maxFrameW"] <= 512 and 0 < st["maxFrameH"] <= 512
    frames = rec["frames"]
    assert frames, "frames from the camera reach the emulator"
    assert all(f["width"] and f["width"] <= 512 and f["height"] <= 512 for f in frames), frames

    # 3. The reply was actually played: every sample the gateway sent went to the speaker.
    [reply] = rec["replies"]
    assert not reply["interrupted"]
    assert st["samplesReceived"] == pytest.approx(reply["audio_s"] * SPEAKER_RATE, abs=48)
    assert st["samplesPlayed"] == st["samplesReceived"]
    assert st["samplesDropped"] == 0
    # From the last voiced chunk: includes the emulator's 500 ms end-of-speech silence.
    assert st["latencies"] == [st["lastLatencyMs"]] and 450 < st["lastLatencyMs"] < 3000

    # 5. Both sides of the conversation are in the transcript panel.
    drawer = page.locator("#transcript")
    expect(drawer.locator(".msg.user .body")).to_have_text("What do you see?")
    expect(drawer.locator(".msg.model .body")).to_have_text(reply["text"])
    expect(page.locator("#latency-text")).to_have_text(f"{st['lastLatencyMs']} ms")


def test_typed_text_and_an_uploaded_image_reach_the_model(
        page: Page, stack: Stack, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    open_page(page, stack, mic="off", camera="off", autostart="1")
    wait_live(page)
    box = page.get_by_role("textbox", name="Message")
    box.fill("hello from the page")
    box.press("Enter")
    wait_js(page, "s.turns >= 1 && s.samplesReceived > 0")
    rec = emulator.latest()
    assert rec["texts"] == ["hello from the page"]
    expect(page.locator("#transcript .msg.model .body").last).to_contain_text(
        "You wrote: hello from the page")

    image = tmp_path_factory.mktemp("upload") / "picture.png"
    image.write_bytes(png(900, 600))
    page.locator("#file-input").set_input_files(str(image))
    expect(page.locator("#attachment")).to_be_visible()
    box.fill("What is in this picture?")
    page.get_by_role("button", name="Send message").click()
    wait_js(page, "s.imagesSent === 1 && s.turns >= 2")
    rec = emulator.latest()
    [content] = rec["client_contents"]
    assert content["turn_complete"] is True
    [turn] = content["turns"]
    parts = turn["parts"]
    inline = [p.get("inlineData") or p.get("inline_data") for p in parts if "text" not in p]
    assert inline, parts
    mime = inline[0].get("mimeType") or inline[0].get("mime_type")
    assert mime == "image/jpeg" and len(inline[0]["data"]) > 1000
    assert {"text": "What is in this picture?"} in parts
    expect(page.locator("#transcript .sent-image")).to_have_count(1)
    assert stats(page)["framesSent"] == 0, "camera off: no frames"


def test_barge_in_drops_queued_audio_at_once(page: Page, stack: Stack, emulator: Emulator) -> None:
    open_page(page, stack, mic="off", camera="off", autostart="1")
    wait_live(page)
    story = " ".join(["tell me a very long story about the sea"] * 8)
    assert page.evaluate("(t) => window.livebus.sendText(t)", story)
    # The emulator streams faster than real time, so a second or more waits in the jitter buffer.
    wait_js(page, f"s.samplesPlayed > 0 && s.samplesQueued > {SPEAKER_RATE}", timeout_s=10)
    assert page.evaluate("() => window.livebus.sendText('stop, please')")
    wait_js(page, "s.lastFlush && s.lastFlush.flushedAt !== undefined")
    flush = stats(page)["lastFlush"]
    # What the user hears: the audio clock (real time even without a sound card) advanced less
    # than 100 ms between `interrupted` reaching the page and the queue being dropped.
    assert flush["audioClockDelayMs"] < 100, flush
    # The report's way back to the main thread plays no audio; on a loaded 2-core CI machine
    # it once took 121 ms (usually 1-15 ms), so it only has to arrive promptly.
    assert flush["roundTripMs"] < 500, flush
    assert flush["wasPlaying"] and flush["droppedNow"] > SPEAKER_RATE // 2, flush
    assert flush["queuedAfter"] == 0 and flush["playingAfter"] is False, flush

    # The answer to the interruption plays in full; the cut reply's queue never does.
    wait_js(page, "s.turns >= 2 && !s.playing && s.samplesQueued === 0 && "
                  "s.samplesPlayed + s.samplesDropped === s.samplesReceived", timeout_s=10)
    st = stats(page)
    assert st["interruptions"] == 1 and st["samplesDropped"] == flush["droppedNow"]
    assert len(st["latencies"]) == 2, "one readout per answered turn, none for the cut reply"
    rec = emulator.latest()
    assert rec["interruptions"] == 1
    cut, answer = rec["replies"]
    assert cut["interrupted"] and not answer["interrupted"]
    played_of_cut = st["samplesPlayed"] - round(answer["audio_s"] * SPEAKER_RATE)
    assert played_of_cut < cut["audio_s"] * SPEAKER_RATE - flush["droppedNow"] + 48
    expect(page.locator("#transcript .msg.model.interrupted")).to_have_count(1)


def test_controls_are_labelled_and_work_from_the_keyboard(page: Page, stack: Stack) -> None:
    open_page(page, stack, model="models/not-offered", camera="off")
    for name in ("Start conversation", "Microphone on", "Camera off", "Show transcript",
                 "Settings", "Attach an image", "Send message"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    page.keyboard.press("m")
    expect(page.get_by_role("button", name="Microphone off")).to_have_attribute(
        "aria-pressed", "false")
    page.keyboard.press("t")
    expect(page.get_by_role("complementary", name="Transcript")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("complementary", name="Transcript")).to_be_hidden()
    page.keyboard.press(",")
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    expect(page.get_by_label("Voice")).to_have_value("Puck")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Settings")).to_be_hidden()

    expect(page.get_by_role("button", name="Settings")).to_be_focused()  # focus returns

    # Start from the keyboard: this gateway does not offer the model: 1007 with the reason.
    page.get_by_role("button", name="Start conversation").focus()
    page.keyboard.press("Enter")
    wait_js(page, "lb.state === 'error'")
    closes = page.evaluate("() => window.livebus.closes.map(c => [c.code, c.reason])")
    assert closes[0][0] == 1007 and "not available" in closes[0][1]
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("refused")
    expect(alert).to_contain_text("not available")
    expect(page.get_by_role("button", name="Start conversation")).to_be_visible()


def token_requests(page: Page) -> int:
    return int(page.evaluate("() => performance.getEntriesByType('resource')"
                             ".filter(e => e.name.endsWith('/dev/token')).length"))


def test_lost_connection_reconnects_with_exponential_backoff(page: Page, stack: Stack) -> None:
    opened: list[float] = []
    pages: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        opened.append(time.monotonic())
        if len(opened) in (2, 3):  # the first two retries find the service busy
            ws.close(code=1013, reason="no bridge capacity")
            return
        ws.connect_to_server()
        pages.append(ws)

    page.route_web_socket("**/ws/**", route)
    open_page(page, stack, mic="off", camera="off", autostart="1")
    wait_live(page)
    lost_at = time.monotonic()
    pages[0].close(code=1011, reason="upstream went away")
    wait_js(page, "lb.state === 'reconnecting'", timeout_s=2)
    expect(page.get_by_role("alert")).to_contain_text("Reconnecting in")
    wait_js(page, "lb.state === 'live' && s.connects === 2", timeout_s=8)
    # Retries wait 0.5 s, 1 s, 2 s (+-20% jitter), plus a token request and the routing here.
    gaps = [b - a for a, b in itertools.pairwise([lost_at, *opened[1:]])]
    for gap, expected in zip(gaps, (0.5, 1.0, 2.0), strict=True):
        assert 0.8 * expected <= gap <= 1.2 * expected + 0.35, gaps
    codes = page.evaluate("() => window.livebus.closes.map(c => c.code)")
    assert codes == [1011, 1013, 1013]
    assert token_requests(page) == 4, "every connection uses a fresh one-use token"


def test_expired_token_is_replaced_without_waiting(page: Page, stack: Stack) -> None:
    opened: list[float] = []

    def route(ws: WebSocketRoute) -> None:
        opened.append(time.monotonic())
        if len(opened) == 1:
            ws.close(code=1008, reason="token expired")
        else:
            ws.connect_to_server()

    page.route_web_socket("**/ws/**", route)
    open_page(page, stack, mic="off", camera="off", autostart="1")
    wait_live(page)
    assert token_requests(page) == 2
    notices = page.evaluate("() => window.livebus.notices.map(n => n.text)")
    assert any("access token" in n and "token expired" in n for n in notices), notices
    # A fresh token straight away: no retry was scheduled (a stopwatch is no judge of that on
    # a loaded machine: fetching the token and reconnecting took 0.33-0.46 s in CI).
    assert len(opened) == 2
    assert not any("Reconnecting in" in n for n in notices), notices


def test_backpressure_drops_video_never_audio(page: Page, stack: Stack) -> None:
    open_page(page, stack, autostart="1")
    wait_live(page)
    wait_js(page, "s.framesSent >= 1 && s.micChunksSent > 0")
    # A congested socket: the page sees a large bufferedAmount.
    page.evaluate("() => Object.defineProperty(window.livebus.session, 'bufferedAmount',"
                  " {configurable: true, get: () => 1 << 20})")
    before = stats(page)
    time.sleep(2.2)
    during = stats(page)
    assert during["framesSent"] == before["framesSent"]
    assert during["framesDropped"] >= before["framesDropped"] + 2
    # 2.2 s of audio at 40 ms a chunk, all of it sent
    assert during["micChunksSent"] - before["micChunksSent"] >= 50
    page.evaluate("() => delete window.livebus.session.bufferedAmount")
    wait_js(page, f"s.framesSent > {during['framesSent']}", timeout_s=3)
