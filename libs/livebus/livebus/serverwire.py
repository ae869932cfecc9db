"""Server messages of the Live protocol that more than one service writes (the emulator as the
upstream does, the bridge where it stands in for the upstream's detector)."""

from __future__ import annotations

from typing import Any


def duration(seconds: float) -> str:
    """A google.protobuf.Duration in proto3 JSON: "50s", "1.500s"."""
    seconds = max(0.0, round(float(seconds), 3))
    return f"{int(seconds)}s" if seconds.is_integer() else f"{seconds:.3f}s"


def voice_activity(start: bool, audio_offset_s: float) -> dict[str, Any]:
    """Wire spelling per google-genai's `_VoiceActivity_from_mldev`: `type`, `audioOffset`."""
    return {"voiceActivity": {"type": "ACTIVITY_START" if start else "ACTIVITY_END",
                              "audioOffset": duration(audio_offset_s)}}
