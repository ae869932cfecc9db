"""Input audio at 8-48 kHz becomes 16 kHz, per session, with no seams at chunk boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from livebus.edge import wire
from livebus.edge.resample import MAX_STREAMS, SessionResampler
from livebus.edge.wire import Audio, ProtocolError
from livebus.v1 import bus_pb2


def tone(freq: float, seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 12000).astype("<i2").tobytes()


def dominant(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 44100, 48000])
def test_chunked_tone_keeps_its_pitch_and_length(rate: int) -> None:
    pcm = tone(440.0, 1.0, rate)
    step = rate // 50 * 2  # 20 ms
    r = SessionResampler()
    out = b"".join(a.pcm for i in range(0, len(pcm), step)
                   for a in r.actions([Audio(pcm[i:i + step], rate)])
                   if isinstance(a, Audio))
    held = 16000 - len(out) // 2
    assert 0 <= held < 16000 * 0.07  # the filter holds a few ms (66 at 8 kHz) ...
    tail = r.actions([wire.Control(bus_pb2.ClientEvent(activity_end=True))])
    assert isinstance(tail[0], Audio) and isinstance(tail[1], wire.Control)
    out += tail[0].pcm  # ... until the speech ends: then every sample is out
    assert abs(len(out) // 2 - 16000) <= 2
    assert abs(dominant(out, 16000) - 440.0) < 2.0


def test_chunk_boundaries_leave_no_seam() -> None:
    """The stream's output equals one pass over the whole signal: no state is lost between
    chunks (a fresh resampler per chunk would click at every boundary)."""
    rate = 44100
    pcm = tone(1000.0, 0.5, rate)
    step = 882 * 2
    r = SessionResampler()
    chunked = b"".join(r.to_target(pcm[i:i + step], rate) for i in range(0, len(pcm), step))
    chunked += r.flush()
    one = SessionResampler()
    whole = np.frombuffer(one.to_target(pcm, rate) + one.flush(), "<i2").astype(int)
    assert len(chunked) == len(whole) * 2 and abs(len(whole) - 8000) <= 2
    assert np.max(np.abs(np.frombuffer(chunked, "<i2").astype(int) - whole)) <= 2

    def alone(chunk: bytes) -> bytes:  # what a resampler without state would do
        fresh = SessionResampler()
        return fresh.to_target(chunk, rate) + fresh.flush()

    seams = np.frombuffer(b"".join(alone(pcm[i:i + step]) for i in range(0, len(pcm), step)),
                          "<i2").astype(int)
    n = min(len(seams), len(whole))
    assert np.max(np.abs(seams[:n] - whole[:n])) > 100  # stateless: a step at every seam


def test_16k_is_untouched_and_streams_are_bounded() -> None:
    r = SessionResampler()
    actions: list[wire.Action] = [Audio(b"\x01\x00" * 320)]
    assert r.actions(actions) is actions
    for rate in (8000, 11025, 12000, 22050, 24000, 32000):
        r.to_target(tone(300, 0.02, rate), rate)
    assert list(r.streams) == [11025, 12000, 22050, 24000, 32000][-MAX_STREAMS:]


@pytest.mark.parametrize(("mime", "rate"), [
    ("audio/pcm", 16000), ("audio/pcm;rate=8000", 8000), ("audio/pcm; rate=44100", 44100),
    ("audio/pcm;rate=48000", 48000), ("audio/pcm;rate=16000", 16000)])
def test_accepted_rates(mime: str, rate: int) -> None:
    assert wire.check_audio_mime(mime) == rate


@pytest.mark.parametrize("mime", ["audio/pcm;rate=7999", "audio/pcm;rate=48001",
                                  "audio/pcm;rate=96000", "audio/pcm;rate=abc",
                                  "audio/pcm;rate=-16000", "audio/pcm;rate=\u00b2",
                                  "audio/pcm;rate=" + "9" * 5000, "audio/opus", "audio/wav",
                                  "audio/" + "x" * 300])
def test_refused_mimes_name_the_range(mime: str) -> None:
    with pytest.raises(ProtocolError) as e:
        wire.check_audio_mime(mime)
    assert e.value.code == 1007 and "8000 to 48000" in e.value.reason
