"""messages.py: the 2026 server messages, spelled as google-genai 3.4.0 reads them."""

from __future__ import annotations

from typing import Any

from google.genai import _live_converters, types

from livebus import serverwire
from livebus_emulator import messages


def sdk(message: dict[str, Any]) -> types.LiveServerMessage:
    """What the SDK's receive() makes of a wire message."""
    parsed = _live_converters._LiveServerMessage_from_mldev(message)
    return types.LiveServerMessage._from_response(response=parsed, kwargs={})


def test_voice_activity_wire_names() -> None:
    wire = serverwire.voice_activity(True, 0.5)
    assert wire == {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0.500s"}}
    got = sdk(serverwire.voice_activity(False, 2.0)).voice_activity
    assert got is not None
    assert got.voice_activity_type == types.VoiceActivityType.ACTIVITY_END
    assert got.audio_offset == "2s"


def test_turn_complete_with_reason_waiting_and_status() -> None:
    usage = {"promptTokenCount": 3, "responseTokenCount": 0, "totalTokenCount": 3}
    wire = messages.turn_complete(usage, reason="NEED_MORE_INPUT", waiting_for_input=True,
                                  status="IDLE")
    sc = sdk(wire).server_content
    assert sc is not None and sc.turn_complete
    assert sc.turn_complete_reason == types.TurnCompleteReason.NEED_MORE_INPUT
    assert sc.waiting_for_input is True
    assert sc.interaction_status == types.InteractionStatus.IDLE
    assert messages.turn_complete(None) == {"serverContent": {"turnComplete": True}}


def test_interim_input_transcription() -> None:
    sc = sdk(messages.interim_input_transcription("hel")).server_content
    assert sc is not None and sc.interim_input_transcription is not None
    assert sc.interim_input_transcription.text == "hel"
