"""The naive proxy the capacity bench compares livebus with, as the Live API tutorials write it.

    python bench/capacity_naive.py --port P --upstream wss://127.0.0.1:Q --ca CA --key K

One FastAPI process: each client WebSocket gets its own upstream socket, and every message is
relayed as it is, both ways. No bus, no sampling, no failover, no limits; TLS off at the edge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl

import uvicorn
import websockets
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection


def create_app(upstream: str, ca: str, key: str) -> FastAPI:
    app = FastAPI()
    ctx = ssl.create_default_context(cafile=ca)

    @app.websocket("/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}")
    async def relay(ws: WebSocket, version: str, method: str) -> None:
        await ws.accept()
        url = f"{upstream}/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
        async with websockets.connect(url, ssl=ctx, additional_headers={"x-goog-api-key": key},
                                      max_size=16 << 20) as up:
            down = asyncio.create_task(to_client(up, ws))
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        break
                    await up.send(msg.get("text") or msg.get("bytes") or b"")
            except WebSocketDisconnect:
                pass
            finally:
                down.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await down

    return app


async def to_client(up: ClientConnection, ws: WebSocket) -> None:
    async for msg in up:
        if isinstance(msg, str):
            await ws.send_text(msg)
        else:
            await ws.send_bytes(msg)
    await ws.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--key", default="bench")
    a = ap.parse_args()
    uvicorn.run(create_app(a.upstream, a.ca, a.key), host=a.host, port=a.port, loop="uvloop",
                log_level="warning", access_log=False)
