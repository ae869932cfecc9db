"""The 2026 protocol on the raw wire: what the emulator emits (voiceActivity, interim transcripts,
waitingForInput, interactionStatus) and honours (NO_INTERRUPTION, turnCoverage, NON_BLOCKING
functions with scheduling)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from emulator_testkit import MODEL, control, only_connection, silence, speech
from test_emulator_wire import audio_frame, raw, replies_until_turn_complete, setup, transcript
from websockets.asyncio.client import ClientConnection

from livebus_emulator import EmulatorServer

Message = dict[str, Any]
GEMINI_38 = "models/gemini-3.8-live"
LONG = " ".join(["a long message to keep the model talking for a while"] * 4)


async def send_audio(ws: ClientConnection, pcm: bytes, chunk: int = 1280) -> None:
    for i in range(0, len(pcm), chunk):
        await ws.send(audio_frame(pcm[i:i + chunk], base64.b64encode))


async def until(ws: ClientConnection, done: Callable[[Message], bool],
                timeout: float = 8.0) -> list[Message]:
    out: list[Message] = []
    async with asyncio.timeout(timeout):
        while True:
            out.append(json.loads(await ws.recv()))
            if done(out[-1]):
                return out


def content(m: Message) -> Message:
    sc: Message = m.get("serverContent", {})
    return sc


def turn_complete(m: Message) -> bool:
    return bool(content(m).get("turnComplete"))


def text_of(messages: list[Message]) -> str:
    return "".join(p.get("text", "") for m in messages
                   for p in content(m).get("modelTurn", {}).get("parts", []))


async def test_voice_activity_from_the_vad_with_audio_offsets(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={})
        await send_audio(ws, silence(0.5) + speech(0.6) + silence(0.6))
        messages = await replies_until_turn_complete(ws)
    activity = [m["voiceActivity"] for m in messages if "voiceActivity" in m]
    assert activity == [{"type": "ACTIVITY_START", "audioOffset": "0.500s"},
                        {"type": "ACTIVITY_END", "audioOffset": "1.100s"}]
    first_end = next(i for i, m in enumerate(messages) if "voiceActivity" in m
                     and m["voiceActivity"]["type"] == "ACTIVITY_END")
    first_reply = next(i for i, m in enumerate(messages) if "modelTurn" in content(m))
    assert first_end < first_reply


async def test_no_voice_activity_when_the_client_signals_activity(
        emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await send_audio(ws, speech(0.5))
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        messages = await replies_until_turn_complete(ws)
    assert not [m for m in messages if "voiceActivity" in m]
    assert text_of(messages) == "" and any("modelTurn" in content(m) for m in messages)


async def test_an_activity_records_how_much_of_it_was_silence(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
        conn = await only_connection(emulator)
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await send_audio(ws, silence(0.2) + speech(0.5) + silence(0.1))
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        await replies_until_turn_complete(ws)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    [segment] = detail["speech_segments"]
    assert segment["duration_s"] == pytest.approx(0.8)
    assert segment["silent_s"] == pytest.approx(0.3)


async def test_interim_transcripts_grow_while_the_user_speaks(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, inputAudioTranscription={})
        conn = await only_connection(emulator)
        await control(emulator, "POST", f"/connections/{conn['id']}/transcript",
                      {"text": "one two three four five six"})
        await send_audio(ws, speech(1.6) + silence(0.6))
        messages = await replies_until_turn_complete(ws)
    interims = [content(m)["interimInputTranscription"]["text"] for m in messages
                if "interimInputTranscription" in content(m)]
    final = transcript(messages, "inputTranscription")
    assert final == "one two three four five six"
    assert len(interims) >= 3 and interims[0] == "one"
    assert all(final.startswith(t) for t in interims)
    assert [len(t) for t in interims] == sorted(len(t) for t in interims)
    last_interim = max(i for i, m in enumerate(messages)
                       if "interimInputTranscription" in content(m))
    first_final = next(i for i, m in enumerate(messages) if "inputTranscription" in content(m))
    assert last_interim < first_final


async def test_interim_transcripts_only_with_input_transcription(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws)
        await send_audio(ws, speech(1.2) + silence(0.6))
        messages = await replies_until_turn_complete(ws)
    assert not [m for m in messages if "interimInputTranscription" in content(m)]


async def test_empty_activity_waits_for_input(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        await ws.send(json.dumps({"realtimeInput": {"activityEnd": {}}}))
        messages = await replies_until_turn_complete(ws)
    assert not [m for m in messages if "modelTurn" in content(m)]
    assert content(messages[-1])["turnCompleteReason"] == "NEED_MORE_INPUT"
    assert content(messages[-1])["waitingForInput"] is True
    assert "interactionStatus" not in content(messages[-1])  # a 2.5 model does not send it


async def test_trailing_transcript_waits_for_input_then_answers(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=GEMINI_38, inputAudioTranscription={})
        conn = await only_connection(emulator)
        await control(emulator, "POST", f"/connections/{conn['id']}/transcript",
                      {"text": "so what I wanted to ask is..."})
        await send_audio(ws, speech(0.5) + silence(0.6))
        waiting = await replies_until_turn_complete(ws)
        await send_audio(ws, speech(0.5) + silence(0.6))
        answered = await replies_until_turn_complete(ws)
    assert content(waiting[-1])["waitingForInput"] is True
    assert content(waiting[-1])["interactionStatus"] == "IDLE"
    assert any("modelTurn" in content(m) for m in answered)
    assert "waitingForInput" not in content(answered[-1])
    assert content(answered[-1])["interactionStatus"] == "IDLE"


async def test_no_interruption_lets_the_reply_finish(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={},
                    realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"})
        await ws.send(json.dumps({"realtimeInput": {"text": LONG}}))
        first = await until(ws, lambda m: "modelTurn" in content(m))
        await send_audio(ws, speech(0.5) + silence(0.6))  # speech while the reply streams
        first += await replies_until_turn_complete(ws)
        second = await replies_until_turn_complete(ws)
    assert not [m for m in first + second if content(m).get("interrupted")]
    assert transcript(first, "outputTranscription") == "You wrote: " + LONG
    assert transcript(second, "outputTranscription") == "I heard 0.5 seconds of speech."
    assert any(m.get("voiceActivity", {}).get("type") == "ACTIVITY_START" for m in first)


def _prompt_audio(message: Message) -> int:
    details = message["usageMetadata"].get("promptTokensDetails", [])
    return sum(d["tokenCount"] for d in details if d["modality"] == "AUDIO")


def _png(width: int, height: int) -> str:
    from emulator_testkit import png

    return base64.b64encode(png(width, height)).decode()


async def _spoken_turn_with_frames(emulator: EmulatorServer,
                                   coverage: str | None) -> tuple[list[Message], int]:
    config: Message = {"turnCoverage": coverage} if coverage else {}
    frame = json.dumps({"realtimeInput": {"video": {"data": _png(32, 24),
                                                    "mimeType": "image/png"}}})
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={}, realtimeInputConfig=config)
        await ws.send(frame)  # before the speech
        await send_audio(ws, silence(0.5) + speech(0.3))
        await ws.send(frame)  # during it
        await send_audio(ws, speech(0.3) + silence(0.6))
        messages = await replies_until_turn_complete(ws)
    return messages, _prompt_audio(messages[-1])


async def test_turn_coverage_decides_what_a_turn_includes(emulator: EmulatorServer) -> None:
    only, only_audio = await _spoken_turn_with_frames(emulator, None)
    video, video_audio = await _spoken_turn_with_frames(
        emulator, "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO")
    everything, all_audio = await _spoken_turn_with_frames(emulator, "TURN_INCLUDES_ALL_INPUT")
    said = "I heard 0.6 seconds of speech and saw "
    assert transcript(only, "outputTranscription") == said + "1 frame, 32 by 24."
    assert transcript(video, "outputTranscription") == said + "2 frames, the last 32 by 24."
    assert transcript(everything, "outputTranscription") == said + "2 frames, the last 32 by 24."
    # 0.6 s of speech = 20 tokens; all input = 0.5 s silence + 0.6 s speech + 0.5 s to the end.
    assert only_audio == video_audio == 20
    assert all_audio == 52


NOTIFY = {"functionDeclarations": [
    {"name": "check_weather", "behavior": "NON_BLOCKING"}, {"name": "get_time"}]}


def _call(messages: list[Message]) -> Message:
    calls: list[Message] = next(m["toolCall"]["functionCalls"] for m in messages
                                if "toolCall" in m)
    return calls[0]


async def _start_non_blocking(ws: ClientConnection, model: str = GEMINI_38,
                              blocks: bool = False) -> tuple[Message, list[Message]]:
    await setup(ws, model=model, outputAudioTranscription={}, tools=[NOTIFY])
    await ws.send(json.dumps({"realtimeInput": {"text": 'check_weather {"city": "Oslo"}'}}))
    messages = await (until(ws, lambda m: "toolCall" in m) if blocks
                      else replies_until_turn_complete(ws))
    return _call(messages), messages


def _answer(call: Message, scheduling: str | None, will_continue: bool = False,
            **response: Any) -> str:
    item: Message = {"id": call["id"], "name": call["name"], "response": response}
    if scheduling is not None:
        item["scheduling"] = scheduling
    if will_continue:
        item["willContinue"] = True
    return json.dumps({"toolResponse": {"functionResponses": [item]}})


async def test_non_blocking_call_does_not_hold_the_turn(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, first = await _start_non_blocking(ws)
        await ws.send(_answer(call, None, temp=3))  # WHEN_IDLE by default
        result = await replies_until_turn_complete(ws)
    assert call["name"] == "check_weather" and call["args"] == {"city": "Oslo"}
    assert transcript(first, "outputTranscription") == "I started check_weather."
    assert content(first[-1])["interactionStatus"] == "IN_PROGRESS"
    assert transcript(result, "outputTranscription") == (
        'The tool check_weather returned {"temp": 3}.')
    assert content(result[-1])["interactionStatus"] == "IDLE"


async def test_silent_result_only_joins_the_context(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, _ = await _start_non_blocking(ws)
        await ws.send(_answer(call, "SILENT", temp=3))
        await ws.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        after = await replies_until_turn_complete(ws)
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
    assert transcript(after, "outputTranscription") == "You wrote: hello"
    assert [h["kind"] for h in detail["history"]][-3:] == ["tool_response", "text", "reply"]


async def test_when_idle_waits_and_interrupt_cuts_the_reply(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, _ = await _start_non_blocking(ws)
        await ws.send(_answer(call, "WHEN_IDLE", will_continue=True, temp=1))
        await replies_until_turn_complete(ws)  # the first partial result, spoken
        await ws.send(json.dumps({"realtimeInput": {"text": LONG}}))
        streaming = await until(ws, lambda m: "outputTranscription" in content(m))
        await ws.send(_answer(call, "WHEN_IDLE", temp=2))
        idle = await replies_until_turn_complete(ws)
        idle += await replies_until_turn_complete(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": LONG}}))
        await until(ws, lambda m: "outputTranscription" in content(m))
        await ws.send(_answer(call, "INTERRUPT", temp=3))  # the call ended: ignored
        cut = await replies_until_turn_complete(ws)
    assert transcript(streaming + idle, "outputTranscription") == (
        "You wrote: " + LONG + 'The tool check_weather returned {"temp": 2}.')
    assert not [m for m in idle if content(m).get("interrupted")]
    assert not [m for m in cut if content(m).get("interrupted")]


async def test_interrupt_result_cuts_the_reply(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, _ = await _start_non_blocking(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": LONG}}))
        await until(ws, lambda m: "outputTranscription" in content(m))
        await ws.send(_answer(call, "INTERRUPT", temp=3))
        cut = await replies_until_turn_complete(ws)
        result = await replies_until_turn_complete(ws)
    assert any(content(m).get("interrupted") for m in cut)
    assert len(transcript(cut, "outputTranscription")) < len("You wrote: " + LONG)
    assert transcript(result, "outputTranscription") == (
        'The tool check_weather returned {"temp": 3}.')


async def test_blocking_call_on_a_model_without_non_blocking(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, first = await _start_non_blocking(ws, model="models/gemini-3.1-flash-live-preview",
                                              blocks=True)
        assert not [m for m in first if "modelTurn" in content(m)]  # the turn waits
        await ws.send(_answer(call, "INTERRUPT", temp=4))  # ignored for a blocking call
        first += await replies_until_turn_complete(ws)
    assert transcript(first, "outputTranscription") == (
        'The tool check_weather returned {"temp": 4}.')
    assert "interactionStatus" not in content(first[-1])


async def test_voice_activity_reaches_the_sdk(emulator: EmulatorServer) -> None:
    from emulator_testkit import PCM_MIME, sdk_client
    from google.genai import types

    client = sdk_client(emulator)
    async with client.aio.live.connect(model=MODEL, config=types.LiveConnectConfig(
            response_modalities=["AUDIO"])) as session:
        pcm = silence(0.2) + speech(0.5) + silence(0.6)
        for i in range(0, len(pcm), 1280):
            await session.send_realtime_input(audio=types.Blob(data=pcm[i:i + 1280],
                                                               mime_type=PCM_MIME))
        seen: list[types.VoiceActivity] = []
        async with asyncio.timeout(8):
            async for message in session.receive():
                if message.voice_activity:
                    seen.append(message.voice_activity)
    assert [(v.voice_activity_type, v.audio_offset) for v in seen] == [
        (types.VoiceActivityType.ACTIVITY_START, "0.200s"),
        (types.VoiceActivityType.ACTIVITY_END, "0.700s")]


async def test_cancelled_call_answered_late_is_ignored(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={}, tools=[NOTIFY])
        await ws.send(json.dumps({"realtimeInput": {"text": "get_time now"}}))
        call = _call(await until(ws, lambda m: "toolCall" in m))
        await ws.send(json.dumps({"realtimeInput": {"text": "never mind"}}))  # barge-in
        cut = await replies_until_turn_complete(ws)
        await ws.send(_answer(call, None, time="noon"))  # too late: the call was cancelled
        after = await replies_until_turn_complete(ws)
    assert [m["toolCallCancellation"]["ids"] for m in cut if "toolCallCancellation" in m] == [
        [call["id"]]]
    assert any(content(m).get("interrupted") for m in cut)
    assert transcript(after, "outputTranscription") == "You wrote: never mind"
    usage = after[-1]["usageMetadata"]
    assert {d["modality"] for d in usage["responseTokensDetails"]} == {"AUDIO"}
    assert {d["modality"] for d in usage["promptTokensDetails"]} == {"TEXT"}
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["responseTokenCount"]


async def test_a_queued_result_reply_reports_progress_and_can_be_cut(
        emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        call, _ = await _start_non_blocking(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": LONG}}))
        await until(ws, lambda m: "outputTranscription" in content(m))
        await ws.send(_answer(call, "WHEN_IDLE", story=LONG))  # queued behind the reply
        first = await replies_until_turn_complete(ws)
        await until(ws, lambda m: "outputTranscription" in content(m))  # the result, spoken
        await ws.send(json.dumps({"realtimeInput": {"text": "stop"}}))
        cut = await replies_until_turn_complete(ws)
        after = await replies_until_turn_complete(ws)
    assert content(first[-1])["interactionStatus"] == "IN_PROGRESS"  # the result comes next
    assert any(content(m).get("interrupted") for m in cut)
    assert content(cut[-1])["interactionStatus"] == "IDLE"
    assert transcript(after, "outputTranscription") == "You wrote: stop"


async def test_final_transcription_carries_language_words_and_speaker(
        emulator: EmulatorServer) -> None:
    from emulator_testkit import PCM_MIME, sdk_client
    from google.genai import types

    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"], input_audio_transcription=types.AudioTranscriptionConfig(
            language_codes=["de-DE"], word_timestamp=True, diarization=True))
    async with sdk_client(emulator).aio.live.connect(model=MODEL, config=config) as session:
        conn = await only_connection(emulator)
        await control(emulator, "POST", f"/connections/{conn['id']}/transcript",
                      {"text": "guten morgen"})
        pcm = silence(0.5) + speech(1.0) + silence(0.6)
        for i in range(0, len(pcm), 1280):
            await session.send_realtime_input(audio=types.Blob(data=pcm[i:i + 1280],
                                                               mime_type=PCM_MIME))
        final: list[types.Transcription] = []
        async with asyncio.timeout(8):
            async for message in session.receive():
                sc = message.server_content
                if sc and sc.input_transcription:
                    final.append(sc.input_transcription)
    assert len(final) == 1
    got = final[0]
    assert (got.text, got.finished, got.language_code, got.speaker_label) == (
        "guten morgen", True, "de-DE", "spk_1")
    assert (got.start_offset, got.end_offset) == ("0.500s", "1.500s")
    assert [(w.word, w.start_offset, w.end_offset) for w in got.words or []] == [
        ("guten", "0.500s", "1s"), ("morgen", "1s", "1.500s")]
