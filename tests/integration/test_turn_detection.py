"""Local turn detection (the default) through the whole stack (real NATS, gateway, bridge,
emulator): the bridge sends no audio upstream while nobody speaks, talking over a reply still
cuts it, and the client gets the same voiceActivity messages as from the upstream's detector."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from converse import Conversation, conversation
from google.genai import types

from livebus import b64, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.audio import chunks, silence, speech_like
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.stack import MODEL, gateway_client, mint, running_stack

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as s:  # local: the bridge's default
        yield s


async def test_silence_stays_home_and_barge_in_still_interrupts(local_stack: Stack) -> None:
    async with gateway_client(local_stack).aio as client:
        result: Conversation = await conversation(client)
    assert "speech" in result.spoken.input_text and result.spoken.audio_bytes > 0
    assert result.barge_in.interrupted, "activityStart during the reply interrupts it"
    assert result.after_barge_in.audio_bytes > 0, "the speech that interrupted is answered"
    rec = [s for s in await sessions(local_stack) if s.get("audio_seconds", 0) > 0][-1]
    # The client streamed 1.2 s + 0.8 s of speech, each followed by 0.6 s of silence: upstream
    # got the speech with its prefix (0.3 s) and tail (0.2 s), not the rest of the silence.
    assert rec["audio_seconds"] < 1.2 + 0.6 + 0.8 + 0.6 - 0.3
    assert len(rec["speech_segments"]) == 2


async def test_a_long_silence_sends_no_audio_at_all(local_stack: Stack) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with gateway_client(local_stack).aio as client, \
            client.live.connect(model=MODEL, config=config) as session:
        for c in chunks(silence(3.0) + speech_like(0.6) + silence(1.0)):
            await session.send_realtime_input(
                audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
        async for m in session.receive():
            if m.server_content and m.server_content.turn_complete:
                break
    rec = (await sessions(local_stack))[-1]
    assert rec["audio_seconds"] <= 0.6 + 0.3 + 0.2 + 0.02
    assert [round(s["duration_s"], 1) >= 0.6 for s in rec["speech_segments"]] == [True]


async def claims_token(stack: Stack, claims: dict[str, Any]) -> str:
    return await mint(stack, {"uses": 1, "livebus": claims})


async def one_turn(stack: Stack, credential: str) -> list[dict[str, Any]]:
    """A raw client speaks once (0.5 s quiet, 1.0 s speech, 1.0 s quiet): every message it got,
    up to the reply's turnComplete."""
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    got: list[dict[str, Any]] = []
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": credential}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL, "inputAudioTranscription": {}}}))
        assert "setupComplete" in json.loads(await ws.recv())
        for c in chunks(silence(0.5) + speech_like(1.0) + silence(1.0), 40):
            await ws.send(json.dumps({"realtimeInput": {"audio": {
                "data": b64.encode(c), "mimeType": "audio/pcm;rate=16000"}}}))
        async with asyncio.timeout(30):
            while not (msg := json.loads(await ws.recv())).get(
                    "serverContent", {}).get("turnComplete"):
                got.append(msg)
    return got


def offset_s(activity: dict[str, Any]) -> float:
    text = activity["audioOffset"]
    assert isinstance(text, str) and text.endswith("s")
    return float(text[:-1])


def landmarks(messages: list[dict[str, Any]]) -> list[str]:
    """The order that matters: activity start and end, the final input transcript, the reply."""
    out = []
    for m in messages:
        sc = m.get("serverContent", {})
        if "voiceActivity" in m:
            assert list(m) == ["voiceActivity"], m
            out.append(m["voiceActivity"]["type"])
        elif sc.get("inputTranscription", {}).get("finished"):
            out.append("transcript")
        elif "modelTurn" in sc and (not out or out[-1] != "reply"):
            out.append("reply")
    return out


async def test_the_client_gets_voice_activity_as_from_the_upstream(local_stack: Stack) -> None:
    local = await one_turn(local_stack, local_stack.api_key)
    server_token = await claims_token(local_stack, {"turnDetection": "server"})
    server = await one_turn(local_stack, server_token)
    recs = [s for s in await sessions(local_stack) if s.get("audio_seconds", 0) > 0][-2:]
    assert [r["audio_seconds"] < 2.0 for r in recs] == [True, False], "local, then server"
    assert landmarks(local) == landmarks(server) == [
        "ACTIVITY_START", "ACTIVITY_END", "transcript", "reply"]
    mine = [m["voiceActivity"] for m in local if "voiceActivity" in m]
    theirs = [m["voiceActivity"] for m in server if "voiceActivity" in m]
    assert all(set(a) == {"type", "audioOffset"} for a in mine)
    # In the client's audio time, as the upstream's detector put them: the speech ran from
    # 0.5 s to 1.5 s of what the client sent.
    for a, b, at in zip(mine, theirs, (0.5, 1.5), strict=True):
        assert offset_s(a) == pytest.approx(at, abs=0.02)
        assert offset_s(a) == pytest.approx(offset_s(b), abs=0.02)


async def test_the_clients_own_push_to_talk_gets_no_voice_activity(local_stack: Stack) -> None:
    """The upstream sends none to a client that disabled its detection; nor does the bridge."""
    config = types.LiveConnectConfig(realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)))
    async with gateway_client(local_stack).aio as client, \
            client.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        for c in chunks(speech_like(0.6)):
            await session.send_realtime_input(
                audio=types.Blob(data=c, mime_type="audio/pcm;rate=16000"))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        seen = []
        async for m in session.receive():
            seen.append(m)
    assert not [m for m in seen if m.voice_activity is not None]
    assert any(m.server_content and m.server_content.turn_complete for m in seen)
