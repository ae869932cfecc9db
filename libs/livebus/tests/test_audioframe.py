import pytest

from livebus import audioframe

PCM = bytes(range(256)) * 3


def test_a_downlink_frame_reads_back_as_it_was_packed() -> None:
    data = audioframe.pack(PCM, 7, mime="audio/pcm;rate=24000", upstream_ns=123, sent_ns=99)
    f = audioframe.unpack(data)
    assert (f.pcm, f.seq, f.sent_ns, f.upstream_ns, f.mime, f.voiced) == \
        (PCM, 7, 99, 123, "audio/pcm;rate=24000", False)
    assert len(data) == audioframe.HEAD_BYTES + len("audio/pcm;rate=24000") + len(PCM)


def test_an_uplink_frame_carries_voiced_and_a_send_time() -> None:
    f = audioframe.unpack(audioframe.pack(PCM, 2**40, voiced=True))
    assert f.voiced and f.seq == 2**40 and f.mime == "" and f.pcm == PCM and f.sent_ns > 0
    assert audioframe.since_sent(f, f.sent_ns + 2_000_000) == pytest.approx(0.002)


@pytest.mark.parametrize("data", [
    b"",
    audioframe.pack(PCM, 1)[:audioframe.HEAD_BYTES - 1],             # cut inside the prefix
    b"\2" + audioframe.pack(PCM, 1)[1:],                              # another version
    audioframe.pack(b"", 1, mime="audio/pcm")[:audioframe.HEAD_BYTES + 3],  # cut mime
    audioframe.pack(b"", 1, mime="ab")[:audioframe.HEAD_BYTES] + b"\xff\xfe",  # not ASCII
    PCM,                                                               # raw PCM, no prefix
])
def test_what_is_not_a_frame_is_refused(data: bytes) -> None:
    with pytest.raises(audioframe.BadFrame):
        audioframe.unpack(data)


def test_an_odd_mime_type_never_fails_a_frame() -> None:
    assert audioframe.unpack(audioframe.pack(PCM, 1, mime="audio/pcm;é")).mime == "audio/pcm;?"
    assert len(audioframe.unpack(audioframe.pack(PCM, 1, mime="audio/" + "x" * 300)).mime) == 255


def test_a_frame_without_a_stamp_has_no_hop_time() -> None:
    assert audioframe.since_sent(audioframe.unpack(audioframe.pack(PCM, 1, sent_ns=0)), 5) is None
