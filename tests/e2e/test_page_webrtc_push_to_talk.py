"""Push-to-talk and muting over the page's WebRTC transport, against the real webrtc-edge in
Chromium.

The microphone speaks all the time, held or not. The audio track flows for the whole session
while activityStart / activityEnd go on the data channel: what reaches the emulator must be
the speech of the held intervals, each inside its activity, and nothing of what was said
while neither Space nor the talk button was held. The emulator's `silent_s` of a turn is how
much of it was silence (a disabled track's zeros): the turn's audio is the speech said while
held, not the track's audio from before the press or after the release. At the end the track
is forced on while released, as a client that never mutes it: still nothing goes upstream.

With automatic activity detection, muting the microphone sends audioStreamEnd, and the edge
drops the muted track's silence until the microphone has sound again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Emulator
from .helpers import open_page, stats, wait_js, wait_live
from .rtcedge import EdgeNs, page_in, sent

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAD_S = 3.0  # silence while the session comes up, then speech to the end
MIC = [("silence", LEAD_S), ("speech", 60.0)]
HELD_S = (1.5, 0.5)  # the talk button, then Space
FRAME_S = 0.02  # one Opus packet: how far a turn's edges may sit from the page's
MIC_RATE = 16000
MIC_ON = "() => window.livebus.mic.stream.getAudioTracks()[0].enabled"


def _activity(page: Page) -> list[tuple[str, float]]:
    """The page's activity signals on the data channel: (start|end, performance.now s)."""
    out: list[tuple[str, float]] = []
    for m in sent(page):
        ri: dict[str, Any] = json.loads(m["data"]).get("realtime_input") or {}
        for kind in ("activityStart", "activityEnd"):
            if kind in ri:
                out.append((kind, m["at"] / 1000))
    return out


def _audio_s(emulator: Emulator) -> float:
    return float(emulator.latest()["audio_seconds"])


def test_push_to_talk_over_webrtc_sends_only_the_held_speech(
        edge: EdgeNs, edge_emulator: Emulator, tmp_path: Path) -> None:
    with page_in(edge, tmp_path, MIC) as page:
        open_page(page, edge.stack, transport="webrtc", ptt="on", camera="off", autostart="1")
        wait_live(page, timeout_s=20)
        assert page.evaluate("() => window.livebus.transport") == "webrtc"
        # The microphone speaks (its first LEAD_S are silence), released: nothing goes upstream,
        # and the page's track is muted.
        wait_js(page, f"s.micSamplesCaptured > {(LEAD_S + 1.0) * MIC_RATE}", timeout_s=LEAD_S + 5)
        assert _audio_s(edge_emulator) == 0.0
        assert page.evaluate(MIC_ON) is False

        # The talk button held with the pointer, then the reply.
        button = page.get_by_role("button", name="Hold to talk")
        button.hover()
        page.mouse.down()
        wait_js(page, "lb.talk.turns === 1")
        assert page.evaluate(MIC_ON) is True
        time.sleep(HELD_S[0])
        page.mouse.up()
        assert page.evaluate(MIC_ON) is False
        wait_js(page, "s.turns >= 1 && s.samplesPlayed > 0", timeout_s=20)
        time.sleep(1.0)  # speaking, released
        between = _audio_s(edge_emulator)

        # Space held: a second, shorter turn.
        page.keyboard.down(" ")
        wait_js(page, "lb.talk.turns === 2")
        expect(page.get_by_role("button", name="Talking: release to send")).to_be_visible()
        time.sleep(HELD_S[1])
        page.keyboard.up(" ")
        wait_js(page, "s.turns >= 2", timeout_s=20)
        time.sleep(0.5)
        # A client that does not mute its track between turns (forced on here): the edge still
        # sends none of its speech upstream.
        page.evaluate("() => { window.livebus.mic.stream.getAudioTracks()[0].enabled = true; }")
        wait_js(page, "s.micLevel > 0.02")  # the track speaks again
        time.sleep(1.0)
        signals = _activity(page)
        st = stats(page)
        page.evaluate("() => window.livebus.stop()")
    rec = edge_emulator.latest()
    segments = rec["speech_segments"]
    held = [end - start for (_, start), (_, end) in zip(signals[::2], signals[1::2], strict=True)]
    print("held", [round(h, 3) for h in held], "segments", segments,
          "audio_s", rec["audio_seconds"])

    ric = rec["setup"].get("realtimeInputConfig", rec["setup"].get("realtime_input_config"))
    aad = ric.get("automaticActivityDetection", ric.get("automatic_activity_detection"))
    assert aad["disabled"] is True
    assert [k for k, _ in signals] == ["activityStart", "activityEnd"] * 2, signals
    assert len(segments) == 2, segments
    # Nothing outside the activities reached the upstream: all the audio it received is in
    # the two turns (none before the first, between them, or after the second).
    assert between == pytest.approx(segments[0]["duration_s"], abs=0.001)
    assert rec["audio_seconds"] == pytest.approx(sum(s["duration_s"] for s in segments),
                                                 abs=0.001)
    for seg, held_s in zip(segments, held, strict=True):
        # Each turn is the speech said while held: as long as the hold within a packet or
        # two at either edge, and none of it the silence the track sends while released.
        assert seg["duration_s"] == pytest.approx(held_s, abs=3 * FRAME_S), (seg, held_s)
        assert seg["silent_s"] <= 2 * FRAME_S, seg
    assert rec["turns"] >= 2
    assert st["samplesPlayed"] > 0 and st["outPeak"] > 0.05, st


def _paused_s(edge: EdgeNs) -> float:
    """The edge's muted-track silence dropped so far (its /metrics)."""
    text = httpx.get(f"http://127.0.0.1:{edge.stack.cfg.webrtc_health_port}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "livebus_webrtc_gated_audio_seconds_total" \
                    and sample.labels.get("reason") == "paused":
                return float(sample.value)
    raise AssertionError("no paused counter on the edge")


MUTED_S = 2.0
NOW = "() => performance.now() / 1000"


def test_a_muted_microphone_pauses_the_track_until_it_has_sound_again(
        edge: EdgeNs, tmp_path: Path) -> None:
    with page_in(edge, tmp_path, MIC) as page:
        open_page(page, edge.stack, transport="webrtc", camera="off", autostart="1")
        wait_live(page, timeout_s=20)
        wait_js(page, f"s.micSamplesCaptured > {(LEAD_S + 1.0) * MIC_RATE}", timeout_s=LEAD_S + 5)
        before = _paused_s(edge)
        page.get_by_role("button", name="Microphone on").click()
        muted_at = page.evaluate(NOW)
        assert page.evaluate(MIC_ON) is False
        time.sleep(MUTED_S)
        page.get_by_role("button", name="Microphone off").click()
        disabled_s = page.evaluate(NOW) - muted_at  # at least as long as the track was off
        wait_js(page, "s.micLevel > 0.02")  # the track speaks again
        time.sleep(1.0)  # what the edge still had of the muted track is counted
        dropped = _paused_s(edge) - before
        ends = [m for m in sent(page) if "audioStreamEnd" in
                (json.loads(m["data"]).get("realtime_input") or {})]
        page.evaluate("() => window.livebus.stop()")
    print(f"silence dropped: {dropped:.2f} s of a track off for {disabled_s:.2f} s")
    assert len(ends) == 1
    # The muted track's frames of silence were dropped, about all of them (its first ones
    # come a packet or a few after the mute, behind speech still being encoded), and nothing
    # once it had sound again: no more than the time it was off and the first frames after
    # it until one had sound (the microphone speaks; a few 20 ms frames).
    assert disabled_s - 0.6 < dropped <= disabled_s + 0.1, (dropped, disabled_s)
