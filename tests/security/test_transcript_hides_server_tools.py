"""The transcript endpoint shows a client credential no server tool traffic (issue 12, item 10).

A token session has the model call the server tool `inventory_lookup`. Its own resumption
handle reads the transcript without the call and result (ids, arguments, results stay
server-side); the server key reads all of it; another session's handle reads nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL, mint

from .gatewayclient import Live, next_handle, open_live


async def transcript(stack: Stack, sid: str, credential: str) -> httpx.Response:
    async with httpx.AsyncClient(verify=tls.client_context(stack.ca_file)) as c:
        return await c.get(f"{stack.gateway_https()}/livebus/v1/sessions/{sid}/transcript",
                           headers={"authorization": f"Token {credential}"}
                           if credential != stack.api_key
                           else {"x-goog-api-key": credential})


async def session_with_tool_call(stack: Stack, user: str) -> tuple[str, str]:
    token = await mint(stack, {"livebus": {"user": user}})
    ws, complete = await open_live(stack, token, {"model": MODEL, "sessionResumption": {},
                                                  "outputAudioTranscription": {}})
    async with ws:
        turn = await Live(ws).say('inventory_lookup {"query": "608ZZ"}')
        handle = await next_handle(ws)
    assert not any("toolCall" in m for m in turn), "the socket hides server tool calls"
    return str(complete["sessionId"]), handle


def tool_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in body["entries"] if e["role"] in ("tool_call", "tool_result")]


async def test_a_handle_reads_its_transcript_without_server_tools(stack: Stack) -> None:
    sid, handle = await session_with_tool_call(stack, "visitor-a")
    other_sid, other_handle = await session_with_tool_call(stack, "visitor-b")
    full: dict[str, Any] = {}
    for _ in range(30):  # the shadow log is written asynchronously
        full = (await transcript(stack, sid, stack.api_key)).json()
        if tool_entries(full):
            break
        await asyncio.sleep(0.2)
    assert tool_entries(full), "the server key sees the server tool's call and result"

    own = await transcript(stack, sid, handle)
    assert own.status_code == 200
    body = own.json()
    assert body["entries"], "the client still sees its conversation"
    assert not tool_entries(body)
    assert not any(e.get("server") for e in body["entries"])
    assert "BRG-608-ZZ" not in "".join(e["text"] for e in body["entries"]
                                       if e["role"] != "model"), "no tool result"

    assert (await transcript(stack, sid, other_handle)).status_code == 403
    assert (await transcript(stack, other_sid, handle)).status_code == 403
