"""WebRTC audio (Opus packets, or aiortc's 48 kHz frames) as the bus's 16 kHz mono PCM16."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import av
import numpy as np
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket
from av import AudioFrame

from livebus_webrtc.opus import OpusDecoder
from livebus_webrtc.uplink import BUS_RATE, Chunk, InlineDecoder, StampingJitterBuffer, UplinkAudio


def _tone_frames(seconds: float, rate: int = 48000, layout: str = "stereo",
                 fmt: str = "s16") -> list[AudioFrame]:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t)
    channels = 2 if layout == "stereo" else 1
    frames = []
    for start in range(0, n, rate // 50):  # 20 ms, as aiortc's Opus decoder gives them
        chunk = wave[start:start + rate // 50]
        if fmt == "s16":
            data = np.repeat((chunk * 32767).astype("<i2"), channels).reshape(1, -1)
        else:  # planar float
            data = np.tile(chunk.astype(np.float32), (channels, 1))
        frame = AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate = rate
        frames.append(frame)
    return frames


def _pcm(frames: list[AudioFrame]) -> np.ndarray:
    up = UplinkAudio()
    return np.frombuffer(b"".join(up.convert(f) for f in frames), dtype="<i2")


def test_48k_stereo_becomes_16k_mono_with_the_same_tone() -> None:
    pcm = _pcm(_tone_frames(1.0))
    assert abs(len(pcm) - BUS_RATE) < BUS_RATE * 0.01  # a few ms of filter delay at most
    spectrum = np.abs(np.fft.rfft(pcm[1000:]))
    peak_hz = np.argmax(spectrum) * BUS_RATE / len(pcm[1000:])
    assert abs(peak_hz - 440) < 5
    rms = np.sqrt(np.mean((pcm[1000:].astype(np.float64) / 32768) ** 2))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.02


def test_planar_float_and_mono_inputs_convert_too() -> None:
    for layout, fmt in (("mono", "s16"), ("stereo", "fltp"), ("mono", "fltp")):
        pcm = _pcm(_tone_frames(0.5, layout=layout, fmt=fmt))
        assert abs(len(pcm) - BUS_RATE // 2) < BUS_RATE * 0.01
        assert np.abs(pcm[1000:]).max() > 10000


def test_frame_boundaries_make_no_clicks() -> None:
    pcm = _pcm(_tone_frames(1.0)).astype(np.int32)
    # A 440 Hz tone at half scale moves at most ~2800 per sample at 16 kHz; a seam would jump.
    assert np.abs(np.diff(pcm[100:])).max() < 3500


def _opus_packets(seconds: float) -> list[bytes]:
    """A 440 Hz tone at half scale as a browser sends it: 20 ms Opus packets of 48 kHz stereo."""
    enc = av.CodecContext.create("libopus", "w")
    assert isinstance(enc, av.AudioCodecContext)
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 48000, "stereo", "s16", 32000
    packets = []
    for i, frame in enumerate(_tone_frames(seconds)):
        frame.pts = i * 960
        packets += [bytes(p) for p in enc.encode(frame)]
    return packets


def test_opus_decodes_straight_to_16k_mono_with_the_same_tone() -> None:
    dec = OpusDecoder()
    chunks = [dec.decode(p) for p in _opus_packets(1.0)]
    assert {len(c) for c in chunks} == {320 * 2}  # 20 ms at 16 kHz, each packet
    pcm = np.frombuffer(b"".join(chunks), dtype="<i2")[1600:]
    peak_hz = np.argmax(np.abs(np.fft.rfft(pcm))) * BUS_RATE / len(pcm)
    assert abs(peak_hz - 440) < 5
    rms = np.sqrt(np.mean((pcm.astype(np.float64) / 32768) ** 2))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.05
    assert np.abs(np.diff(pcm.astype(np.int32))).max() < 3500  # no seams between packets


def test_a_corrupt_packet_gives_nothing_and_decoding_goes_on() -> None:
    dec = OpusDecoder()
    packets = _opus_packets(0.2)
    assert dec.decode(b"\xff" * 3) == b""  # an invalid code-3 packet
    assert len(dec.decode(packets[0])) == 640


@dataclass
class _Codec:
    name: str


@dataclass
class _Encoded:
    data: bytes
    livebus_rtp_timestamp: int | None = None


async def test_the_inline_decoder_queues_pcm_and_releases_aiortcs_thread_on_stop() -> None:
    track: asyncio.Queue[Chunk] = asyncio.Queue()
    inline = InlineDecoder(track)
    for i, p in enumerate(_opus_packets(0.1)):
        inline.put((_Codec("opus"), _Encoded(p, 960 * i)))
    assert track.qsize() == 5
    first = track.get_nowait()
    assert len(first.pcm) == 640 and first.timestamp == 0
    assert track.get_nowait().timestamp == 960  # each keeps its packet's RTP timestamp
    waiter = threading.Thread(target=inline.get)  # aiortc's decoder thread, idle
    waiter.start()
    inline.put(None)  # the receiver stops
    waiter.join(2.0)
    assert not waiter.is_alive()


def test_the_jitter_buffer_tells_each_arrival_and_stamps_each_frame_leaving_it() -> None:
    heard: list[int] = []
    jitter = StampingJitterBuffer(JitterBuffer(capacity=16, prefetch=4), heard.append)
    base = (1 << 32) - 2 * 960  # the RTP clock wraps on the way: stamps are the packets' own
    out = []
    for i in range(8):
        packet = RtpPacket(payload_type=111, sequence_number=65530 + i & 0xFFFF,
                           timestamp=(base + 960 * i) % (1 << 32))
        packet._data = b"x"  # type: ignore[attr-defined]  # (aiortc's depayloaded data)
        _, frame = jitter.add(packet)
        if frame is not None:
            out.append(frame.livebus_rtp_timestamp)
    assert heard == [(base + 960 * i) % (1 << 32) for i in range(8)]
    # aiortc's buffer holds four frames back: of eight, the first four are out, in order.
    assert out == heard[:4]
    assert jitter.capacity == 16  # the rest of the buffer as it was
