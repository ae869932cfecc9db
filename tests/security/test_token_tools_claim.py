"""`livebus.tools: []` grants no server tool; no claim means the server's default (item 2).

The emulator calls a function only when it was declared upstream: with an empty grant the model
never sees `inventory_lookup`, so it cannot call it and the tools service never runs it.
"""

from __future__ import annotations

from typing import Any

from livebus_dev.devstack import Stack
from livebus_dev.testing.emulator import control
from livebus_dev.testing.stack import mint

from .gatewayclient import Live, open_live, turn_text

ASK = 'inventory_lookup {"query": "608ZZ"}'


async def converse(stack: Stack, body: dict[str, Any]) -> tuple[str, list[str], bool]:
    token = await mint(stack, {"uses": 1, **body})
    ws, _ = await open_live(stack, token)
    async with ws:
        turn = await Live(ws).say(ASK)
    async with control(stack) as c:
        sessions = (await c.get("/control/sessions")).json()["sessions"]
    setup: dict[str, Any] = sessions[-1].get("setup") or {}
    names = [d["name"] for t in setup.get("tools") or []
             for d in (t.get("functionDeclarations") or t.get("function_declarations") or [])]
    called = any(c.get("name") == "inventory_lookup" for c in sessions[-1].get("tool_calls", []))
    return turn_text(turn), names, called


async def test_an_empty_tools_claim_grants_none(stack: Stack) -> None:
    text, declared, called = await converse(stack, {"livebus": {"user": "t1", "tools": []}})
    assert "inventory_lookup" not in declared and not called
    assert "BRG-608-ZZ" not in text


async def test_no_claim_is_the_servers_default(stack: Stack) -> None:
    text, declared, called = await converse(stack, {"livebus": {"user": "t2"}})
    assert "inventory_lookup" in declared and called and "BRG-608-ZZ" in text


async def test_a_listed_tool_is_the_only_one(stack: Stack) -> None:
    _, declared, _ = await converse(stack, {"livebus": {"user": "t3",
                                                        "tools": ["get_current_time"]}})
    assert declared == ["get_current_time"]
