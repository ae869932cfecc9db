"""Turn detection at the bridge: what goes upstream in each mode."""

from __future__ import annotations

from google.genai import types

from livebus.v1 import bus_pb2
from livebus_bridge.activity import END, START, Gate, GateConfig, Item, Mode, plan
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
