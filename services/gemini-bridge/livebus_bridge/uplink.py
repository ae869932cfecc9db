"""The session's uplink, in client order, held while the upstream connection is being switched."""

from __future__ import annotations

import asyncio
from collections import deque

from livebus.v1 import bus_pb2

from . import metrics

Item = bytes | bus_pb2.ClientEvent  # bytes: a PCM16 16 kHz chunk


class UplinkBuffer:
    """Bounded FIFO. On overflow the oldest audio goes; control messages are never dropped."""

    def __init__(self, max_audio_bytes: int) -> None:
        self.items: deque[Item] = deque()
        self.max_audio_bytes = max_audio_bytes
        self.audio_bytes = 0
        self.ready = asyncio.Event()

    def put(self, item: Item) -> None:
        self.items.append(item)
        if isinstance(item, bytes):
            self.audio_bytes += len(item)
            while self.audio_bytes > self.max_audio_bytes and self._drop_oldest_audio():
                pass
        self.ready.set()

    def _drop_oldest_audio(self) -> bool:
        for i, it in enumerate(self.items):
            if isinstance(it, bytes):
                del self.items[i]
                self.audio_bytes -= len(it)
                metrics.UPLINK_DROPPED_BYTES.inc(len(it))
                return True
        return False

    def peek(self) -> Item | None:
        return self.items[0] if self.items else None

    def pop(self) -> None:
        it = self.items.popleft()
        if isinstance(it, bytes):
            self.audio_bytes -= len(it)
        if not self.items:
            self.ready.clear()
