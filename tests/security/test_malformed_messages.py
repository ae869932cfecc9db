"""Hostile client messages end with their documented close code and reason, never 1006/1011.

Issue 12 item 11: deeply nested JSON and enum fields given numbers or objects ended in 1006 or
1011 with a traceback instead of 1007.
"""

from __future__ import annotations

import base64
import json

import pytest

from livebus_dev.devstack import Stack

from .livews import ending, live_socket, typed_turn

NESTED = "[" * 100_000 + "]" * 100_000
CHUNK = {"mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(b"\0" * 4).decode()}


def tool_response(**fields: object) -> str:
    return json.dumps({"toolResponse": {"functionResponses": [
        {"id": "c1", "name": "f", "response": {}, **fields}]}})


HOSTILE: list[tuple[str, str, int, str]] = [
    ("nested arrays", NESTED, 1007, "Invalid JSON payload received"),
    ("nested in realtime text", '{"realtimeInput": {"text": ' + NESTED + "}}", 1007,
     "Invalid JSON payload received"),
    ("nested objects", '{"clientContent": ' + '{"a": ' * 5000 + "1" + "}" * 5001, 1007,
     "Invalid JSON payload received"),
    ("huge integer", '{"realtimeInput": {"text": ' + "9" * 5000 + "}}", 1007,
     "Invalid JSON payload received"),
    ("Infinity text", '{"realtimeInput": {"text": Infinity}}', 1007, "realtime_input.text"),
    ("scheduling number", tool_response(scheduling=5), 1007, "Invalid value"),
    ("scheduling object", tool_response(scheduling={"a": 1}), 1007, "Invalid value"),
    ("scheduling unknown", tool_response(scheduling="LATER"), 1007, "Invalid value"),
    ("role object", json.dumps({"clientContent": {"turns": [{"role": {"a": 1}, "parts": []}]}}),
     1007, "Invalid value at 'client_content.turns.0.role'"),
    ("turnComplete object", json.dumps({"clientContent": {"turnComplete": {"x": 1}}}), 1007,
     "Invalid value"),
    ("activityStart number", json.dumps({"realtimeInput": {"activityStart": 5}}), 1007,
     "realtime_input.activity_start"),
    ("audioStreamEnd object", json.dumps({"realtimeInput": {"audioStreamEnd": {}}}), 1007,
     "realtime_input.audio_stream_end"),
    ("mimeType number", json.dumps({"realtimeInput": {"audio": {"mimeType": 7, "data": ""}}}),
     1007, "realtime_input.audio"),
    ("unknown field", json.dumps({"toolResponse": {"functionResponses": [], "x": 1}}), 1007,
     'Invalid JSON payload received. Unknown name "tool_response.x"'),
    ("too many chunks", json.dumps({"realtimeInput": {"mediaChunks": [CHUNK] * 60_000}}), 1008,
     "rate limit exceeded: 60000 media chunks in one message"),
]


@pytest.mark.parametrize(("name", "frame", "code", "reason"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
async def test_hostile_message_gets_its_close_code(stack: Stack, name: str, frame: str,
                                                   code: int, reason: str) -> None:
    async with live_socket(stack) as ws:
        await ws.send(frame)
        end = await ending(ws, 15)
    assert end.code == code, (name, end)
    assert end.reason.startswith(reason), (name, end)


async def test_no_traceback_and_others_keep_talking(stack: Stack) -> None:
    async with live_socket(stack) as ws:
        reply = await typed_turn(ws, "still here")
    assert any("serverContent" in m for m in reply)
    log = (stack.cfg.dir / "logs" / "gateway-0.log").read_text()
    assert "Traceback" not in log and "session failed" not in log
