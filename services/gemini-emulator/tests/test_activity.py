"""activity.py: what a turn covers by turnCoverage, and when interim transcripts are due."""

from __future__ import annotations

import pytest

from livebus_emulator.activity import INTERIM_EVERY_S, Interim, covered

FRAMES = [{"n": 1, "in_activity": False}, {"n": 2, "in_activity": True}]


@pytest.mark.parametrize(("coverage", "audio", "frames"), [
    ("TURN_INCLUDES_ONLY_ACTIVITY", 0.6, [2]),
    ("TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO", 0.6, [1, 2]),
    ("TURN_INCLUDES_ALL_INPUT", 2.0, [1, 2]),
])
def test_spoken_turn_coverage(coverage: str, audio: float, frames: list[int]) -> None:
    got_audio, got_frames = covered(coverage, 0.6, 2.0, FRAMES)
    assert got_audio == audio and [f["n"] for f in got_frames] == frames


@pytest.mark.parametrize(("coverage", "audio"), [
    ("TURN_INCLUDES_ONLY_ACTIVITY", 0.0), ("TURN_INCLUDES_ALL_INPUT", 2.0)])
def test_typed_turn_takes_every_frame(coverage: str, audio: float) -> None:
    got_audio, got_frames = covered(coverage, 0.0, 2.0, FRAMES, typed=True)
    assert got_audio == audio and len(got_frames) == 2


def test_interim_every_half_second_of_activity() -> None:
    interim = Interim()
    assert interim.due(5.0, None) is None  # no activity
    interim.start(1.0)
    assert interim.due(1.0 + INTERIM_EVERY_S - 0.01, None) is None
    assert interim.due(1.5, None) == "[speech 0.5 s]"
    assert interim.due(1.6, None) is None
    assert interim.due(2.7, None) == "[speech 1.7 s]"  # late audio: one message, not three
    assert interim.due(2.9, None) is None
    interim.stop()
    assert interim.due(9.0, None) is None


def test_interim_reveals_an_override_word_by_word() -> None:
    interim = Interim()
    interim.start(0.0)
    said = [interim.due(t / 10, "alpha beta gamma delta") for t in range(5, 30, 5)]
    assert said == ["alpha", "alpha beta", "alpha beta gamma", "alpha beta gamma delta",
                    "alpha beta gamma delta"]
