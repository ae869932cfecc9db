"""The local detector's voiceActivity in the upstream's order: after a start that interrupts a
reply, nothing until the reply's end (or the hold's bound)."""

from __future__ import annotations

import json

from bridge_fakes import upstream_session

from livebus import subjects
from livebus.serverwire import voice_activity
from livebus.v1 import bus_pb2
from livebus_bridge.reports import ActivityReports
from livebus_dev.testing.audio import chunks, silence, speech_like

START, END = voice_activity(True, 3.0), voice_activity(False, 3.9)


def test_what_follows_an_interrupting_start_waits_for_the_replys_end() -> None:
    r = ActivityReports(hold_s=2.0)
    assert r.add(True, START, interrupts=True, now=10.0) == [START]
    assert r.add(False, END, interrupts=False, now=10.1) == []
    assert r.release() == [END]
    assert r.add(True, START, interrupts=False, now=10.2) == [START]  # no hold any more


def test_a_start_that_interrupts_nothing_holds_nothing() -> None:
    r = ActivityReports()
    assert r.add(True, START, interrupts=False, now=1.0) == [START]
    assert r.add(False, END, interrupts=False, now=1.1) == [END]
    assert r.release() == []


def test_the_hold_ends_by_itself_when_no_reply_end_comes() -> None:
    r = ActivityReports(hold_s=2.0)
    r.add(True, START, interrupts=True, now=10.0)
    r.add(False, END, interrupts=False, now=10.5)
    assert r.release(now=11.9) == []
    assert r.release(now=12.0) == [END]
    r.add(True, START, interrupts=True, now=20.0)
    later = voice_activity(True, 9.0)
    r.add(False, END, interrupts=False, now=20.5)
    assert r.add(True, later, interrupts=False, now=22.5) == [END, later]  # past the bound


def activity_order(nc: object) -> list[str]:
    out = []
    for s, d in nc.published:  # type: ignore[attr-defined]
        if s != subjects.down_event("s1"):
            continue
        msg = json.loads(bus_pb2.ServerEvent.FromString(d).message_json)
        if "voiceActivity" in msg:
            out.append(msg["voiceActivity"]["type"])
        elif msg.get("serverContent", {}).get("interrupted"):
            out.append("interrupted")
    return out


async def test_a_barge_in_sent_faster_than_real_time_reads_start_interrupted_end() -> None:
    session, nc, _ = await upstream_session(turn_detection="local")
    session.conv.in_turn = True  # the model is replying
    for c in chunks(speech_like(0.8) + silence(0.8)):  # a recording: all of it at once
        session.uplink.put(c)
        await session._report_activity()
    assert activity_order(nc) == ["ACTIVITY_START"]  # the detector reached the end already
    await session.downlink.handle(b'{"serverContent":{"interrupted":true}}')
    await session.downlink.handle(b'{"serverContent":{"turnComplete":true}}')
    assert activity_order(nc) == ["ACTIVITY_START", "interrupted", "ACTIVITY_END"]
