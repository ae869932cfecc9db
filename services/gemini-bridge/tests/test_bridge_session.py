"""The session's uplink: audio never waits for stills, bad client messages are logged once."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from bridge_fakes import FakeMsg, FakeSocket, attach, upstream_session
from google.genai import types

from livebus import subjects
from livebus.v1 import bus_pb2

PCM = b"\x01\x00" * 320


async def until(cond: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_bad_tool_responses_are_logged_once_and_audio_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    session, _, _ = await upstream_session()
    sock = FakeSocket()
    attach(session, sock)
    no_id = json.dumps({"functionResponses": [{"name": "x", "response": {}}]}).encode()
    for i in range(100):
        session.uplink.put(bus_pb2.ClientEvent(seq=i + 1, tool_response_json=no_id))
        session.uplink.put(PCM)
    caplog.set_level(logging.DEBUG, "livebus_bridge")
    sender = asyncio.create_task(session.uplink.run())
    await until(lambda: not session.uplink.buffer.items)
    sender.cancel()
    assert sock.kinds() == ["realtime_input.audio"] * 100
    records = [r for r in caplog.records if r.name.startswith("livebus_bridge")]
    assert len(records) == 1 and records[0].exc_info is None
    assert "tool_response_json" in records[0].getMessage()


def upload_event(seq: int) -> bus_pb2.ClientEvent:
    body = {"turns": [{"role": "user", "parts": [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png",
                        "data": base64.b64encode(b"\x89PNG" * 1000).decode()}}]}],
        "turnComplete": True}
    return bus_pb2.ClientEvent(seq=seq, client_content_json=json.dumps(body).encode())


async def test_audio_flows_while_a_still_is_downsized_control_stays_in_order() -> None:
    session, _, nc_video = await upstream_session()
    sock = FakeSocket()
    attach(session, sock)
    release = asyncio.Event()

    async def sampler(subject: str, payload: bytes) -> FakeMsg:
        assert subject == subjects.SAMPLER_STILL
        await release.wait()
        return FakeMsg(b"small-jpeg", {})

    nc_video.responder = sampler
    session.uplink.put(upload_event(1))
    session.uplink.put(bus_pb2.ClientEvent(seq=2, text="and this?"))
    for _ in range(20):
        session.uplink.put(PCM)
    tasks = [asyncio.create_task(session.uplink.run())]
    await until(lambda: len(sock.sent) == 20)
    assert sock.kinds() == ["realtime_input.audio"] * 20  # the still waits; audio does not
    release.set()
    await until(lambda: len(sock.sent) == 22)
    for t in tasks:
        t.cancel()
    assert sock.kinds()[20:] == ["client_content", "realtime_input.text"]
    image = sock.sent[20]["client_content"]["turns"][0]["parts"][1]["inlineData"]
    assert base64.b64decode(image["data"]) == b"small-jpeg"
    assert session.conv.ctl_sent == 2


async def test_a_send_failing_on_a_replaced_connection_keeps_the_new_one_ready() -> None:
    session, _, _ = await upstream_session()
    new = FakeSocket()

    async def switch(_: str) -> None:  # the connection is replaced while a send is under way
        attach(session, new)

    old = FakeSocket(on_send=switch)
    old.closed = True
    attach(session, old)
    session.uplink.put(PCM)
    sender = asyncio.create_task(session.uplink.run())
    await until(lambda: not session.uplink.buffer.items)
    sender.cancel()
    assert session.conn.ready.is_set()
    assert new.kinds() == ["realtime_input.audio"]  # the chunk went to the new connection


async def test_server_tool_entries_are_marked_server_client_ones_are_not() -> None:

    spec = {"declaration": {"name": "clock"}, "timeout_s": 1.0, "behavior": "BLOCKING"}
    session, _, _ = await upstream_session(tools=[spec])  # type: ignore[list-item]
    call = types.LiveServerMessage(tool_call=types.LiveServerToolCall(function_calls=[
        types.FunctionCall(id="a", name="clock", args={}),
        types.FunctionCall(id="b", name="client_tool", args={})]))
    assert session.downlink.observe(call) is False  # the client's call still reaches it
    sock = FakeSocket()
    attach(session, sock)
    sender = asyncio.create_task(session.uplink.run())
    await until(lambda: len(sock.sent) == 1)  # the server tool's (error) result went upstream
    mine = json.dumps({"functionResponses": [{"id": "b", "name": "client_tool",
                                              "response": {"output": 1}}]}).encode()
    session.uplink.put(bus_pb2.ClientEvent(seq=1, tool_response_json=mine))
    await until(lambda: len(sock.sent) == 2)
    sender.cancel()
    entries = [e for _, e, _ in session.shadow._pending if e is not None]
    seen = [(e.role, json.loads(e.text)["name"], e.server) for e in entries]
    assert seen == [("tool_call", "clock", True), ("tool_call", "client_tool", False),
                    ("tool_result", "clock", True), ("tool_result", "client_tool", False)]
