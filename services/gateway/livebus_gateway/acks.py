"""Acknowledgements of what a client's connection delivered, for the clients that ask.

A page on a slow uplink cannot see its own queue: it builds in the kernel's socket buffers, not
in the WebSocket's `bufferedAmount`. A client that opens the socket with `?livebus_acks=1` gets
`{"livebusAck": {"received": N}}`, N the messages the gateway has read on this connection
(setup included), at once when N changes and then at most every ACK_EVERY_S; it compares N with
what it sent (the page: static/uplink.js). A livebus-only message, after setupComplete like
everything else: a client that does not ask gets a plain WebSocketTransport, which counts
nothing and never sends one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from starlette.websockets import WebSocket

from .wstransport import WebSocketTransport

QUERY = "livebus_acks"
ACK_EVERY_S = 0.02


def wanted(query: Mapping[str, str]) -> bool:
    """The client asked for acknowledgements on its WebSocket URL."""
    return query.get(QUERY) == "1"


def message(received: int) -> str:
    return f'{{"livebusAck":{{"received":{received}}}}}'


class AckingTransport(WebSocketTransport):
    """A WebSocketTransport that counts what it reads and, from its first message sent on (the
    session's setupComplete), acknowledges the count; its own sends and the session's never
    overlap."""

    __slots__ = ("_due", "_lock", "_task", "received")

    def __init__(self, ws: WebSocket) -> None:
        super().__init__(ws)
        self.received = 0
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def receive(self) -> str | bytes | None:
        data = await super().receive()
        if data is not None:
            self.received += 1
            self._due.set()
        return data

    async def send_text(self, text: str) -> None:
        async with self._lock:
            await super().send_text(text)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._acknowledge())

    async def send_audio(self, mime: str, pcm: bytes) -> None:
        async with self._lock:
            await super().send_audio(mime, pcm)

    async def close(self, code: int, reason: str) -> None:
        if self._task is not None:
            self._task.cancel()
        await super().close(code, reason)

    async def _acknowledge(self) -> None:
        sent = 0
        with contextlib.suppress(Exception):  # the client left: the session is ending it
            while True:
                if self.received == sent:
                    await self._due.wait()
                self._due.clear()
                sent = self.received
                async with self._lock:
                    await super().send_text(message(sent))
                await asyncio.sleep(ACK_EVERY_S)
