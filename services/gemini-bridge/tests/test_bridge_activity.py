"""Turn detection at the bridge: what goes upstream in each mode."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from livebus.serverwire import voice_activity
from livebus.v1 import bus_pb2
from livebus_bridge.activity import END, START, Gate, GateConfig, Item, Mode, plan
from livebus_bridge.sdkws import read_server_message
from livebus_dev.testing.audio import chunks, silence, speech_like

CHUNK_S = 0.02


def feed(gate: Gate, pcm: bytes) -> list[Item]:
    out: list[Item] = []
    for c in chunks(pcm):
        out += gate.feed(c)
    return out


def audio_s(items: list[Item]) -> float:
    return sum(len(i) for i in items if isinstance(i, bytes)) / 32000


def test_plan_local_turns_the_upstream_detector_off_and_keeps_the_rest() -> None:
    config = types.LiveConnectConfig(realtime_input_config=types.RealtimeInputConfig(
        activity_handling=types.ActivityHandling.NO_INTERRUPTION,
        automatic_activity_detection=types.AutomaticActivityDetection(
            silence_duration_ms=800, prefix_padding_ms=60)))
    upstream, mode, gate = plan(config, "local", GateConfig())
    assert mode is Mode.LOCAL
    ric = upstream.realtime_input_config
    assert ric is not None and ric.automatic_activity_detection is not None
    assert ric.automatic_activity_detection.disabled is True
    assert ric.activity_handling == types.ActivityHandling.NO_INTERRUPTION
    assert (gate.silence_ms, gate.onset_ms) == (800, 60)
    assert config.realtime_input_config.automatic_activity_detection.disabled is None  # type: ignore[union-attr]


def test_plan_server_and_the_clients_own_push_to_talk_pass_unchanged() -> None:
    plain = types.LiveConnectConfig()
    assert plan(plain, "server", GateConfig())[:2] == (plain, Mode.SERVER)
    own = types.LiveConnectConfig(realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)))
    assert plan(own, "local", GateConfig())[:2] == (own, Mode.CLIENT)


def test_local_silence_sends_nothing_speech_goes_with_its_prefix_and_ends_after_the_quiet() -> None:
    cfg = GateConfig()
    gate = Gate(Mode.LOCAL, cfg)
    assert feed(gate, silence(3.0)) == []
    turn = feed(gate, speech_like(1.0))
    assert turn[0] is START and gate.speaking
    assert turn.count(START) == 1 and END not in turn
    # the prefix: the audio just before the onset went up too
    assert 1.0 + cfg.prefix_ms / 1000 - CHUNK_S <= audio_s(turn) <= 1.0 + cfg.prefix_ms / 1000
    after = feed(gate, silence(2.0))
    assert END in after and not gate.speaking
    end_at = after.index(END)
    # the quiet streamed before the end: only the tail; nothing after it
    assert audio_s(after[:end_at]) <= cfg.tail_ms / 1000 + CHUNK_S
    assert after[end_at + 1:] == []


def test_local_turn_ends_silence_ms_after_the_last_audible_speech() -> None:
    """webrtcvad's own hangover (~80 ms on silence) does not delay the end of the turn."""
    gate = Gate(Mode.LOCAL, GateConfig(silence_ms=500))
    feed(gate, silence(0.5) + speech_like(1.0))
    fed = 0.0
    for c in chunks(silence(2.0)):
        fed += CHUNK_S
        if END in gate.feed(c):
            break
    assert 0.5 <= fed <= 0.5 + CHUNK_S + 1e-9


def test_a_pause_shorter_than_the_silence_keeps_the_turn_and_all_its_audio() -> None:
    gate = Gate(Mode.LOCAL, GateConfig(silence_ms=500))
    feed(gate, silence(1.0))
    out = feed(gate, speech_like(0.6) + silence(0.4) + speech_like(0.6))
    assert out.count(START) == 1 and END not in out
    assert audio_s(out) >= 1.6


def test_local_drops_the_clients_activity_signals_and_stream_end_ends_the_turn() -> None:
    gate = Gate(Mode.LOCAL, GateConfig())
    assert gate.feed(bus_pb2.ClientEvent(seq=1, activity_start=True)) == []
    text = bus_pb2.ClientEvent(seq=2, text="hi")
    assert gate.feed(text) == [text]
    feed(gate, speech_like(0.5))
    assert gate.feed(bus_pb2.ClientEvent(seq=3, audio_stream_end=True)) == [END]
    assert not gate.speaking
    assert gate.feed(bus_pb2.ClientEvent(seq=4, audio_stream_end=True)) == []


def test_server_mode_sends_everything_and_still_knows_who_speaks() -> None:
    gate = Gate(Mode.SERVER, GateConfig())
    pcm = silence(0.5) + speech_like(0.5)
    out = feed(gate, pcm)
    assert b"".join(i for i in out if isinstance(i, bytes)) == pcm
    assert gate.speaking and gate.changed
    feed(gate, silence(1.0))
    assert not gate.speaking


def test_client_mode_passes_everything_and_follows_the_clients_signals() -> None:
    gate = Gate(Mode.CLIENT, GateConfig())
    start = bus_pb2.ClientEvent(seq=1, activity_start=True)
    assert gate.feed(start) == [start] and gate.speaking
    assert feed(gate, silence(0.2)) == chunks(silence(0.2))
    end = bus_pb2.ClientEvent(seq=2, activity_end=True)
    assert gate.feed(end) == [end] and not gate.speaking


def test_local_reports_voice_activity_where_the_upstream_would() -> None:
    """Start backdated to the first voiced frame, end at the last one, in the client's audio
    time (the silence that never went upstream counts), one pair per turn."""
    gate = Gate(Mode.LOCAL, GateConfig(silence_ms=500))
    feed(gate, silence(0.5) + speech_like(1.0))
    ((start, at),) = gate.reports
    assert start and 0.5 <= at <= 0.5 + 2 * CHUNK_S
    gate.reports.clear()
    ended = 0.0
    for c in chunks(silence(1.0)):
        ended += CHUNK_S
        if END in gate.feed(c):
            break
    assert gate.reports == [(False, pytest.approx(1.5, abs=CHUNK_S))]
    assert ended == pytest.approx(0.5, abs=CHUNK_S + 1e-9), "reported when the turn ends"
    gate.reports.clear()
    # 2.0 s fed so far; the clock runs on through the silence that stays home.
    feed(gate, silence(1.5) + speech_like(0.4))
    assert gate.feed(bus_pb2.ClientEvent(seq=1, audio_stream_end=True)) == [END]
    assert [s for s, _ in gate.reports] == [True, False]
    assert 3.5 <= gate.reports[0][1] <= 3.5 + 2 * CHUNK_S
    assert gate.reports[1][1] == pytest.approx(3.9, abs=CHUNK_S)


def test_server_and_client_modes_report_nothing_the_upstream_does_or_need_not() -> None:
    for mode in (Mode.SERVER, Mode.CLIENT):
        gate = Gate(mode, GateConfig())
        feed(gate, silence(0.3) + speech_like(0.5) + silence(1.0))
        assert gate.reports == []


def test_the_reports_wire_shape_is_what_the_sdk_reads_from_the_upstream() -> None:
    assert voice_activity(True, 0.5) == {
        "voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "0.500s"}}
    assert voice_activity(False, 2.0)["voiceActivity"]["audioOffset"] == "2s"
    got = read_server_message(json.dumps(voice_activity(False, 1.26)).encode()).voice_activity
    assert got is not None and got.audio_offset == "1.260s"
    assert got.voice_activity_type == types.VoiceActivityType.ACTIVITY_END
