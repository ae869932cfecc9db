"""turns.py: when the model waits for more input, and how a tool result is said."""

from __future__ import annotations

from livebus_emulator.turns import UserTurn, needs_more_input, spoken_result, transcription_details


def test_blips_and_trailing_transcripts_need_more_input() -> None:
    assert needs_more_input(UserTurn("speech", "", speech_s=0.05))
    assert needs_more_input(UserTurn("speech", "so I was thinking...", speech_s=1.0))
    assert needs_more_input(UserTurn("speech", "and then\u2026 ", speech_s=1.0))
    assert not needs_more_input(UserTurn("speech", "", speech_s=0.5))
    assert not needs_more_input(UserTurn("speech", "a full sentence.", speech_s=1.0))


def test_spoken_result_is_bounded() -> None:
    assert spoken_result("f", {"response": {"a": 1}}) == 'The tool f returned {"a": 1}.'
    long = spoken_result("f", {"response": {"a": "x" * 5000}})
    assert len(long) < 1100 and long.endswith("....")


def test_transcription_details_follow_the_config() -> None:
    turn = UserTurn("speech", "", speech_s=1.0, start_s=0.5, transcript="guten morgen")
    assert transcription_details(turn, {}) == {"finished": True}
    details = transcription_details(turn, {"language_codes": ["de-DE", "en-US"],
                                           "wordTimestamp": True, "diarization": True})
    assert details == {
        "finished": True, "languageCode": "de-DE", "speakerLabel": "spk_1",
        "startOffset": "0.500s", "endOffset": "1.500s",
        "words": [{"word": "guten", "startOffset": "0.500s", "endOffset": "1s"},
                  {"word": "morgen", "startOffset": "1s", "endOffset": "1.500s"}]}
