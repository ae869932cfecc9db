"""The push-to-talk gate: track audio only inside activities, an activityEnd after the audio
that arrived before it, whatever order and timestamps a client sends."""

from __future__ import annotations

import json

import numpy as np

from livebus_webrtc.activity import SERIAL, ActivityGate, Signals, newer, signals, silent

START = json.dumps({"realtimeInput": {"activityStart": {}}})
END = json.dumps({"realtime_input": {"activityEnd": {}}})
TEXT = json.dumps({"realtimeInput": {"text": "hello"}})
PAUSE = json.dumps({"realtimeInput": {"audioStreamEnd": True}})
TICK = 960  # one 20 ms Opus packet at 48 kHz
QUIET = bytes(640)  # 20 ms of 16 kHz PCM: a muted track's frame
SPEECH = np.full(320, 3000, dtype="<i2").tobytes()


def _gate(wait_s: float = 0.5) -> ActivityGate:
    gate = ActivityGate(wait_s)
    gate.ptt = True
    return gate


def _received(gate: ActivityGate, *stamps: int) -> None:
    for ts in stamps:
        gate.packet(ts)


def test_serial_order_survives_the_wrap() -> None:
    assert newer(1, 0) and not newer(0, 1) and not newer(5, 5)
    assert newer(3, SERIAL - 2)  # just past the wrap is later
    assert not newer(SERIAL - 2, 3)


def test_signals_are_read_from_realtime_input_only() -> None:
    assert signals(START) == Signals(last="start")
    assert signals(END) == Signals(ends=True, last="end")
    assert signals(TEXT) == Signals()
    assert signals('{"realtimeInput": {"activityEnd": {}, "activityStart": {}}}') == \
        Signals(ends=True, last="start")
    assert signals(PAUSE) == Signals(pauses=True)
    assert signals('{"realtime_input": {"audio_stream_end": true}}') == Signals(pauses=True)
    assert signals('{"realtimeInput": {"audioStreamEnd": "true"}}') == Signals()  # not a bool
    # Not a realtimeInput, not JSON, too deep: none (the session refuses what is malformed).
    assert signals('{"clientContent": {"activityEnd": {}}}') == Signals()
    assert signals('{"realtimeInput": "activityEnd"}') == Signals()
    assert signals('["activityEnd"]') == Signals()
    assert signals('{"realtimeInput": {"activityEnd": ') == Signals()
    assert signals("[" * 100_000 + "activity") == Signals()
    # Parsed, not matched: an escaped key is the same key.
    assert signals('{"realtimeInput": {"\\u0061ctivityEnd": {}}}') == Signals(True, "end")


def test_audio_outside_activities_is_dropped_and_inside_passes() -> None:
    gate, now = _gate(), 0.0
    _received(gate, 0, TICK)
    assert gate.frame(0, now) == ([], False)  # before any activity
    assert gate.message(START, now) == [START]
    # Received before the activityStart (its mark is TICK): from before the press.
    assert gate.frame(TICK, now) == ([], False)
    _received(gate, 2 * TICK, 3 * TICK)
    assert gate.frame(2 * TICK, now) == ([], True)
    assert gate.message(TEXT, now) == [TEXT]  # other messages pass at once
    assert gate.frame(3 * TICK, now) == ([], True)


def test_an_activity_end_waits_for_the_audio_that_arrived_before_it() -> None:
    gate, now = _gate(), 0.0
    gate.message(START, now)
    _received(gate, *(TICK * i for i in range(1, 6)))  # five packets, one frame out so far
    assert gate.frame(TICK, now) == ([], True)
    assert gate.message(END, now) == []  # held: the jitter buffer still has four
    assert gate.message(TEXT, now) == []  # and the channel is ordered: behind it
    for i in range(2, 6):
        assert gate.frame(TICK * i, now) == ([], True), i  # received before the end: inside
    _received(gate, 6 * TICK)
    # The first frame received after the end releases it (and what came after it), and is out.
    assert gate.frame(6 * TICK, now) == ([END, TEXT], False)
    assert not gate.active and not gate.held


def test_a_stalled_track_releases_the_end_after_the_wait() -> None:
    gate = _gate(wait_s=0.5)
    gate.message(START, 0.0)
    _received(gate, TICK, 2 * TICK)
    assert gate.message(END, 1.0) == []
    assert gate.next_due() == 1.5
    assert gate.due(1.4) == []
    assert gate.due(1.5) == [END]
    # What the track delivers later is outside, however old.
    assert gate.frame(TICK, 1.6) == ([], False)


def test_end_then_start_quickly_makes_two_activities_in_order() -> None:
    gate, now = _gate(), 0.0
    gate.message(START, now)
    _received(gate, TICK, 2 * TICK)
    assert gate.message(END, now) == []
    _received(gate, 3 * TICK)
    assert gate.message(START, now) == []  # behind the held end
    _received(gate, 4 * TICK)
    assert gate.frame(TICK, now) == ([], True)
    assert gate.frame(2 * TICK, now) == ([], True)
    # 3*TICK came between the end and the start: outside both; 4*TICK is the second's.
    assert gate.frame(3 * TICK, now) == ([END, START], False)
    assert gate.frame(4 * TICK, now) == ([], True)


def test_hostile_order_and_stamps_never_hold_a_message_past_the_wait() -> None:
    gate = _gate(wait_s=0.5)
    # An end with no activity, a second start, an end before any packet: nothing stalls.
    assert gate.message(END, 0.0) == [END]
    assert gate.message(START, 0.0) == [START]
    assert gate.message(START, 0.0) == [START]
    assert gate.active and gate.start is None
    assert gate.frame(123, 0.0) == ([], True)  # no mark: all of the activity is inside
    held = gate.message(END, 0.0)
    assert held == [] and gate.next_due() == 0.5
    assert gate.frame(None, 0.49) == ([], True)  # no timestamp: only the wait releases it
    assert gate.frame(None, 0.5) == ([END], False)
    # Timestamps that jump backwards never pass the mark: the wait still bounds the hold.
    gate.message(START, 1.0)
    _received(gate, 10 * TICK)
    gate.message(END, 1.0)
    _received(gate, 5, 6, 7)
    assert gate.frame(5, 1.2) == ([], True)
    assert gate.frame(6, 1.5) == ([END], False)


def test_both_signals_in_one_message_and_the_combined_end() -> None:
    gate, now = _gate(), 0.0
    gate.message(START, now)
    _received(gate, TICK)
    both = '{"realtimeInput": {"activityEnd": {}, "activityStart": {}}}'
    assert gate.message(both, now) == []  # it ends an activity: held like an end
    _received(gate, 2 * TICK)
    assert gate.frame(TICK, now) == ([], True)
    assert gate.frame(2 * TICK, now) == ([both], True)  # a new activity from its mark on
    assert gate.active and gate.start == TICK


def test_without_push_to_talk_everything_passes_at_once() -> None:
    gate = ActivityGate()
    _received(gate, TICK)
    assert gate.frame(0, 0.0) == ([], True)
    assert gate.message(START, 0.0) == [START]
    assert gate.message(END, 0.0) == [END]
    assert gate.frame(TICK, 0.0) == ([], True)
    assert not gate.held


def test_silence_is_a_muted_tracks_not_a_quiet_rooms() -> None:
    assert silent(QUIET) and silent(b"")
    assert silent(np.full(320, 20, dtype="<i2").tobytes())  # -64 dBFS
    assert not silent(np.full(320, 100, dtype="<i2").tobytes())  # -50 dBFS: a room, a voice
    assert not silent(SPEECH)


def test_a_stream_end_waits_for_the_audio_before_it_then_drops_silence_until_sound() -> None:
    gate, now = ActivityGate(), 0.0
    _received(gate, *(TICK * i for i in range(1, 5)))
    assert gate.frame(TICK, now, SPEECH) == ([], True)
    assert gate.message(PAUSE, now) == []  # three frames of speech still in the jitter buffer
    assert gate.message(TEXT, now) == []  # behind it, in channel order
    for i in (2, 3, 4):
        assert gate.frame(TICK * i, now, SPEECH) == ([], True), i
    _received(gate, 5 * TICK, 6 * TICK, 7 * TICK, 8 * TICK)
    # Speech encoded before the mute took hold still goes, then the muted track's silence not.
    assert gate.frame(5 * TICK, now, SPEECH) == ([PAUSE, TEXT], True)
    assert gate.frame(6 * TICK, now, SPEECH) == ([], True)
    assert gate.frame(7 * TICK, now, QUIET) == ([], False)
    assert gate.message(TEXT, now) == [TEXT]  # other messages do not resume it
    assert gate.frame(8 * TICK, now, QUIET) == ([], False)
    assert gate.frame(9 * TICK, now, SPEECH) == ([], True)  # sound: the stream resumes
    assert gate.frame(10 * TICK, now, QUIET) == ([], True)  # and its silence goes up again


def test_a_stream_end_with_a_stalled_track_is_released_by_the_wait() -> None:
    gate = ActivityGate(wait_s=0.5)
    _received(gate, TICK, 2 * TICK)
    assert gate.message(PAUSE, 1.0) == [] and gate.next_due() == 1.5
    assert gate.due(1.5) == [PAUSE] and gate.pause == "ending"


def test_with_push_to_talk_a_stream_end_neither_waits_nor_pauses() -> None:
    gate = _gate()
    assert gate.message(PAUSE, 0.0) == [PAUSE]
    assert not gate.pause
