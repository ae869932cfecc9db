"""Raw clients of a running stack's gateway for the security tests: tokens, sockets, closes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import MODEL

PATH = "/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent"


def wss(stack: Stack, query: str = "", version: str = "v1beta") -> str:
    url = stack.gateway_https().replace("https://", "wss://") + PATH.format(v=version)
    return url + (f"?{query}" if query else "")


def proc(stack: Stack, name: str = "gateway-0") -> Any:
    (p,) = [p for p in stack.procs if p.name == name]
    return p


def rss_kib(stack: Stack, name: str = "gateway-0") -> int:
    status = Path(f"/proc/{proc(stack, name).pid}/status").read_text()
    (line,) = [ln for ln in status.splitlines() if ln.startswith("VmRSS:")]
    return int(line.split()[1])


@dataclass
class Outcome:
    """What a raw client saw: every message (parsed) and how the socket closed."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    code: int | None = None
    reason: str = ""

    @property
    def opened(self) -> bool:
        return any("setupComplete" in m for m in self.messages)


def auth_headers(credential: str) -> dict[str, str]:
    if credential.startswith("auth_tokens/"):
        return {"authorization": f"Token {credential}"}
    return {"x-goog-api-key": credential}


async def attempt(stack: Stack, setup: dict[str, Any] | str, credential: str | None = None,
                  query: str = "", timeout: float = 15.0) -> Outcome:
    """Connect, send `setup` (a dict, or a raw frame), read until closed (or timeout)."""
    out = Outcome()
    headers = auth_headers(credential) if credential else {}
    if credential is None and not query:
        headers = auth_headers(stack.api_key)
    frame = setup if isinstance(setup, str) else json.dumps({"setup": setup})
    async with websockets.connect(wss(stack, query), ssl=tls.client_context(stack.ca_file),
                                  additional_headers=headers, max_size=None) as ws:
        try:
            await ws.send(frame)  # the gateway may already have closed (a bad credential)
            async with asyncio.timeout(timeout):
                async for msg in ws:
                    out.messages.append(json.loads(msg))
        except TimeoutError:
            return out
        except websockets.ConnectionClosed:
            pass
    rcvd = ws.protocol.close_rcvd
    out.code, out.reason = (rcvd.code, rcvd.reason) if rcvd is not None else (1006, "")
    return out


class Live:
    """An open raw session: send text, read a whole turn."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    async def say(self, text: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        await self.ws.send(json.dumps({"clientContent": {
            "turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}}))
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                m = json.loads(await self.ws.recv())
                got.append(m)
                if m.get("serverContent", {}).get("turnComplete"):
                    return got


async def open_live(stack: Stack, credential: str | None = None,
                    setup: dict[str, Any] | None = None
                    ) -> tuple[websockets.ClientConnection, dict[str, Any]]:
    """An opened session (setupComplete received): the socket and the setupComplete."""
    ws = await websockets.connect(wss(stack), ssl=tls.client_context(stack.ca_file),
                                  additional_headers=auth_headers(credential or stack.api_key),
                                  max_size=None)
    await ws.send(json.dumps({"setup": setup or {"model": MODEL, "outputAudioTranscription": {}}}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert "setupComplete" in first, first
    return ws, first["setupComplete"]


def turn_text(messages: list[dict[str, Any]]) -> str:
    out = []
    for m in messages:
        sc = m.get("serverContent", {})
        out.append(sc.get("outputTranscription", {}).get("text", ""))
        for p in sc.get("modelTurn", {}).get("parts", []):
            out.append(p.get("text", ""))
    return "".join(out)


async def next_handle(ws: websockets.ClientConnection, timeout: float = 10.0) -> str:
    """The next livebus resumption handle the session hands out."""
    async with asyncio.timeout(timeout):
        while True:
            m = json.loads(await ws.recv())
            handle = m.get("sessionResumptionUpdate", {}).get("newHandle")
            if handle:
                return str(handle)
