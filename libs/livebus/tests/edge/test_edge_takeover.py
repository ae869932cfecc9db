"""The held-uplink and replay policies of a move (takeover.py), as pure objects."""

from __future__ import annotations

from livebus.edge import wire
from livebus.edge.takeover import HeldUplink, RecentUplink
from livebus.v1 import bus_pb2


def audio(n: int, tag: int = 0) -> wire.Audio:
    return wire.Audio(bytes([tag]) * n)


def ctl(text: str) -> wire.Control:
    return wire.Control(bus_pb2.ClientEvent(text=text))


def test_held_audio_is_bounded_oldest_first_and_video_is_not_held() -> None:
    held = HeldUplink(max_audio_bytes=100)
    c = ctl("hi")
    assert held.hold(audio(60, 1)) == 0
    assert held.hold(wire.Video(b"x", "image/png")) == 0
    assert held.hold(c) == 0
    assert held.hold(audio(60, 2)) == 60  # the first audio goes
    assert held.audio_bytes == 60
    assert [held.pop() for _ in range(3)] == [c, audio(60, 2), None]
    assert held.audio_bytes == 0


def test_replay_goes_before_what_is_held() -> None:
    held = HeldUplink(1000)
    held.hold(audio(10, 3))
    held.put_first([audio(10, 1), audio(10, 2)])
    assert held.audio_bytes == 30
    assert [held.pop() for _ in range(3)] == [audio(10, 1), audio(10, 2), audio(10, 3)]


def test_recent_replays_audio_after_last_heard_and_all_control() -> None:
    recent = RecentUplink(horizon_s=2.0)
    c = ctl("early")
    recent.add(1.0, c)
    recent.add(1.5, audio(2, 1))
    recent.add(2.5, audio(2, 2))
    recent.add(2.6, wire.Video(b"v", "image/png"))
    assert recent.replay_after(2.0) == [c, audio(2, 2)]
    recent.add(10.0, audio(2, 3))  # older than the horizon are forgotten
    assert recent.replay_after(0.0) == [audio(2, 3)]
