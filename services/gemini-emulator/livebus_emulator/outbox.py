"""The one way messages leave a connection: serialized sends and a single close."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from livebus_emulator.events import JsonObject
from livebus_emulator.messages import encode

_log = logging.getLogger(__name__)
_MAX_REASON_BYTES = 123  # RFC 6455: the close reason fits in a 125-byte control frame


def close_reason(reason: str) -> str:
    data = reason.encode()
    if len(data) <= _MAX_REASON_BYTES:
        return reason
    return data[: _MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


class Outbox:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed_by_server = False
        self.sent = 0
        self._lock = asyncio.Lock()

    async def send(self, message: JsonObject) -> bool:
        """Send one message; False once the connection is closed."""
        if self.closed.is_set():
            return False
        text = encode(message)
        async with self._lock:
            if self.closed.is_set():
                return False
            try:
                await self.ws.send_text(text)
            except Exception as e:  # the peer went away mid-send
                _log.debug("send failed: %s", e)
                self.peer_closed(None, "")
                return False
            self.sent += 1
        return True

    async def close(self, code: int, reason: str) -> bool:
        """Close with `code`/`reason` unless already closed; True if this call closed it."""
        async with self._lock:
            if self.closed.is_set():
                return False
            self.close_code = code
            self.close_reason = close_reason(reason)
            self.closed_by_server = True
            self.closed.set()
            try:
                await self.ws.close(code, self.close_reason)
            except Exception as e:
                _log.debug("close failed: %s", e)
        return True

    def peer_closed(self, code: int | None, reason: str) -> None:
        if not self.closed.is_set():
            self.close_code = code
            self.close_reason = reason
            self.closed.set()
