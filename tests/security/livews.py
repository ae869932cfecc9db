"""Raw Gemini Live sockets to a test stack's gateway, for tests that need close codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@asynccontextmanager
async def live_socket(stack: Stack, setup: dict[str, Any] | None = None,
                      key: str | None = None, gateway: int = 0
                      ) -> AsyncIterator[ClientConnection]:
    """A socket whose session is open (setupComplete received)."""
    url = stack.gateway_https(gateway).replace("https://", "wss://") + PATH
    async with websockets.connect(url, ssl=tls.client_context(stack.ca_file), max_size=None,
                                  additional_headers={"x-goog-api-key": key or stack.api_key},
                                  open_timeout=20) as ws:
        await ws.send(json.dumps({"setup": {"model": MODEL, **(setup or {})}}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert "setupComplete" in first, first
        yield ws


@dataclass
class Ending:
    code: int | None = None
    reason: str = ""
    received: list[str] = field(default_factory=list)


async def ending(ws: ClientConnection, timeout: float) -> Ending:
    """Read until the gateway closes the socket: its close code, reason and what came before."""
    out = Ending()
    try:
        async with asyncio.timeout(timeout):
            while True:
                msg = await ws.recv()
                out.received.append(msg if isinstance(msg, str) else msg.decode())
    except websockets.ConnectionClosed as e:
        if e.rcvd is not None:
            out.code, out.reason = e.rcvd.code, e.rcvd.reason
    return out


async def typed_turn(ws: ClientConnection, text: str, timeout: float = 20) -> list[dict[str, Any]]:
    """Send a typed turn and collect the reply up to turnComplete."""
    await ws.send(json.dumps({"clientContent": {
        "turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}}))
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = json.loads(await ws.recv())
            got.append(msg)
            if (msg.get("serverContent") or {}).get("turnComplete"):
                return got
