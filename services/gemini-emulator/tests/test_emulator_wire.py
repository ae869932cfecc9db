"""The raw wire: what a client that is not the Python SDK may send (spellings, base64, errors)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from emulator_testkit import MODEL, MakeEmulator, control, only_connection, silence, speech
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from livebus_emulator import EmulatorServer

KEY = {"x-goog-api-key": "k"}


def raw(emu: EmulatorServer, query: str = "", headers: dict[str, str] | None = None,
        path: str | None = None) -> Any:
    url = (emu.ws_base_url + path) if path else emu.live_url()
    return connect(url + query, ssl=emu.client_ssl(),
                   additional_headers=KEY if headers is None else headers)


async def setup(ws: ClientConnection, **fields: Any) -> dict[str, Any]:
    await ws.send(json.dumps({"setup": {"model": MODEL, **fields}}))
    reply: dict[str, Any] = json.loads(await ws.recv())
    assert "sessionId" in reply["setupComplete"]
    return reply


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as caught:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert caught.value.rcvd is not None
    return caught.value.rcvd.code, caught.value.rcvd.reason


async def replies_until_turn_complete(ws: ClientConnection) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await ws.recv())
            out.append(message)
            if message.get("serverContent", {}).get("turnComplete"):
                return out


def transcript(messages: list[dict[str, Any]], kind: str) -> str:
    return "".join(m["serverContent"][kind]["text"] for m in messages
                   if kind in m.get("serverContent", {}))


def audio_frame(pcm: bytes, encode: Any, key: str = "realtimeInput") -> str:
    return json.dumps({key: {"audio": {"data": encode(pcm).decode(),
                                       "mimeType": "audio/pcm;rate=16000"}}})


@pytest.mark.parametrize("encode", [
    base64.b64encode,
    base64.urlsafe_b64encode,
    lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
], ids=["standard", "urlsafe", "urlsafe-unpadded"])
async def test_both_base64_alphabets_and_camel_case(emulator: EmulatorServer, encode: Any) -> None:
    # 0.5 s of a signal whose bytes need '+' '/' (or '-' '_') in base64.
    pcm = speech(0.5)
    assert b"+" in base64.b64encode(pcm) or b"/" in base64.b64encode(pcm)
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={}, input_audio_transcription={})
        for i in range(0, len(pcm), 1280):
            # 1281 bytes at a time would not be PCM16: keep chunks even, some of odd length/3.
            await ws.send(audio_frame(pcm[i:i + 1280], encode))
        await ws.send(audio_frame(silence(0.6), encode, key="realtime_input"))
        messages = await replies_until_turn_complete(ws)
    assert transcript(messages, "inputTranscription") == "[speech 0.50 s]"
    assert transcript(messages, "outputTranscription") == "I heard 0.5 seconds of speech."
    assert messages[-1]["usageMetadata"]["promptTokenCount"] > 0


async def test_snake_case_everywhere_and_media_chunks(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, output_audio_transcription={}, generation_config={
            "response_modalities": ["AUDIO"]}, realtime_input_config={
            "automatic_activity_detection": {"silence_duration_ms": 200}})
        await ws.send(json.dumps({"realtime_input": {"media_chunks": [
            {"data": base64.b64encode(speech(0.3) + silence(0.3)).decode(),
             "mime_type": "audio/pcm"}]}}))
        messages = await replies_until_turn_complete(ws)
    assert transcript(messages, "outputTranscription") == "I heard 0.3 seconds of speech."


async def test_audio_stream_end_ends_the_turn(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={})
        await ws.send(audio_frame(speech(0.6), base64.b64encode))
        await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        messages = await replies_until_turn_complete(ws)
    assert transcript(messages, "outputTranscription") == "I heard 0.6 seconds of speech."


async def test_key_in_query_and_token_header(emulator: EmulatorServer) -> None:
    async with raw(emulator, query="?key=k", headers={}) as ws:
        await setup(ws)
    async with raw(emulator, query="?access_token=auth_tokens/abc", headers={},
                   path="/ws/google.ai.generativelanguage.v1alpha.GenerativeService."
                        "BidiGenerateContentConstrained") as ws:
        await setup(ws)
    async with raw(emulator, headers={"Authorization": "Token auth_tokens/x"},
                   path="///ws/google.ai.generativelanguage.v1alpha.GenerativeService."
                        "BidiGenerateContentConstrained") as ws:
        await setup(ws)
    sessions = (await control(emulator, "GET", "/sessions"))["sessions"]
    assert [s["method"] for s in sessions] == [
        "BidiGenerateContent", "BidiGenerateContentConstrained",
        "BidiGenerateContentConstrained"]
    assert {s["api_version"] for s in sessions[1:]} == {"v1alpha"}


async def test_missing_key_closes_1007(emulator: EmulatorServer) -> None:
    async with raw(emulator, headers={}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL}}))
        assert await closed_with(ws) == (1007, "API key not valid. Please pass a valid API key.")


async def test_unknown_path_is_refused(emulator: EmulatorServer) -> None:
    with pytest.raises(InvalidStatus):
        async with raw(emulator, path="/ws/google.ai.generativelanguage.v9.Nope.Bidi"):
            pass


BAD_FRAMES = [
    ("not json", "{nope", "Invalid JSON payload received."),
    ("unknown top-level field", json.dumps({"foo": {}}),
     'Invalid JSON payload received. Unknown name "foo": Cannot find field.'),
    ("unknown nested field", json.dumps({"realtimeInput": {"bar": 1}}),
     'Invalid JSON payload received. Unknown name "bar" at \'realtime_input\': '
     "Cannot find field."),
    ("broken base64", json.dumps({"realtimeInput": {"audio": {
        "data": "@@@@", "mimeType": "audio/pcm;rate=16000"}}}),
     "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES), Base64 decoding failed"),
    ("wrong audio mime", json.dumps({"realtimeInput": {"audio": {
        "data": "AAAA", "mimeType": "audio/wav"}}}), 'Unsupported mime type "audio/wav"'),
    ("wrong video mime", json.dumps({"realtimeInput": {"video": {
        "data": "AAAA", "mimeType": "text/plain"}}}), 'Unsupported mime type "text/plain"'),
    ("activity signal with automatic detection", json.dumps({"realtimeInput": {
        "activityStart": {}}}), "Explicit activity control is not supported"),
    ("second setup", json.dumps({"setup": {"model": MODEL}}),
     "Invalid argument: setup must be sent only once"),
]


@pytest.mark.parametrize(("frame", "reason"), [(f, r) for _, f, r in BAD_FRAMES],
                         ids=[name for name, _, _ in BAD_FRAMES])
async def test_bad_input_closes_1007_with_a_reason(emulator: EmulatorServer, frame: str,
                                                   reason: str) -> None:
    async with raw(emulator) as ws:
        await setup(ws)
        await ws.send(frame)
        code, got = await closed_with(ws)
    assert code == 1007
    assert got.startswith(reason), got
    assert len(got.encode()) <= 123


async def test_first_message_must_be_setup(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps({"realtimeInput": {"text": "hi"}}))
        code, reason = await closed_with(ws)
    assert code == 1007 and "setup" in reason


async def test_control_api_errors_and_reset(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws)
        conn = await only_connection(emulator)
        with pytest.raises(Exception, match="400"):
            await control(emulator, "POST", f"/connections/{conn['id']}/drop", {"code": 1006})
        await control(emulator, "POST", f"/connections/{conn['id']}/drop",
                      {"code": 1008, "reason": "policy"})
        assert await closed_with(ws) == (1008, "policy")
    with pytest.raises(Exception, match="409"):
        await control(emulator, "POST", f"/connections/{conn['id']}/goaway")
    with pytest.raises(Exception, match="404"):
        await control(emulator, "GET", "/connections/nope")
    assert len((await control(emulator, "GET", "/sessions"))["sessions"]) == 1
    await control(emulator, "POST", "/reset")
    assert (await control(emulator, "GET", "/sessions"))["sessions"] == []


async def test_global_transcript_and_health(emulator: EmulatorServer) -> None:
    await control(emulator, "POST", "/transcript", {"text": "hello from a test"})
    async with raw(emulator) as ws:
        await setup(ws, inputAudioTranscription={}, outputAudioTranscription={})
        await ws.send(audio_frame(speech(0.3) + silence(0.6), base64.b64encode))
        messages = await replies_until_turn_complete(ws)
    assert transcript(messages, "inputTranscription") == "hello from a test"
    assert transcript(messages, "outputTranscription") == "You said: hello from a test"
    import httpx

    async with httpx.AsyncClient(base_url=emulator.base_url, verify=emulator.client_ssl()) as h:
        assert (await h.get("/livez")).status_code == 200
        assert (await h.get("/readyz")).json()["ready"] is True
        metrics = (await h.get("/metrics")).text
    assert "livebus_emulator_turns_total" in metrics


async def test_messages_stay_under_one_mebibyte(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(pace=0)
    long_text = "word " * 200_000  # 1 MB typed: the reply echoes only the start of it
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={})
        await ws.send(json.dumps({"realtimeInput": {"text": long_text}}))
        async with asyncio.timeout(10):
            while True:
                frame = await ws.recv()
                assert len(frame) < 1024 * 1024
                if json.loads(frame).get("serverContent", {}).get("turnComplete"):
                    break
