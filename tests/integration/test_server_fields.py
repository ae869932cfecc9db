"""Server messages reach the client as the upstream wrote them: 2026 fields in their own spelling
(`voiceActivity.type`), fields no SDK knows yet, at any depth, untouched.

Server turn detection: these are the upstream's own voiceActivity messages (in local mode the
bridge writes them itself; test_turn_detection.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from livebus import b64, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing import audio
from livebus_dev.testing.stack import MODEL, gateway_client
from livebus_dev.testing.upstream_tap import Tap, tapped_stack

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
FUTURE = {"nested": {"deeper": [1, {"flag": True}]}, "note": "from 2027"}


def add_future_field(msg: dict[str, Any]) -> dict[str, Any]:
    """What a newer upstream might send: an unknown field inside voiceActivity."""
    activity = msg.get("voiceActivity")
    if isinstance(activity, dict):
        activity["futureField"] = FUTURE
    return msg


@pytest.fixture(scope="module")
def tapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Tap]]:
    with tapped_stack(Path(tmp_path_factory.mktemp("fields")),
                      extra_env={"LIVEBUS_BRIDGE_TURN_DETECTION": "server"}) as st:
        st[1].rewrite = add_future_field
        yield st


def speech_frames() -> list[str]:
    pcm = audio.speech_like(1.0) + audio.silence(1.2)
    return [json.dumps({"realtimeInput": {"audio": {"data": b64.encode(c),
                                                    "mimeType": "audio/pcm;rate=16000"}}})
            for c in audio.chunks(pcm, 40)]


async def test_voice_activity_and_an_unknown_nested_field_reach_a_raw_client(
        tapped: tuple[Stack, Tap]) -> None:
    stack, _ = tapped
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": stack.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL}}))
        assert "setupComplete" in json.loads(await ws.recv())
        for f in speech_frames():
            await ws.send(f)
        activity: list[dict[str, Any]] = []
        async with asyncio.timeout(30):
            while len(activity) < 2:
                msg = json.loads(await ws.recv())
                if "voiceActivity" in msg:
                    assert list(msg) == ["voiceActivity"]
                    activity.append(msg["voiceActivity"])
    assert [a["type"] for a in activity] == ["ACTIVITY_START", "ACTIVITY_END"]
    for a in activity:
        assert set(a) == {"type", "audioOffset", "futureField"}
        assert a["futureField"] == FUTURE and a["audioOffset"].endswith("s")


async def test_the_sdk_reads_voice_activity_through_livebus(tapped: tuple[Stack, Tap]) -> None:
    stack, _ = tapped
    from google.genai import types
    async with gateway_client(stack).aio as client, client.live.connect(
            model=MODEL, config=types.LiveConnectConfig()) as session:
        pcm = audio.speech_like(1.0) + audio.silence(1.2)
        for c in audio.chunks(pcm, 40):
            await session.send_realtime_input(
                audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
        kinds = []
        async with asyncio.timeout(30):
            async for m in session.receive():
                if m.voice_activity is not None:
                    kinds.append(m.voice_activity.voice_activity_type)
                    assert m.voice_activity.audio_offset
                if len(kinds) == 2:
                    break
    assert kinds == [types.VoiceActivityType.ACTIVITY_START, types.VoiceActivityType.ACTIVITY_END]


def add_call_field(msg: dict[str, Any]) -> dict[str, Any]:
    for call in (msg.get("toolCall") or {}).get("functionCalls", []):
        call["futureField"] = FUTURE
    return add_future_field(msg)


async def test_an_unknown_field_in_a_tool_call_hides_no_less(tapped: tuple[Stack, Tap]) -> None:
    """Server tools' calls stay hidden and run; the client's own call keeps the new field."""
    stack, tap = tapped
    tap.rewrite = add_call_field
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    tools = [{"functionDeclarations": [{"name": "open_door", "description": "Open the door"}]}]
    try:
        async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                      additional_headers={"x-goog-api-key": stack.api_key}) as ws:
            await ws.send(json.dumps({"setup": {"model": MODEL, "tools": tools,
                                                "outputAudioTranscription": {}}}))
            assert "setupComplete" in json.loads(await ws.recv())
            await ws.send(json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
                {"text": 'open_door and get_current_time {"timezone": "Europe/Paris"}'}]}],
                "turnComplete": True}}))
            async with asyncio.timeout(30):
                while "toolCall" not in (msg := json.loads(await ws.recv())):
                    pass
            (call,) = msg["toolCall"]["functionCalls"]
            assert call["name"] == "open_door" and call["futureField"] == FUTURE
            await ws.send(json.dumps({"toolResponse": {"functionResponses": [
                {"id": call["id"], "name": "open_door", "response": {"output": "door open"}}]}}))
            said = ""
            async with asyncio.timeout(30):
                while True:
                    msg = json.loads(await ws.recv())
                    assert "toolCall" not in msg
                    sc = msg.get("serverContent", {})
                    said += sc.get("outputTranscription", {}).get("text", "")
                    if sc.get("turnComplete"):
                        break
    finally:
        tap.rewrite = add_future_field
    assert "Europe/Paris" in said, "the server tool ran and its result reached the model"
