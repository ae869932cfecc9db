"""A client written for 2024 talks to a Gemini 3 model through livebus unchanged: mediaChunks
audio, mid-session clientContent, `scheduling` inside a function response. The emulator's
Gemini 3 mode (models.STRICTEST) closes with 1007 on any of these shapes that reached it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from livebus import b64, models, tls
from livebus_dev.devstack import Stack
from livebus_dev.testing import audio
from livebus_dev.testing.emulator import sessions
from livebus_dev.testing.observe import merged, scrape

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
TOOLS = [{"functionDeclarations": [{"name": "open_door", "description": "Open the door"}]}]


@asynccontextmanager
async def legacy_socket(stack: Stack) -> AsyncIterator[ClientConnection]:
    url = stack.gateway_https().replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": stack.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": models.STRICTEST, "tools": TOOLS,
                                            "outputAudioTranscription": {}}}))
        assert "setupComplete" in json.loads(await asyncio.wait_for(ws.recv(), 30))
        yield ws


async def until_turn_complete(ws: ClientConnection) -> tuple[str, list[dict[str, Any]]]:
    said, got = "", []
    async with asyncio.timeout(30):
        while True:
            msg = json.loads(await ws.recv())
            got.append(msg)
            sc = msg.get("serverContent", {})
            said += sc.get("outputTranscription", {}).get("text", "")
            if sc.get("turnComplete") or "toolCall" in msg:
                return said, got


def text_turn(text: str) -> str:
    return json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}],
                                         "turnComplete": True}})


async def translations(stack: Stack) -> dict[str, float]:
    samples = merged(await scrape(stack, ["gemini-bridge"]))
    return {dict(labels)["kind"]: v for (name, labels), v in samples.items()
            if name == "livebus_bridge_translations_total"}


async def test_a_2024_client_holds_a_conversation_with_gemini_3(stack: Stack) -> None:
    before = await translations(stack)
    async with legacy_socket(stack) as ws:
        pcm = audio.speech_like(1.0) + audio.silence(1.2)
        for c in audio.chunks(pcm, 40):
            await ws.send(json.dumps({"realtimeInput": {"mediaChunks": [
                {"mimeType": "audio/pcm;rate=16000", "data": b64.encode(c)}]}}))
        said, _ = await until_turn_complete(ws)
        assert said, "the spoken turn was answered"

        await ws.send(text_turn("the word is pelican"))
        said, _ = await until_turn_complete(ws)
        assert "pelican" in said

        await ws.send(text_turn("open_door please"))
        _, got = await until_turn_complete(ws)
        (call,) = got[-1]["toolCall"]["functionCalls"]
        await ws.send(json.dumps({"toolResponse": {"functionResponses": [
            {"id": call["id"], "name": "open_door",
             "response": {"output": "door open", "scheduling": "WHEN_IDLE"}}]}}))
        said, _ = await until_turn_complete(ws)
        assert "door open" in said
    (emulated,) = [s for s in await sessions(stack) if s["model"] == models.STRICTEST]
    assert emulated["close_code"] in (None, 1000), emulated["close_reason"]
    after = await translations(stack)
    assert after["client_content_text"] - before.get("client_content_text", 0) >= 2
    assert after["scheduling_in_response"] - before.get("scheduling_in_response", 0) == 1


async def test_history_first_then_the_question(stack: Stack) -> None:
    """Content that opens the session is initial history; its last user turn is answered."""
    async with legacy_socket(stack) as ws:
        await ws.send(json.dumps({"clientContent": {"turns": [
            {"role": "user", "parts": [{"text": "my name is Ada"}]},
            {"role": "model", "parts": [{"text": "hello Ada"}]},
            {"role": "user", "parts": [{"text": "say lighthouse"}]}], "turnComplete": True}}))
        said, _ = await until_turn_complete(ws)
        assert "lighthouse" in said
        await ws.send(text_turn("and marmalade"))
        said, _ = await until_turn_complete(ws)
        assert "marmalade" in said
