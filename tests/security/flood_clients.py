"""Flooding clients in a process of their own: `python flood_clients.py URL CA KEY MODEL`.

They stand for other people's clients, so they must not share an event loop (or a GIL) with
the client whose latency a test measures: a loop sending 3 MB messages back to back starves
every other task in it. Three sockets send HUGE and one MANY, each reconnecting when closed, up
to three rounds or until a line arrives on stdin; each ending is printed as a JSON line.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys

import websockets

from livebus import tls

CHUNK = {"mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(b"\0" * 4).decode()}
HUGE = json.dumps({"realtimeInput": {"mediaChunks": [CHUNK] * 60_000}})  # ~3 MB
PCM_20MS = {"mimeType": "audio/pcm;rate=16000", "data": base64.b64encode(b"\0" * 640).decode()}
MANY = json.dumps({"realtimeInput": {"mediaChunks": [PCM_20MS] * 32}})  # under the per-message cap


async def flood_once(url: str, ca: str, key: str, model: str, message: str) -> dict[str, object]:
    async with websockets.connect(url, ssl=tls.client_context(ca), max_size=None,
                                  additional_headers={"x-goog-api-key": key},
                                  open_timeout=20) as ws:
        await ws.send(json.dumps({"setup": {"model": model}}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if "setupComplete" not in first:
            return {"code": None, "reason": f"no setupComplete: {first}"}
        try:
            async with asyncio.timeout(20):
                while True:
                    await ws.send(message)
                    # A send into a closed transport returns at once without yielding: without
                    # this the loop never ran the close it was sent, and starved the other
                    # flooders in this process for the whole 20 s (seen on a loaded machine).
                    await asyncio.sleep(0)
        except websockets.ConnectionClosed:
            pass
        except TimeoutError:
            return {"code": None, "reason": "never closed"}
        try:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        except websockets.ConnectionClosed as e:
            if e.rcvd is not None:
                return {"code": e.rcvd.code, "reason": e.rcvd.reason}
        return {"code": None, "reason": ""}


async def flooder(args: list[str], message: str, stop: asyncio.Event) -> None:
    for _ in range(3):
        print(json.dumps(await flood_once(*args, message)), flush=True)
        if stop.is_set():
            return


async def main(args: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    await asyncio.gather(*(flooder(args, m, stop) for m in (HUGE, HUGE, HUGE, MANY)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:5]))
