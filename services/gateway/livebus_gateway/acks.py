"""Acknowledgements of what a client's connection delivered, for the clients that ask.

A page on a slow uplink cannot see its own queue: it builds in the kernel's socket buffers, not
in the WebSocket's `bufferedAmount`. A client that opens the socket with `?livebus_acks=1` gets
`{"livebusAck": {"received": N}}`, N the messages the gateway has read on this connection
(setup included), within ACK_EVERY_S of the last one read and at most that often; it compares N
with what it sent (the page: static/uplink.js). A livebus-only message: a client that does not
ask never sees one and pays nothing for it (its uplink loop reads without counting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

QUERY = "livebus_acks"
ACK_EVERY_S = 0.02


def wanted(query: Mapping[str, str]) -> bool:
    """The client asked for acknowledgements on its WebSocket URL."""
    return query.get(QUERY) == "1"


def message(received: int) -> str:
    return f'{{"livebusAck":{{"received":{received}}}}}'


class Acks:
    """Counts what was read; one task sends the count when it changed (`run`)."""

    def __init__(self, send: Callable[[str], Awaitable[None]], received: int = 1) -> None:
        self.received = received  # the setup was read in the handshake
        self._send = send
        self._due = asyncio.Event()

    def count(self) -> None:
        self.received += 1
        self._due.set()

    async def run(self) -> None:
        """Until cancelled: each change acknowledged at once, then at most every ACK_EVERY_S."""
        sent = 0
        while True:
            if self.received == sent:
                await self._due.wait()
            self._due.clear()
            sent = self.received
            await self._send(message(sent))
            await asyncio.sleep(ACK_EVERY_S)
