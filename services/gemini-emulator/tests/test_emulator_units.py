"""Unit tests of the pure parts: detector, image headers, wire spellings, speech, settings."""

from __future__ import annotations

import base64
import io
import os
import struct
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from emulator_testkit import jpeg_header, png, silence, speech

from livebus.serverwire import duration
from livebus_emulator.events import VadConfig
from livebus_emulator.images import image_size
from livebus_emulator.messages import encode
from livebus_emulator.settings import EmulatorSettings
from livebus_emulator.speech import Speaker, melody, parse_wav, resample
from livebus_emulator.turns import UserTurn, describe, find_calls
from livebus_emulator.vad import EnergyVad, SpeechEnded, SpeechStarted
from livebus_emulator.wire import WireError, decode_b64, parse_setup, pick


def run_vad(config: VadConfig, pcm: bytes, chunk: int = 640) -> list[object]:
    vad = EnergyVad(config)
    events: list[object] = []
    for i in range(0, len(pcm), chunk):
        events += vad.feed(pcm[i:i + chunk])
    return events


def test_vad_segments_in_audio_time_whatever_the_chunking() -> None:
    pcm = silence(0.3) + speech(1.0) + silence(0.6) + speech(0.5) + silence(0.6)
    for chunk in (2, 320, 1282, 6400):
        events = run_vad(VadConfig(), pcm, chunk)
        assert events == [SpeechStarted(0.3), SpeechEnded(0.3, 1.3),
                          SpeechStarted(1.9), SpeechEnded(1.9, 2.4)]


def test_vad_silence_duration_joins_short_pauses() -> None:
    pcm = speech(0.5) + silence(0.3) + speech(0.5) + silence(1.0)
    assert run_vad(VadConfig(silence_duration_ms=500), pcm) == [
        SpeechStarted(0.0), SpeechEnded(0.0, 1.3)]
    assert run_vad(VadConfig(silence_duration_ms=200), pcm) == [
        SpeechStarted(0.0), SpeechEnded(0.0, 0.5), SpeechStarted(0.8), SpeechEnded(0.8, 1.3)]


def test_vad_prefix_padding_ignores_clicks() -> None:
    click = speech(0.05) + silence(0.5)
    assert run_vad(VadConfig(prefix_padding_ms=20), click)[0] == SpeechStarted(0.0)
    assert run_vad(VadConfig(prefix_padding_ms=100), click) == []


def test_vad_sensitivities() -> None:
    quiet = speech(0.5, amplitude=0.03) + silence(0.6)
    assert run_vad(VadConfig(start_sensitivity="START_SENSITIVITY_HIGH"), quiet)
    assert run_vad(VadConfig(start_sensitivity="START_SENSITIVITY_LOW"), quiet) == []
    # A quiet tail: END_SENSITIVITY_HIGH ends the turn on it, LOW keeps the turn going.
    tail = speech(0.5) + speech(0.4, amplitude=0.012) + silence(0.6)
    high = run_vad(VadConfig(end_sensitivity="END_SENSITIVITY_HIGH"), tail)
    low = run_vad(VadConfig(end_sensitivity="END_SENSITIVITY_LOW"), tail)
    assert high[1] == SpeechEnded(0.0, 0.5)
    assert low[1] == SpeechEnded(0.0, 0.9)


def test_vad_flush_ends_pending_speech() -> None:
    vad = EnergyVad(VadConfig())
    assert vad.feed(speech(0.4)) == [SpeechStarted(0.0)]
    assert vad.flush() == SpeechEnded(0.0, 0.4)
    assert vad.flush() is None


def test_image_sizes() -> None:
    assert image_size(png(33, 17)) == (33, 17)
    assert image_size(jpeg_header(640, 480)) == (640, 480)
    assert image_size(b"\xff\xd8\xff\xd9") is None
    assert image_size(b"GIF89a") is None
    vp8x = b"RIFF\x00\x00\x00\x00WEBPVP8X" + bytes(8) + (99).to_bytes(3, "little") + (
        49).to_bytes(3, "little")
    assert image_size(vp8x) == (100, 50)


def test_base64_both_alphabets() -> None:
    data = bytes(range(256))
    for text in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode(),
                 base64.urlsafe_b64encode(data).decode().rstrip("=")):
        assert decode_b64(text, "x") == data
    for bad in ("a", "ab$c", "====", 12):
        with pytest.raises(WireError):
            decode_b64(bad, "x")


def test_field_spellings_and_setup_defaults() -> None:
    assert pick({"mime_type": 1}, "mimeType") == 1
    assert pick({"mimeType": 2}, "mime_type") == 2
    setup = parse_setup({"setup": {"model": "models/x", "tools": [{"function_declarations": [
        {"name": "f"}]}], "session_resumption": {}, "realtimeInputConfig": {
        "activityHandling": "NO_INTERRUPTION"}}})
    assert setup.functions == ["f"] and setup.resumption and setup.handle is None
    assert not setup.interrupts and not setup.compression and setup.audio_out
    assert setup.vad == VadConfig()


def test_find_calls_and_describe() -> None:
    text = 'a {"x": 1} then b {"y": [1, 2]} and a again, nota, b{broken'
    assert find_calls(text, ["a", "b"]) == [("a", {"x": 1}), ("b", {"y": [1, 2]}), ("b", {})]
    # Plain words call only with arguments or parentheses; identifier-like names anywhere.
    assert find_calls("remember the blue bicycle", ["remember"]) == []
    assert find_calls('remember {"note": "x"} and recall()', ["remember", "recall"]) == [
        ("remember", {"note": "x"}), ("recall", {})]
    assert find_calls("use get_time, lookup2 and getTime", ["get_time", "lookup2", "getTime"]) == [
        ("get_time", {}), ("lookup2", {}), ("getTime", {})]
    frames = [{"width": 512, "height": 384}]
    assert describe(UserTurn("speech", "", speech_s=1.84, frames=frames * 3)) == (
        "I heard 1.8 seconds of speech and saw 3 frames, the last 512 by 384.")
    assert describe(UserTurn("text", "hello")) == "You wrote: hello"


def test_messages() -> None:
    assert duration(50) == "50s" and duration(0.5) == "0.500s"
    with pytest.raises(ValueError):
        encode({"x": "y" * (1024 * 1024)})


def test_speech_wav_parsing_and_resampling() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(struct.pack("<4h", 0, 1000, -1000, 0) * 2205)
    parsed = parse_wav(buf.getvalue())
    assert parsed is not None and parsed[1] == 22050 and len(parsed[0]) == 8820
    out = resample(parsed[0], 22050, 24000)
    assert len(out) // 2 == 9600
    tone = np.frombuffer(melody("one two three"), dtype="<i2")
    assert 0.8 < len(tone) / 24000 < 1.2 and np.abs(tone).max() < 32767


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEBUS_EMULATOR_API_KEYS", "a, b,,c")
    monkeypatch.setenv("LIVEBUS_EMULATOR_PACE", "4")
    settings = EmulatorSettings()
    assert settings.api_keys == ["a", "b", "c"] and settings.pace == 4.0
    assert settings.port == 9443 and settings.connection_lifetime_s == 600


FAKE_ESPEAK = """#!{python}
import struct, sys, wave
words = sys.argv[-1].split()
with wave.open(sys.stdout.buffer, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(22050)
    w.writeframes(struct.pack("<h", 1000) * 22050 * len(words))
"""


async def test_espeak_is_used_when_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "espeak-ng"
    fake.write_text(FAKE_ESPEAK.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    speaker = Speaker(use_espeak=True)
    assert speaker.espeak == str(fake)
    pcm = await speaker.synthesize("two words")
    assert len(pcm) == 2 * 24000 * 2  # 2 s at 22.05 kHz resampled to 24 kHz PCM16
    assert await speaker.synthesize("two words") is pcm  # cached
    assert Speaker(use_espeak=False).espeak is None
