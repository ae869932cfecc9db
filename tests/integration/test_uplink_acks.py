"""Acknowledgements for the clients that ask (`?livebus_acks=1`): they count what the gateway
read, setup included; a client that does not ask (any SDK) never gets one."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import websockets

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
AUDIO = json.dumps({"realtime_input": {"audio": {
    "data": base64.b64encode(b"\0\0" * 640).decode(), "mime_type": "audio/pcm;rate=16000"}}})


async def _stream(stack: Stack, query: str, chunks: int) -> list[dict[str, Any]]:
    """Setup, `chunks` audio messages; every message the gateway sent for 0.5 s after."""
    url = stack.gateway_https().replace("https://", "wss://") + PATH + query
    got: list[dict[str, Any]] = []
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file),
                                  additional_headers={"x-goog-api-key": stack.api_key}) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL}}))
        got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        for _ in range(chunks):
            await ws.send(AUDIO)
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        end = loop.time() + 0.5
        while (left := end - loop.time()) > 0:
            try:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
            except TimeoutError:
                break
    return got


async def test_a_client_that_asks_gets_counts_of_what_arrived(stack: Stack) -> None:
    got = await _stream(stack, "?livebus_acks=1", 30)
    assert "setupComplete" in got[0], "nothing before setupComplete, acknowledgements neither"
    counts = [m["livebusAck"]["received"] for m in got if "livebusAck" in m]
    assert all(set(m) == {"livebusAck"} for m in got if "livebusAck" in m)
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts
    assert counts[-1] == 31, "setup + 30 audio messages, all read"
    assert len(counts) >= 5, "prompt: not one at the end"


async def test_a_client_that_does_not_ask_never_sees_one(stack: Stack) -> None:
    got = await _stream(stack, "", 30)
    assert not [m for m in got if "livebusAck" in m]
    for query in ("?livebus_acks=0", "?livebus_acks=true"):
        assert not [m for m in await _stream(stack, query, 5) if "livebusAck" in m]

