"""Downlink messages are parsed, never substring-matched; a bad client message is logged once.

Issue 12 item 12: any downlink message containing "newHandle" (model text, tool arguments) was
rewritten or dropped; each client toolResponse without an id wrote a traceback.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from livebus_dev.devstack import Stack

from .livews import live_socket, typed_turn

TOOLS = [{"functionDeclarations": [{
    "name": "stock_check", "description": "Check the stock of a part",
    "parameters": {"type": "OBJECT", "properties": {"newHandle": {"type": "STRING"}}}}]}]


async def test_new_handle_in_tool_args_and_text_reaches_the_client(stack: Stack) -> None:
    args = {"newHandle": "not-a-handle", "sessionResumptionUpdate": "x"}
    async with live_socket(stack, {"tools": TOOLS, "outputAudioTranscription": {}}) as ws:
        await ws.send(json.dumps({"realtimeInput": {
            "text": f"check stock_check {json.dumps(args)} now"}}))
        call: dict[str, Any] = {}
        async with asyncio.timeout(20):
            while not call:
                call = json.loads(await ws.recv()).get("toolCall") or {}
        [fc] = call["functionCalls"]
        assert fc["args"] == args
        await ws.send(json.dumps({"toolResponse": {"functionResponses": [
            {"id": fc["id"], "name": fc["name"], "response": {"newHandle": "h"}}]}}))
        async with asyncio.timeout(20):  # the reply to the tool's result
            while not (json.loads(await ws.recv()).get("serverContent") or {}).get("turnComplete"):
                pass
        reply = await typed_turn(ws, 'say "newHandle": "abc"')
    said = "".join(m["serverContent"]["outputTranscription"]["text"] for m in reply
                   if "outputTranscription" in m.get("serverContent", {}))
    assert '"newHandle": "abc"' in said, said


async def test_tool_response_without_id_is_logged_once_per_session(stack: Stack) -> None:
    note = "toolResponse without an id"
    log = stack.cfg.dir / "logs" / "gateway-0.log"
    before = log.read_text().count(note)
    async with live_socket(stack) as ws:
        for _ in range(50):
            await ws.send(json.dumps({"toolResponse": {"functionResponses": [
                {"name": "f", "response": {}}]}}))
        reply = await typed_turn(ws, "still fine")
    assert any("serverContent" in m for m in reply)
    text = log.read_text()
    assert text.count(note) - before == 1
    assert "Traceback" not in text
