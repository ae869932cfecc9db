"""The Gemini 3 mode: models whose livebus.models entry drops legacy shapes close with 1007 on them;
`historyConfig.initialHistoryInClientContent` seeds history without a model call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_testkit import MODEL, control, only_connection
from test_emulator_newest import content, until
from test_emulator_wire import closed_with, raw, replies_until_turn_complete, setup, transcript

from livebus import models
from livebus_emulator import EmulatorServer
from livebus_emulator.wire import NO_CLIENT_CONTENT, NO_MEDIA_CHUNKS

G31 = "models/gemini-3.1-flash-live-preview"
G38 = "models/gemini-3.8-live"
CHUNK = {"data": "AAAAAA==", "mimeType": "audio/pcm;rate=16000"}
HISTORY = {"historyConfig": {"initialHistoryInClientContent": True}}


def client_content(text: str, turn_complete: bool = True, role: str = "user") -> str:
    return json.dumps({"clientContent": {"turns": [{"role": role, "parts": [{"text": text}]}],
                                         "turnComplete": turn_complete}})


def realtime_text(text: str) -> str:
    return json.dumps({"realtimeInput": {"text": text}})


@pytest.mark.parametrize("model", [G31, G38, "models/gemini-3.9-flash-live"])
async def test_media_chunks_close_1007(emulator: EmulatorServer, model: str) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=model)
        await ws.send(json.dumps({"realtimeInput": {"mediaChunks": [CHUNK]}}))
        code, reason = await closed_with(ws)
    assert (code, reason) == (1007, NO_MEDIA_CHUNKS)
    assert len(reason.encode()) <= 123


async def test_legacy_models_take_media_chunks(emulator: EmulatorServer) -> None:
    assert models.capabilities(MODEL).media_chunks
    async with raw(emulator) as ws:
        await setup(ws)
        await ws.send(json.dumps({"realtimeInput": {"mediaChunks": [CHUNK]}}))
        await ws.send(realtime_text("still open"))
        messages = await replies_until_turn_complete(ws)
    assert content(messages[-1])["turnComplete"] is True


async def test_initial_history_seeds_then_realtime_only(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=G31, outputAudioTranscription={}, sessionResumption={}, **HISTORY)
        await ws.send(client_content("my name is Ada", turn_complete=False))
        await ws.send(client_content("Hello Ada.", role="model"))
        seeded = await until(ws, lambda m: bool(m.get("sessionResumptionUpdate")))
        await ws.send(realtime_text("what is my name"))
        reply = await replies_until_turn_complete(ws)
        conn = await only_connection(emulator)
        detail = await control(emulator, "GET", f"/connections/{conn['id']}")
        await ws.send(client_content("too late"))
        code, reason = await closed_with(ws)
    assert not [m for m in seeded if "serverContent" in m]  # history is no model call
    assert transcript(reply, "outputTranscription") == "You wrote: what is my name"
    assert [(h["role"], h.get("text")) for h in detail["history"][:2]] == [
        ("user", "my name is Ada"), ("model", "Hello Ada.")]
    assert [c["before_first_turn"] for c in detail["client_contents"]] == [True, True]
    assert (code, reason) == (1007, NO_CLIENT_CONTENT)


async def test_strict_model_takes_client_content_only_before_realtime_input(
        emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=G31, outputAudioTranscription={})
        await ws.send(client_content("first"))
        first = await replies_until_turn_complete(ws)
        await ws.send(client_content("second"))
        code, reason = await closed_with(ws)
    assert transcript(first, "outputTranscription") == "You wrote: first"
    assert (code, reason) == (1007, NO_CLIENT_CONTENT)


@pytest.mark.parametrize("model", [G38, MODEL])
async def test_full_session_client_content_where_the_model_has_it(emulator: EmulatorServer,
                                                                  model: str) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=model, outputAudioTranscription={}, **HISTORY)
        await ws.send(client_content("seed"))
        await ws.send(realtime_text("hi"))
        first = await replies_until_turn_complete(ws)
        await ws.send(client_content("later"))
        later = await replies_until_turn_complete(ws)
    assert transcript(first, "outputTranscription") == "You wrote: hi"
    assert transcript(later, "outputTranscription") == "You wrote: later"
    status = content(later[-1]).get("interactionStatus")
    assert status == ("IDLE" if model == G38 else None)


async def test_resumed_strict_session_refuses_client_content(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=G31, sessionResumption={})
        await ws.send(realtime_text("hi"))
        messages = await until(ws, lambda m: bool(
            m.get("sessionResumptionUpdate", {}).get("newHandle")))
    handle = messages[-1]["sessionResumptionUpdate"]["newHandle"]
    async with raw(emulator) as ws:
        await setup(ws, model=G31, sessionResumption={"handle": handle})
        await ws.send(client_content("the history again"))
        assert await closed_with(ws) == (1007, NO_CLIENT_CONTENT)


def tool_response(call: dict[str, Any], response: dict[str, Any]) -> str:
    return json.dumps({"toolResponse": {"functionResponses": [
        {"id": call["id"], "name": call["name"], "response": response}]}})


@pytest.mark.parametrize("model", [G31, G38])
async def test_scheduling_inside_response_closes_1007(emulator: EmulatorServer,
                                                      model: str) -> None:
    async with raw(emulator) as ws:
        await setup(ws, model=model, tools=[{"functionDeclarations": [{"name": "get_time"}]}])
        await ws.send(realtime_text("get_time please"))
        call = (await until(ws, lambda m: "toolCall" in m))[-1]["toolCall"]["functionCalls"][0]
        await ws.send(tool_response(call, {"time": "noon", "scheduling": "WHEN_IDLE"}))
        code, reason = await closed_with(ws)
    assert code == 1007
    assert reason.startswith("Invalid value at 'tool_response.function_responses[0].response'")
    assert len(reason.encode()) <= 123


async def test_legacy_models_take_scheduling_inside_response_as_data(
        emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws, outputAudioTranscription={},
                    tools=[{"functionDeclarations": [{"name": "get_time"}]}])
        await ws.send(realtime_text("get_time please"))
        call = (await until(ws, lambda m: "toolCall" in m))[-1]["toolCall"]["functionCalls"][0]
        await ws.send(tool_response(call, {"time": "noon", "scheduling": "WHEN_IDLE"}))
        messages = await replies_until_turn_complete(ws)
    assert transcript(messages, "outputTranscription") == (
        'The tool get_time returned {"time": "noon", "scheduling": "WHEN_IDLE"}.')


async def test_text_output_on_a_model_without_it_closes_1011(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps({"setup": {"model": G31, "generationConfig": {
            "responseModalities": ["TEXT"]}}}))
        code, _ = await closed_with(ws)
    assert code == 1011


@pytest.mark.parametrize(("fields", "where"), [
    ({"realtimeInputConfig": {"turnCoverage": "TURN_INCLUDES_EVERYTHING"}}, "turn_coverage"),
])
async def test_bad_enum_values_in_setup_close_1007(emulator: EmulatorServer,
                                                   fields: dict[str, Any], where: str) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL, **fields}}))
        code, reason = await closed_with(ws)
    assert code == 1007 and where in reason


async def test_bad_scheduling_value_closes_1007(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await setup(ws)
        await ws.send(json.dumps({"toolResponse": {"functionResponses": [
            {"id": "x", "name": "f", "response": {}, "scheduling": "SOMETIME"}]}}))
        code, reason = await closed_with(ws)
    assert code == 1007 and "scheduling" in reason
