"""Push-to-talk in the page: a held turn (Space or the Talk button) is answered; nothing is
streamed while neither is held. Checked at the emulator, which runs with the upstream's
activity detection off as the page's setup asks."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from livebus_dev.devstack import Stack

from .conftest import Emulator
from .helpers import open_page, stats, wait_js, wait_live

pytestmark = pytest.mark.e2e

MIC_RATE = 16000


def _audio_s(emulator: Emulator) -> float:
    return float(emulator.latest()["audio_seconds"])


def test_a_held_turn_is_answered_and_nothing_streams_while_released(
        page: Page, stack: Stack, emulator: Emulator) -> None:
    open_page(page, stack, ptt="on", camera="off", processing="off", autostart="1")
    wait_live(page)
    expect(page.get_by_role("button", name="Hold to talk")).to_be_visible()
    time.sleep(1.0)  # released: the microphone runs, nothing goes out
    st = stats(page)
    assert st["micSamplesCaptured"] > 0.5 * MIC_RATE, "the microphone is capturing"
    assert st["micChunksSent"] == 0
    assert _audio_s(emulator) == 0.0

    # Space held (nothing focused): one turn of about as long as it was held, then a reply.
    page.keyboard.down(" ")
    wait_js(page, "lb.talk.turns === 1 && document.body.dataset.talking === 'on'")
    time.sleep(1.2)
    page.keyboard.up(" ")
    wait_js(page, "s.turns >= 1 && s.samplesReceived > 0", timeout_s=15)
    held = stats(page)
    time.sleep(1.0)
    after = stats(page)
    assert after["micChunksSent"] == held["micChunksSent"], "nothing streams once released"
    assert after["micSamplesCaptured"] > held["micSamplesCaptured"]
    rec = emulator.latest()
    ric = rec["setup"].get("realtimeInputConfig", rec["setup"].get("realtime_input_config"))
    aad = ric.get("automaticActivityDetection", ric.get("automatic_activity_detection"))
    assert aad["disabled"] is True
    [segment] = rec["speech_segments"]
    sent_s = after["micSamplesSent"] / MIC_RATE
    assert 1.0 <= sent_s <= 1.6, sent_s
    assert rec["audio_seconds"] == pytest.approx(sent_s, abs=0.01), "all of it inside the turn"
    assert segment["duration_s"] == pytest.approx(sent_s, abs=0.01)
    assert rec["turns"] >= 1

    # A space typed in the composer is text, not a turn.
    page.locator("#text-input").focus()
    page.keyboard.press(" ")
    assert page.locator("#text-input").input_value() == " "
    assert page.evaluate("() => window.livebus.talk.turns") == 1

    # The Talk button held with the pointer: a second turn.
    button = page.get_by_role("button", name="Hold to talk")
    button.hover()
    page.mouse.down()
    wait_js(page, "lb.talk.turns === 2")
    expect(page.get_by_role("button", name="Talking: release to send")).to_be_visible()
    time.sleep(0.6)
    page.mouse.up()
    wait_js(page, "s.turns >= 2", timeout_s=15)
    time.sleep(0.5)
    end = stats(page)
    rec = emulator.latest()
    assert len(rec["speech_segments"]) == 2
    assert rec["audio_seconds"] == pytest.approx(end["micSamplesSent"] / MIC_RATE, abs=0.01)
    assert 0.4 <= rec["speech_segments"][1]["duration_s"] <= 1.0
