"""A minimal WebSocket (RFC 6455) over asyncio protocols, for the capacity harness only.

The harness must cost a small fraction of what it measures, so it skips what a general library
does per message (locks, futures, queues, UTF-8 checks): frames are parsed in `data_received`
and handed to a callback; a send is one `transport.write` of a frame built by concatenation.
Client frames carry the all-zero masking key (valid per RFC 6455; the peer XORs with zeros), so
a client frame is header + payload, no per-byte work. No extensions, no fragmentation on send.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import Callable
from typing import cast

from websockets.speedups import apply_mask

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
ZERO_MASK = b"\x00\x00\x00\x00"

OnMessage = Callable[[bytes], None]


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key.strip() + GUID).digest())


def header(length: int, opcode: int = TEXT, masked: bool = False) -> bytes:
    """Frame header for one final frame of `length` payload bytes (zero mask if masked)."""
    bit = 0x80 if masked else 0
    if length < 126:
        h = struct.pack("!BB", 0x80 | opcode, bit | length)
    elif length < 65536:
        h = struct.pack("!BBH", 0x80 | opcode, bit | 126, length)
    else:
        h = struct.pack("!BBQ", 0x80 | opcode, bit | 127, length)
    return h + ZERO_MASK if masked else h


class Conn(asyncio.Protocol):
    """One WebSocket connection, either end. `on_message(payload)` gets each data message;
    `on_open()` runs once the handshake is done; `on_close()` once the transport is gone."""

    def __init__(self, client: bool, request: bytes = b"") -> None:
        self.client = client
        self.request = request  # client: the upgrade request to send
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.closed = asyncio.get_running_loop().create_future()
        self.opened = asyncio.get_running_loop().create_future()
        self.path = b""
        self.headers: dict[bytes, bytes] = {}
        self._buf = bytearray()
        self._parts: list[bytes] = []
        self.on_message: OnMessage = lambda _m: None
        self.status = 0

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's do not subclass it
        if self.client:
            self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self.open:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buf[:end])
            del self._buf[:end + 4]
            self._handshake(head)
            if not self.open:
                return
        self._frames()

    # -- handshake ----------------------------------------------------------------------------
    def _handshake(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        first = lines[0].split(b" ")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower()] = value.strip()
        assert self.transport is not None
        if self.client:
            self.status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0
            if self.status != 101:
                self.opened.set_exception(ConnectionError(f"handshake status {self.status}"))
                self.transport.close()
                return
        else:
            self.path = first[1] if len(first) > 1 else b""
            key = self.headers.get(b"sec-websocket-key")
            if key is None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                self.transport.close()
                return
            self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                                 + accept_key(key) + b"\r\n\r\n")
        self.open = True
        self.opened.set_result(None)

    # -- frames -------------------------------------------------------------------------------
    def _frames(self) -> None:
        buf = self._buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length, at = b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, at = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, at = struct.unpack_from("!Q", buf, 2)[0], 10
            mask = b""
            if b1 & 0x80:
                mask, at = bytes(buf[at:at + 4]), at + 4
            if len(buf) < at + length:
                return
            payload = bytes(buf[at:at + length])
            del buf[:at + length]
            if mask and mask != ZERO_MASK:
                payload = apply_mask(payload, mask)
            self._frame(b0 & 0x80, b0 & 0x0F, payload)

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (TEXT, BINARY, CONT):
            if not fin:
                self._parts.append(payload)
                return
            if self._parts:
                payload = b"".join([*self._parts, payload])
                self._parts.clear()
            self.on_message(payload)
        elif opcode == PING:
            self.send(payload, PONG)
        elif opcode == CLOSE:
            if self.open:
                self.send(payload[:2], CLOSE)
            self.open = False
            assert self.transport is not None
            self.transport.close()

    # -- sending ------------------------------------------------------------------------------
    def send(self, payload: bytes, opcode: int = TEXT) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(header(len(payload), opcode, self.client) + payload)

    def send_parts(self, head: bytes, parts: list[bytes]) -> None:
        """A frame whose header `head` was built before (same length every time)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.writelines([head, *parts])

    def backlog(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0

    def close(self, code: int = 1000) -> None:
        if self.open:
            self.send(struct.pack("!H", code), CLOSE)
            self.open = False
        if self.transport is not None:
            self.transport.close()


def upgrade_request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
