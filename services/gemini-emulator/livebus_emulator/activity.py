"""The user's activity in audio time: interim transcripts while it lasts, and what a turn covers.

`turnCoverage` (realtimeInputConfig) decides which input since the previous turn is the turn:
- TURN_INCLUDES_ONLY_ACTIVITY (default): the speech, and the frames that arrived during it;
- TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO: the speech, and every frame since the last turn;
- TURN_INCLUDES_ALL_INPUT: all audio (silence too) and every frame since the last turn.
A typed turn has no activity window: it takes every frame (and, with ALL_INPUT, all audio).
"""

from __future__ import annotations

from livebus_emulator.events import JsonObject

INTERIM_EVERY_S = 0.5  # an interimInputTranscription per this much audio of ongoing activity
_WORD_S = 0.4  # a transcript override is revealed a word per this much speech
ALL_INPUT = "TURN_INCLUDES_ALL_INPUT"
ALL_VIDEO = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"


def covered(coverage: str, speech_s: float, audio_s: float, frames: list[JsonObject],
            typed: bool = False) -> tuple[float, list[JsonObject]]:
    """(audio seconds, frames) of the input since the previous turn that the turn includes."""
    if coverage == ALL_INPUT:
        return audio_s, frames
    audio = 0.0 if typed else speech_s
    if coverage == ALL_VIDEO or typed:
        return audio, frames
    return audio, [f for f in frames if f.get("in_activity")]


class Interim:
    """When the next interim transcript is due during one activity, and what it says."""

    def __init__(self) -> None:
        self.start_s: float | None = None
        self._next_s = 0.0

    def start(self, at_s: float) -> None:
        self.start_s = at_s
        self._next_s = at_s + INTERIM_EVERY_S

    def stop(self) -> None:
        self.start_s = None

    def due(self, now_s: float, override: str | None) -> str | None:
        """The interim text if one is due at audio time `now_s`, else None."""
        if self.start_s is None or now_s < self._next_s:
            return None
        while self._next_s <= now_s:
            self._next_s += INTERIM_EVERY_S
        heard = now_s - self.start_s
        if override:
            words = override.split()
            return " ".join(words[:max(1, int(heard / _WORD_S))])
        return f"[speech {heard:.1f} s]"
